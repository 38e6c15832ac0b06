//! `GET /dc-api/feeds/{feed_id}-{token}/`: both feeds.

use axum::{
    extract::{Path, RawQuery, State},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::AppState;
use crate::{
    feeds::{access, filter, stream, FeedKind},
    Error, Result,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dc-api/feeds/{feed}", get(feed))
        .route("/dc-api/feeds/{feed}/", get(feed))
}

async fn feed(
    State(state): State<AppState>,
    segment: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let Ok(Path(segment)) = segment else {
        return Err(Error::NotFound("feed not found".into()));
    };
    if let Some(id) = access::feed_id_of(&segment) {
        tracing::Span::current().record("feed_id", id);
    }
    let feed = access::authenticate(&state.db, &segment).await?;
    let query = query.unwrap_or_default();
    let request = match feed.kind {
        FeedKind::Deals => stream::Request::Deals(filter::parse_deals(&query)?),
        FeedKind::Units => stream::Request::Units(filter::parse_units(&query)?),
    };
    let feed_id = feed.id;
    let body = stream::open(&state.db, feed, request).await?;
    access::touch_last_used(state.db.clone(), feed_id);
    Ok(body.into_response())
}
