//! `GET /dc-api/feeds/{feed_id}-{token}/`: both feeds. `HEAD` goes through the same checks
//! and answers with the same status and headers, without building the feed: no snapshot, no
//! build slot, no query.

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::{ConnectInfo, Path, RawQuery, State},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use super::{client::client_addr, AppState};
use crate::{
    feeds::{filter, stream},
    links::{self, AccessLog, Feed, FeedKind},
    Error, Result,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dc-api/feeds/{feed}", get(feed))
        .route("/dc-api/feeds/{feed}/", get(feed))
}

async fn feed(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    segment: Result<Path<String>, axum::extract::rejection::PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let Ok(Path(segment)) = segment else {
        return Err(Error::not_found("feed"));
    };
    if let Some(id) = links::feed_id_of(&segment) {
        tracing::Span::current().record("feed_id", id);
    }
    // Requests that do not prove access are not the feed's business: they are not logged per feed.
    let feed = state
        .reads
        .read(|db| {
            let segment = &segment;
            async move { links::authenticate(&db, segment).await }
        })
        .await?;
    let client = client_addr(peer, &headers, &state.settings.trusted_proxies);
    let log = AccessLog::start(&state.recorder, &feed, client);
    let head = method == Method::HEAD;
    let url = links::feed_url_of_segment(&state.settings.public_url, &segment);
    match deliver(
        &state,
        feed,
        client,
        query.as_deref().unwrap_or(""),
        url,
        head,
        log,
    )
    .await
    {
        Ok(response) => Ok(response),
        Err((e, log)) => {
            let response = e.into_response();
            log.finish(response.status().as_u16(), true, 0, 0);
            Ok(response)
        }
    }
}

/// Everything after authentication; an error comes back with the access record to finish.
async fn deliver(
    state: &AppState,
    feed: Feed,
    client: std::net::IpAddr,
    query: &str,
    url: String,
    head: bool,
    log: AccessLog,
) -> std::result::Result<Response, (Error, AccessLog)> {
    let started = std::time::Instant::now();
    let query_text = query;
    let checked = (|| {
        if !feed.allows(client) {
            return Err(Error::Forbidden(format!(
                "this feed may not be read from {client}"
            )));
        }
        state.limits.admit(feed.id)?;
        let query = match feed.kind {
            FeedKind::Deals => stream::Query::Deals(filter::parse_deals(query)?),
            FeedKind::Units => stream::Query::Units(filter::parse_units(query)?),
        };
        let request = stream::Request {
            query,
            url,
            raw_query: query_text.to_owned(),
        };
        Ok(request)
    })();
    let request = match checked {
        Ok(request) => request,
        Err(e) => return Err((e, log)),
    };
    if head {
        links::touch_last_used(&state.recorder, feed.id);
        log.finish(StatusCode::OK.as_u16(), true, 0, 0);
        return Ok(head_answer());
    }
    let slot = match state.limits.build_slot() {
        Ok(slot) => slot,
        Err(e) => return Err((e, log)),
    };
    let tx = match state
        .reads
        .read(|db| async move { stream::begin(&db).await })
        .await
    {
        Ok(tx) => tx,
        Err(e) => return Err((e, log)),
    };
    links::touch_last_used(&state.recorder, feed.id);
    let delivery = stream::Delivery {
        started,
        slot,
        send_timeout: state.settings.send_timeout,
        log,
    };
    match stream::respond(tx, feed, request, delivery).await {
        Ok(body) => Ok(body.into_response()),
        Err((e, delivery)) => Err((e, delivery.log)),
    }
}

/// The answer to a `HEAD` that passed the checks: 200 with a body of unknown length that ends at
/// once, so that hyper sends the head a `GET` would get (chunked, no Content-Length) and no body.
fn head_answer() -> Response {
    let nothing = futures::stream::empty::<std::io::Result<bytes::Bytes>>();
    (StatusCode::OK, Body::from_stream(nothing)).into_response()
}
