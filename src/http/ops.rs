//! What operators and integrators get around the feeds: `/docs`, `/openapi.json`, `/metrics`,
//! request ids, the request span and the access log line, compression.

use std::time::Duration;

use axum::http;
use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, HeaderName, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tower_http::{
    compression::{
        predicate::{And, DefaultPredicate, Predicate},
        CompressionLayer, CompressionLevel,
    },
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
};
use tracing::Span;

use super::{error_response, AppState};
use crate::metrics;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes for people and machines that look after the feeds; each sets its content type.
/// `/metrics` is among them unless it has a listener of its own (`DOMOFEED_METRICS_BIND`).
pub fn routes(with_metrics: bool) -> Router<AppState> {
    let routes = Router::new().merge(crate::docs::router());
    let routes = if with_metrics {
        routes.merge(metrics_route())
    } else {
        routes
    };
    routes.method_not_allowed_fallback(super::method_not_allowed)
}

/// `/metrics` alone.
pub fn metrics_route() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics_text))
}

/// gzip, br and zstd, only when `Accept-Encoding` asks (1C does not, and gets plain JSON).
/// Level 1 of each: a feed is compressed while it streams, so the level is server CPU paid per
/// byte, on a machine whose cores already serve the feed and PostgreSQL. Issue 6 asks gzip to
/// cost at most 15% over the plain feed. Measured 2026-11-29 with the pipelined feed: level 2
/// took 1.33–1.38× the plain time for the 100,000-unit deals feed (5.1× smaller body); level 1
/// took 0.99–1.05× at 20,000 units (3.7× smaller). bench/run.sh keeps the ratio in view.
///
/// Only successful answers are compressed: an error body is small, and a client that reads it
/// as text (1C's loader logs it) must not get gzip it cannot read.
pub fn compression() -> CompressionLayer<And<DefaultPredicate, SuccessOnly>> {
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .zstd(true)
        .quality(CompressionLevel::Precise(1))
        .compress_when(DefaultPredicate::new().and(success_only as SuccessOnly))
}

/// The compression predicate that leaves every non-2xx answer as it is.
type SuccessOnly = fn(StatusCode, http::Version, &http::HeaderMap, &http::Extensions) -> bool;

fn success_only(
    status: StatusCode,
    _: http::Version,
    _: &http::HeaderMap,
    _: &http::Extensions,
) -> bool {
    status.is_success()
}

/// Gives each request an id (a UUID, or the caller's own `X-Request-Id`), before the span.
pub fn set_request_id() -> SetRequestIdLayer<MakeRequestUuid> {
    SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid)
}

/// Returns the id in the `X-Request-Id` response header.
pub fn propagate_request_id() -> PropagateRequestIdLayer {
    PropagateRequestIdLayer::new(REQUEST_ID)
}

/// The request span: every log line of the request carries its id, the route template and,
/// once known, the feed id. Never the URI: it holds the feed's token.
pub fn span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        route,
        feed_id = tracing::field::Empty
    )
}

/// One access-log line per request, when the answer's head leaves (a feed body may stream on).
pub fn on_response(response: &Response, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_millis() as u64,
        "answered"
    );
}

/// `/metrics`: every counter, with the pool's gauges read now.
async fn metrics_text(State(state): State<AppState>) -> Response {
    metrics::set_pool(
        state.db.size(),
        state.db.num_idle(),
        state.settings.pool_size,
    );
    match metrics::encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode metrics");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
        }
    }
}

/// Counts every answer by route template and status. (Feed bodies are metered by their
/// producer, which knows how each one ended.)
pub async fn count_answer(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    metrics::count_request(&route, response.status().as_u16());
    response
}
