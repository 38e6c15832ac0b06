//! Builds a feed response from one consistent snapshot, batch by batch, in flat memory.
//!
//! The response starts only once the first batch is loaded: an error before the first item (the
//! database, a query that fails on the client's values) is a proper status and error body, and
//! "first byte" means a first item is on its way. Then a producer task writes the document into
//! chunks of about 64 KiB and sends them through a small bounded channel, so a slow reader slows
//! the producer instead of filling memory. Only a complete document ends with an explicit `End`;
//! if the producer stops for any other reason after the body has started (database error, a client
//! that stopped reading, a panic), the body stream ends in an error: hyper then cuts the
//! connection instead of ending the chunked body, and the client sees a broken transfer rather
//! than short JSON that looks complete.

use std::{
    io,
    task::{ready, Poll},
    time::{Duration, Instant},
};

use axum::body::Body;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tracing::Instrument;

use super::{
    batches::{DealPage, DealQuery, UnitPage, UnitQuery},
    document::{self, Document},
    filter::{DealFilter, FeedQuery, UnitFilter},
    load::Scope,
    pages::{Batch, Pages, Span},
    snapshot::Snapshot,
};
use crate::{
    links::{AccessLog, Feed},
    metrics::{self, FeedEnd},
    Error, Result,
};

/// Chunks in flight between the producer and the socket.
const IN_FLIGHT: usize = 4;

/// What one request asks of a feed.
pub struct Request {
    pub query: Query,
    /// The feed's own URL without its query string (`{public_url}/dc-api/feeds/{id}-{token}/`), for
    /// `meta.next`. It holds the token: it goes into the body for the client who sent it, never
    /// into a log.
    pub url: String,
    /// The query string as the client sent it, for `meta.next`.
    pub raw_query: String,
}

/// The parsed query, by the feed's kind.
pub enum Query {
    Deals(FeedQuery<DealFilter>),
    Units(FeedQuery<UnitFilter>),
}

/// What a response needs besides the feed: its build slot (held until the body ends), how long
/// the client may stall, and the access record to complete.
pub struct Delivery {
    /// When the request arrived: feed build times are measured from here.
    pub started: Instant,
    pub slot: OwnedSemaphorePermit,
    pub send_timeout: Duration,
    pub log: AccessLog,
}

/// Opens the snapshot a response is built from (see `Snapshot::begin`).
pub async fn begin(db: &PgPool) -> Result<Snapshot> {
    Snapshot::begin(db).await
}

/// The body of the feed from `snapshot`, once its first batch is loaded; or the error that came
/// before it, with the delivery to finish.
pub async fn respond(
    snapshot: Snapshot,
    feed: Feed,
    request: Request,
    delivery: Delivery,
) -> std::result::Result<Body, (Error, Delivery)> {
    let now = Utc::now();
    let scope = Scope {
        account_id: feed.account_id,
        house_ids: feed.house_ids.clone(),
    };
    match &request.query {
        Query::Deals(q) => {
            let span = span_of(q);
            let query = DealQuery::new(scope, &q.filter, &q.date_format, now, feed.tz);
            let pages = Pages::<DealPage>::spawn(snapshot, query, span);
            start(pages, feed, request, now, delivery).await
        }
        Query::Units(q) => {
            let span = span_of(q);
            let query = UnitQuery::new(scope, &q.filter, &q.date_format, now, feed.tz);
            let pages = Pages::<UnitPage>::spawn(snapshot, query, span);
            start(pages, feed, request, now, delivery).await
        }
    }
}

/// `deleted` comes whole with the first page (the one without `after_id`).
fn span_of<F>(query: &FeedQuery<F>) -> Span {
    Span {
        after_id: query.page.after_id.unwrap_or(0),
        limit: query.page.limit,
        with_deleted: query.page.after_id.is_none(),
    }
}

/// Waits for the first batch, then hands the rest to the producer.
async fn start<B: Batch>(
    mut pages: Pages<B>,
    feed: Feed,
    request: Request,
    now: DateTime<Utc>,
    delivery: Delivery,
) -> std::result::Result<Body, (Error, Delivery)> {
    let first = match pages.next().await {
        Ok(Some(first)) => first,
        Ok(None) => unreachable!("the loader always sends a first batch"),
        Err(e) => {
            pages.finish().await;
            return Err((e, delivery));
        }
    };
    let (sender, receiver) = mpsc::channel::<Chunk>(IN_FLIGHT);
    // The producer's log lines belong to the request (its id, route and feed).
    tokio::spawn(
        produce(pages, first, feed, request, now, sender, delivery)
            .instrument(tracing::Span::current()),
    );
    Ok(body(receiver))
}

/// The body of the chunks the producer sends.
fn body(mut receiver: mpsc::Receiver<Chunk>) -> Body {
    let mut ended = false;
    let chunks = futures::stream::poll_fn(move |cx| {
        if ended {
            return Poll::Ready(None);
        }
        Poll::Ready(match ready!(receiver.poll_recv(cx)) {
            Some(Chunk::Data(bytes)) => Some(Ok(bytes)),
            Some(Chunk::End) => {
                ended = true;
                None
            }
            // The producer stopped without saying the feed is complete: whatever the reason
            // (database error, stalled client, panic), the client must see a broken transfer.
            None => {
                ended = true;
                Some(Err(io::Error::other("feed cut off before its end")))
            }
        })
    });
    Body::from_stream(chunks)
}

/// What the producer sends the body: data, then `End` once the document is complete. A channel
/// that closes without `End` turns into an error, so no failure can end the body cleanly.
pub(super) enum Chunk {
    Data(Bytes),
    End,
}

/// Why writing stopped early.
pub(super) enum Stop {
    /// The client went away; nothing to report.
    Gone,
    /// The client stopped reading for longer than the send timeout.
    Stalled,
    Failed(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Failed(e)
    }
}

async fn produce<B: Batch>(
    mut pages: Pages<B>,
    first: B,
    feed: Feed,
    request: Request,
    now: DateTime<Utc>,
    sender: mpsc::Sender<Chunk>,
    delivery: Delivery,
) {
    let mut doc = Document::new(&feed, &request, now, sender, delivery.send_timeout);
    let outcome = doc.write(&mut pages, first).await;
    // However writing ended, the loader gives its connection back before the slot is released.
    pages.finish().await;
    let end = match outcome {
        Ok(()) => {
            doc.end().await;
            FeedEnd::Complete
        }
        Err(Stop::Gone) => {
            tracing::info!(feed_id = feed.id, "client left before the feed ended");
            FeedEnd::ClientLeft
        }
        Err(Stop::Stalled) => {
            tracing::warn!(feed_id = feed.id, "client stopped reading; transfer cut");
            FeedEnd::Stalled
        }
        Err(Stop::Failed(e)) => {
            tracing::error!(feed_id = feed.id, error = %e, "feed aborted mid-body");
            FeedEnd::Failed
        }
    };
    let (items, sent) = document::finish(doc);
    metrics::feed_ended(
        feed.kind.as_str(),
        end,
        items,
        sent,
        delivery.started.elapsed(),
    );
    delivery
        .log
        .finish(200, end == FeedEnd::Complete, items, sent);
    drop(delivery.slot);
}
