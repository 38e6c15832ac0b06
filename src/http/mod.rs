//! The HTTP server: one router, one state, the contract's headers on every answer.
//!
//! - `feed`: the feed URL (`links` authenticates it, `feeds` builds the body);
//! - `api`: the CRM write API (`apikeys` authenticates it, `ingest` writes the items);
//! - `settings/`: the settings page, its login and its JSON API;
//! - `ops`: `/docs`, `/openapi.json`, `/metrics`, request ids, spans, compression;
//! - `server`: the one way to serve (production and tests): the accept loop, the connection cap,
//!   draining; `connection`: one connection, its timeouts, Title-Case header names;
//! - `state`: what handlers reach; `limits`: overload protection; `error`: the error body.

mod api;
mod client;
mod connection;
mod error;
mod feed;
mod limits;
mod ops;
mod server;
mod settings;
mod state;

use std::{sync::atomic::Ordering, time::Duration};

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

pub use error::error_response;
pub use limits::Limits;
pub use server::{serve, serve_on, shutdown_signal, Listeners};
pub use state::{App, AppState};

/// All routes, with the contract's headers and a trace span per request that names the route
/// template (never the URI: it holds the feed's token). `/metrics` is among them when
/// `with_metrics` (it is not when it has a listener of its own). Behind an https public URL
/// every answer carries `Strict-Transport-Security`.
pub fn router(state: AppState, with_metrics: bool) -> Router {
    let state_is_https = state.settings.public_url.scheme() == "https";
    let router = Router::new()
        .merge(feed::router())
        .merge(api::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Feed and API answers are JSON; the operations routes merged below set their own type.
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        ))
        // --- operations (ops.rs): /docs, /openapi.json, /metrics; metering of every answer ---
        .merge(ops::routes(with_metrics))
        // --- the settings page and its API (settings/): HTML and JSON of their own ---
        .merge(settings::router())
        .layer(axum::middleware::from_fn(ops::count_answer))
        // ---
        .with_state(state)
        .layer(ops::compression())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(ops::span)
                .on_response(ops::on_response),
        )
        // --- operations: a request id for the span (outermost) and the response header ---
        .layer(ops::propagate_request_id())
        .layer(ops::set_request_id());
    if state_is_https {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ))
    } else {
        router
    }
}

/// Behind an https public URL, browsers are told to use nothing else for a year. Without
/// `includeSubDomains`: the feeds' host says nothing of its sibling hosts, which may serve plain
/// http for good reasons; without `preload`, which is a commitment for the whole domain.
const HSTS: &str = "max-age=31536000";

/// What the `/metrics` listener (`DOMOFEED_METRICS_BIND`) serves: `/metrics`, and 404 for the
/// rest.
pub fn metrics_router(state: AppState) -> Router {
    ops::metrics_route()
        .fallback(not_found)
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// The process is up.
async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// The database that feeds read from answers and the migrations have run (and we are not
/// shutting down); `feeds_from` says which database that is.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::SeqCst) {
        return error_response(StatusCode::SERVICE_UNAVAILABLE, None, "shutting down");
    }
    let check = tokio::time::timeout(
        Duration::from_secs(2),
        state
            .reads
            .read(|db| async move { crate::db::is_migrated(&db).await }),
    )
    .await;
    match check {
        Ok(Ok(true)) => axum::Json(serde_json::json!({
            "status": "ready",
            "feeds_from": state.reads.in_use(),
        }))
        .into_response(),
        Ok(Ok(false)) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "migrations are not applied",
        ),
        _ => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "the database is unavailable",
        ),
    }
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, None, "not found")
}

async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "method not allowed: feeds and pages answer GET; only the settings forms and API take POST",
    )
}
