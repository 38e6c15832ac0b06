//! The middleware that counts every answer and meters feed bodies.

use std::time::Instant;

use axum::{
    body::Body,
    extract::{MatchedPath, Request},
    http::StatusCode,
    middleware::Next,
    response::Response,
};

use super::{feed_body::Metered, RequestLabels, METRICS};

/// Counts the answer by route template and status; a feed answer's body is metered to its end.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_feed = route.starts_with("/dc-api/feeds/");
    METRICS
        .requests
        .get_or_create(&RequestLabels {
            route,
            status: status.as_u16(),
        })
        .inc();
    if !(is_feed && status == StatusCode::OK) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let metered = Metered::new(body.into_data_stream(), started);
    Response::from_parts(parts, Body::from_stream(metered))
}
