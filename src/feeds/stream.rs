//! Builds a feed response body from one consistent snapshot, page by page, in flat memory.
//!
//! A producer task owns a `REPEATABLE READ, READ ONLY` transaction and sends the body in chunks of
//! about 64 KiB through a small bounded channel, so a slow reader slows the producer instead of
//! filling memory. Only a complete document ends with an explicit `End`; if the producer stops for
//! any other reason after the body has started (database error, a client that stopped reading, a
//! panic), the body stream ends in an error: hyper then cuts the connection instead of ending the
//! chunked body, and the client sees a broken transfer rather than short JSON that looks complete.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{ready, Poll},
    time::{Duration, Instant},
};

use axum::body::Body;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tracing::Instrument;

use super::{
    access::{AccessLog, Feed},
    dates::{write_datetime, Instants},
    filter::{DealFilter, FeedQuery, UnitFilter},
    load::{self, DealBounds, DealChildren, Scope, UnitBounds},
    render::{self, Style},
};
use crate::{
    metrics::{self, FeedEnd},
    Error, Result,
};

/// Items per page: one query for the items and one per child table.
const PAGE: i64 = 1000;
/// Body chunk size.
const CHUNK: usize = 64 * 1024;
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

    fn date_format(&self) -> &super::dates::DateFormat {
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
pub async fn begin(db: &PgPool) -> Result<Transaction<'static, Postgres>> {
    // Custom plans: the optional filters are `($n is null or …)`, which only a plan made for
    // the actual values turns into index lookups.
    Ok(db
        .begin_with(
            "begin isolation level repeatable read, read only;
             set local plan_cache_mode = force_custom_plan;",
        )
        .await?)
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
    mut tx: Transaction<'static, Postgres>,
    feed: Feed,
    request: Request,
    now: DateTime<Utc>,
    sender: mpsc::Sender<Chunk>,
    delivery: Delivery,
) {
    let mut body = Writer {
        buf: Vec::with_capacity(CHUNK * 2),
        sender,
        send_timeout: delivery.send_timeout,
        sent: 0,
        items: 0,
    };
    let outcome = write_feed(&mut tx, &feed, &request, now, &mut body).await;
    let _ = tx.rollback().await;
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
        feed.kind,
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
    async fn flush_if_full(&mut self) -> Result<(), Stop> {
        if self.buf.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CHUNK * 2),
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
    conn: &mut PgConnection,
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
        Request::Deals(query) => write_deals(conn, &scope, &query.filter, style, now, body).await?,
        Request::Units(query) => write_units(conn, &scope, &query.filter, style, now, body).await?,
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

/// Separates items: a comma before every item but the first.
fn item_separator(buf: &mut Vec<u8>, count: u64) {
    if count > 0 {
        buf.push(b',');
    }
}

async fn write_deals(
    conn: &mut PgConnection,
    scope: &Scope,
    filter: &DealFilter,
    style: Style<'_>,
    now: DateTime<Utc>,
    body: &mut Writer,
) -> Result<u64, Stop> {
    let bounds = DealBounds {
        dt_updated: updated_bounds(filter.dt_updated, filter.dt_updated_last_days, now, style),
        dt_status_changed: Instants::of_days(filter.dt_status_changed, style.tz),
    };
    let mut count = 0;
    let mut after = 0;
    loop {
        let deals = boxed(load::deals_page(conn, scope, filter, &bounds, after, PAGE)).await?;
        let Some(last) = deals.last() else { break };
        after = last.id;
        let deal_ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
        let mut unit_ids: Vec<i64> = deals.iter().map(|d| d.unit_id).collect();
        unit_ids.sort_unstable();
        unit_ids.dedup();
        let units = boxed(load::units_by_id(conn, &unit_ids)).await?;
        let params = boxed(load::unit_params(conn, &unit_ids)).await?;
        let children = boxed(DealChildren::load(conn, &deal_ids)).await?;
        for deal in &deals {
            let unit = units
                .binary_search_by_key(&deal.unit_id, |u| u.id)
                .map(|i| &units[i])
                .map_err(|_| {
                    Error::NotFound(format!("unit {} of deal {}", deal.unit_id, deal.id))
                })?;
            let unit_params = load::owned_by(&params, unit.id, |p| p.owner_id);
            item_separator(&mut body.buf, count);
            render::deal_item(
                &mut body.buf,
                style,
                deal,
                children.of(deal.id),
                unit,
                unit_params,
            );
            count += 1;
            body.items = count;
            body.flush_if_full().await?;
        }
        if (deals.len() as i64) < PAGE {
            break;
        }
    }
    Ok(count)
}

async fn write_units(
    conn: &mut PgConnection,
    scope: &Scope,
    filter: &UnitFilter,
    style: Style<'_>,
    now: DateTime<Utc>,
    body: &mut Writer,
) -> Result<u64, Stop> {
    let bounds = UnitBounds {
        dt_updated: updated_bounds(filter.dt_updated, filter.dt_updated_last_days, now, style),
    };
    let mut count = 0;
    let mut after = 0;
    loop {
        let units = boxed(load::units_page(conn, scope, filter, &bounds, after, PAGE)).await?;
        let Some(last) = units.last() else { break };
        after = last.id;
        let unit_ids: Vec<i64> = units.iter().map(|u| u.id).collect();
        let params = boxed(load::unit_params(conn, &unit_ids)).await?;
        let mut deals = boxed(load::active_deals_of_units(conn, &unit_ids)).await?;
        let deal_ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
        let children = boxed(DealChildren::load(conn, &deal_ids)).await?;
        deals.sort_unstable_by_key(|d| d.unit_id);
        for unit in &units {
            let deal = deals
                .binary_search_by_key(&unit.id, |d| d.unit_id)
                .ok()
                .map(|i| (&deals[i], children.of(deals[i].id)));
            item_separator(&mut body.buf, count);
            let unit_params = load::owned_by(&params, unit.id, |p| p.owner_id);
            render::unit_item(&mut body.buf, style, unit, unit_params, deal);
            count += 1;
            body.items = count;
            body.flush_if_full().await?;
        }
        if (units.len() as i64) < PAGE {
            break;
        }
    }
    Ok(count)
}

/// `dt_updated_from/_to` and `dt_updated_last_days` together (both may be given: AND).
fn updated_bounds(
    range: super::filter::DayRange,
    last_days: Option<u64>,
    now: DateTime<Utc>,
    style: Style,
) -> Instants {
    let range = Instants::of_days(range, style.tz);
    match last_days {
        Some(days) => range.intersect(Instants::of_last_days(days, now, style.tz)),
        None => range,
    }
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

/// Erases a query future's type. Without it rustc cannot prove the producer future `Send`
/// (sqlx's `Executor` for `&mut PgConnection` is not general enough, rust-lang/rust#100013).
fn boxed<'a, T>(
    future: impl Future<Output = T> + Send + 'a,
) -> Pin<Box<dyn Future<Output = T> + Send + 'a>> {
    Box::pin(future)
}
