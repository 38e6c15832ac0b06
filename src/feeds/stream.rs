//! Builds a feed response body from one consistent snapshot, page by page, in flat memory.
//!
//! A producer task owns a `REPEATABLE READ, READ ONLY` transaction and sends the body in chunks of
//! about 64 KiB through a small bounded channel, so a slow reader slows the producer instead of
//! filling memory. Only a complete document ends with an explicit `End`; if the producer stops for
//! any other reason after the body has started (database error, a client that stopped reading, a
//! panic), the body stream ends in an error: hyper then cuts the connection instead of ending the
//! chunked body, and the client sees a broken transfer rather than short JSON that looks complete.

use std::{
    io,
    task::{ready, Poll},
    time::{Duration, Instant},
};

use axum::body::Body;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tracing::Instrument;

use super::{
    dates::{write_datetime, DateFormat},
    filter::{DealFilter, FeedQuery, UnitFilter},
    load::Scope,
    pages::{Batch, DealPage, DealQuery, Pages, UnitPage, UnitQuery},
    render::Style,
};
use crate::{
    links::{AccessLog, Feed},
    metrics::{self, FeedEnd},
    Error, Result,
};

/// Body chunk size.
const CHUNK: usize = 64 * 1024;
/// A chunk's buffer: a chunk plus room for the item that crosses its end, yet below glibc's
/// 128 KiB mmap threshold, so that a buffer per chunk comes from the heap (reused) rather than a
/// fresh mapping that page-faults in and is unmapped once sent.
const CHUNK_BUFFER: usize = CHUNK + 32 * 1024;
/// Chunks in flight between the producer and the socket.
const IN_FLIGHT: usize = 4;

/// What one request asks of a feed.
pub enum Request {
    Deals(FeedQuery<DealFilter>),
    Units(FeedQuery<UnitFilter>),
}

impl Request {
    fn ignored_params(&self) -> &[String] {
        match self {
            Request::Deals(q) => &q.ignored_params,
            Request::Units(q) => &q.ignored_params,
        }
    }

    fn date_format(&self) -> &DateFormat {
        match self {
            Request::Deals(q) => &q.date_format,
            Request::Units(q) => &q.date_format,
        }
    }
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

/// Opens the snapshot: called before the response starts, so that a database that is down
/// answers 503 before any byte is sent.
///
/// The `BEGIN` runs in a task of its own: a client that hangs up drops the handler's future, and
/// a `begin` cancelled between sending `BEGIN` and getting its answer would hand the connection
/// back to the pool inside the transaction (sqlx does not know it started). Finished in its own
/// task, the transaction always reaches a `Transaction`, whose drop rolls it back.
pub async fn begin(db: &PgPool) -> Result<Transaction<'static, Postgres>> {
    let db = db.clone();
    let opened = tokio::spawn(async move {
        // Custom plans: the optional filters are `($n is null or …)`, which only a plan made for
        // the actual values turns into index lookups. No parallel workers: every query reads one
        // batch, which a worker costs more to start than to help with.
        db.begin_with(
            "begin isolation level repeatable read, read only;
             set local plan_cache_mode = force_custom_plan;
             set local max_parallel_workers_per_gather = 0;",
        )
        .await
    });
    match opened.await {
        Ok(tx) => Ok(tx?),
        Err(e) => Err(Error::internal("opening the feed's snapshot", e)),
    }
}

/// The body that streams the feed from the snapshot `tx`.
pub fn body(
    tx: Transaction<'static, Postgres>,
    feed: Feed,
    request: Request,
    delivery: Delivery,
) -> Body {
    let (sender, mut receiver) = mpsc::channel::<Chunk>(IN_FLIGHT);
    // The producer's log lines belong to the request (its id, route and feed).
    tokio::spawn(
        produce(tx, feed, request, Utc::now(), sender, delivery)
            .instrument(tracing::Span::current()),
    );
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
enum Chunk {
    Data(Bytes),
    End,
}

/// Why writing stopped early.
enum Stop {
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

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Failed(e.into())
    }
}

async fn produce(
    tx: Transaction<'static, Postgres>,
    feed: Feed,
    request: Request,
    now: DateTime<Utc>,
    sender: mpsc::Sender<Chunk>,
    delivery: Delivery,
) {
    let mut body = Writer {
        buf: Vec::with_capacity(CHUNK_BUFFER),
        sender,
        send_timeout: delivery.send_timeout,
        sent: 0,
        items: 0,
    };
    // The loader of `write_feed` rolls the snapshot back before `write_feed` returns.
    let outcome = write_feed(tx, &feed, &request, now, &mut body).await;
    let end = match outcome {
        Ok(()) => {
            let _ = body.sender.send(Chunk::End).await;
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
    // Dropping the sender without `End` cuts the transfer (see `body`).
    drop(body.sender);
    metrics::feed_ended(
        feed.kind.as_str(),
        end,
        body.items,
        body.sent,
        delivery.started.elapsed(),
    );
    delivery
        .log
        .finish(200, end == FeedEnd::Complete, body.items, body.sent);
    drop(delivery.slot);
}

struct Writer {
    buf: Vec<u8>,
    sender: mpsc::Sender<Chunk>,
    send_timeout: Duration,
    /// Bytes handed to the connection so far.
    sent: u64,
    items: u64,
}

impl Writer {
    /// Writes one item, with a comma before every item but the first.
    fn item(&mut self, render: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
        if self.items > 0 {
            self.buf.push(b',');
        }
        render(&mut self.buf)?;
        self.items += 1;
        Ok(())
    }

    async fn flush_if_full(&mut self) -> Result<(), Stop> {
        if self.buf.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CHUNK_BUFFER),
        ));
        let len = chunk.len() as u64;
        match tokio::time::timeout(self.send_timeout, self.sender.send(Chunk::Data(chunk))).await {
            Ok(Ok(())) => {
                self.sent += len;
                Ok(())
            }
            Ok(Err(_)) => Err(Stop::Gone),
            Err(_) => Err(Stop::Stalled),
        }
    }
}

async fn write_feed(
    tx: Transaction<'static, Postgres>,
    feed: &Feed,
    request: &Request,
    now: DateTime<Utc>,
    body: &mut Writer,
) -> Result<(), Stop> {
    let style = Style {
        tz: feed.tz,
        date_format: request.date_format(),
    };
    let scope = Scope {
        account_id: feed.account_id,
        house_ids: feed.house_ids.clone(),
    };
    body.buf.extend_from_slice(b"{\"data\":[");
    // The opening goes out at once: the client sees the first byte while the first page loads.
    body.flush().await?;
    let count = match request {
        Request::Deals(query) => {
            let query = DealQuery::new(scope, &query.filter, now, feed.tz);
            write_items(Pages::<DealPage>::spawn(tx, query), style, body).await?
        }
        Request::Units(query) => {
            let query = UnitQuery::new(scope, &query.filter, now, feed.tz);
            write_items(Pages::<UnitPage>::spawn(tx, query), style, body).await?
        }
    };
    write_meta(&mut body.buf, feed, request, count, now);
    body.flush().await?;
    tracing::info!(
        feed_id = feed.id,
        kind = feed.kind.as_str(),
        count,
        "feed sent"
    );
    Ok(())
}

/// Writes every item of every batch that `pages` loads.
async fn write_items<B: Batch>(
    mut pages: Pages<B>,
    style: Style<'_>,
    body: &mut Writer,
) -> Result<u64, Stop> {
    let outcome = async {
        while let Some(page) = pages.next().await? {
            for i in 0..page.len() {
                body.item(|buf| page.render(i, style, buf))?;
                body.flush_if_full().await?;
            }
        }
        Ok(body.items)
    }
    .await;
    // However writing ended, the loader gives its connection back before the slot is released.
    pages.finish().await;
    outcome
}

fn write_meta(buf: &mut Vec<u8>, feed: &Feed, request: &Request, count: u64, now: DateTime<Utc>) {
    use std::io::Write as _;
    let _ = write!(
        buf,
        "],\"meta\":{{\"feed_id\":{},\"kind\":\"{}\",\"count\":{count},\"generated_at\":\"",
        feed.id,
        feed.kind.as_str()
    );
    write_datetime(now, feed.tz, buf);
    buf.extend_from_slice(b"\",\"timezone\":");
    let _ = serde_json::to_writer(&mut *buf, feed.tz.name());
    buf.extend_from_slice(b",\"date_format\":");
    let _ = serde_json::to_writer(&mut *buf, request.date_format().pattern());
    buf.extend_from_slice(b",\"ignored_params\":");
    let _ = serde_json::to_writer(&mut *buf, request.ignored_params());
    buf.extend_from_slice(b"}}");
}
