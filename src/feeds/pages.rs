//! Batches of feed items, loaded ahead of the writer.
//!
//! A loader task owns the snapshot's transaction and queries batch k+1 (PostgreSQL executes, the
//! loader decodes the rows) while the producer renders and sends batch k, so the database's time
//! and the server's time overlap instead of adding up (bench/README.md: at 100,000 units they
//! used to run one after the other). All queries still go through the one `REPEATABLE READ`
//! transaction: one snapshot, as docs/feeds.md promises. A channel of one batch bounds memory: at most
//! three batches exist at once (rendered, waiting, loading), whatever the size of the feed.

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{PgConnection, Postgres, Transaction};
use tokio::{sync::mpsc, task::JoinHandle};
use tracing::Instrument;

use super::{
    dates::Instants,
    filter::{DealFilter, UnitFilter},
    load::{
        self, CustomValueRow, DealBounds, DealChildren, DealRow, Scope, Tombstone, UnitBounds,
        UnitRow,
    },
    render::{self, Style},
};
use crate::{links::FeedKind, Error, Result};

/// Items per batch: one query for the items and one per child table. 1,000 beat both 100 and
/// 5,000 (issue 6).
pub const PAGE: i64 = 1000;

/// A future that rustc can prove `Send`: sqlx's `Executor` for `&mut PgConnection` is not general
/// enough for it otherwise (rust-lang/rust#100013).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub fn boxed<'a, T>(future: impl Future<Output = T> + Send + 'a) -> BoxFuture<'a, T> {
    Box::pin(future)
}

/// One batch of a feed, as the loader hands it to the writer.
pub trait Batch: Sized + Send + 'static {
    /// What selects the items: the feed's scope and the request's filter.
    type Query: Send + Sync + 'static;
    /// The next `size` items with ids above `after`, with everything they show.
    fn load<'a>(
        conn: &'a mut PgConnection,
        query: &'a Self::Query,
        after: i64,
        size: i64,
    ) -> BoxFuture<'a, Result<Self>>;
    /// The feed's tombstones within the query's `dt_updated` window (none without a window).
    fn deleted<'a>(
        conn: &'a mut PgConnection,
        query: &'a Self::Query,
    ) -> BoxFuture<'a, Result<Vec<Tombstone>>>;
    /// The id of the batch's last item, and how many items it holds.
    fn last_id(&self) -> Option<i64>;
    fn len(&self) -> usize;
    /// Keeps the first `len` items.
    fn truncate(&mut self, len: usize);
    /// Writes item `i` of the batch.
    fn render(&self, i: usize, style: Style, out: &mut Vec<u8>) -> Result<()>;
}

/// A batch of the deals feed: deals with their units, unit params and children.
pub struct DealPage {
    pub deals: Vec<DealRow>,
    /// Sorted by id.
    pub units: Vec<UnitRow>,
    pub params: Vec<CustomValueRow>,
    pub children: DealChildren,
}

pub struct DealQuery {
    scope: Scope,
    filter: DealFilter,
    bounds: DealBounds,
}

impl DealQuery {
    /// The filter's days made instants of the account's zone, as of `now`.
    pub fn new(scope: Scope, filter: &DealFilter, now: DateTime<Utc>, tz: Tz) -> DealQuery {
        let bounds = DealBounds {
            dt_updated: Instants::of_updated(
                filter.dt_updated,
                filter.dt_updated_last_days,
                now,
                tz,
            ),
            dt_status_changed: Instants::of_days(filter.dt_status_changed, tz),
        };
        DealQuery {
            scope,
            filter: filter.clone(),
            bounds,
        }
    }
}

impl Batch for DealPage {
    type Query = DealQuery;

    fn load<'a>(
        conn: &'a mut PgConnection,
        q: &'a DealQuery,
        after: i64,
        size: i64,
    ) -> BoxFuture<'a, Result<Self>> {
        boxed(async move {
            let deals = boxed(load::deals_page(
                conn, &q.scope, &q.filter, &q.bounds, after, size,
            ))
            .await?;
            let deal_ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
            let mut unit_ids: Vec<i64> = deals.iter().map(|d| d.unit_id).collect();
            unit_ids.sort_unstable();
            unit_ids.dedup();
            let units = boxed(load::by_keys(conn, load::UNITS_BY_ID, &unit_ids)).await?;
            let params = boxed(load::by_keys(conn, load::UNIT_PARAMS, &unit_ids)).await?;
            let children = boxed(DealChildren::load(conn, &deal_ids)).await?;
            Ok(DealPage {
                deals,
                units,
                params,
                children,
            })
        })
    }

    fn deleted<'a>(
        conn: &'a mut PgConnection,
        q: &'a DealQuery,
    ) -> BoxFuture<'a, Result<Vec<Tombstone>>> {
        boxed(tombstones(
            conn,
            &q.scope,
            FeedKind::Deals,
            q.bounds.dt_updated,
        ))
    }

    fn last_id(&self) -> Option<i64> {
        self.deals.last().map(|d| d.id)
    }

    fn len(&self) -> usize {
        self.deals.len()
    }

    fn truncate(&mut self, len: usize) {
        self.deals.truncate(len);
    }

    fn render(&self, i: usize, style: Style, out: &mut Vec<u8>) -> Result<()> {
        let deal = &self.deals[i];
        let unit = self
            .units
            .binary_search_by_key(&deal.unit_id, |u| u.id)
            .map(|at| &self.units[at])
            .map_err(|_| {
                Error::internal(
                    format!("deal {}", deal.id),
                    format!("its unit {} is not in the snapshot", deal.unit_id),
                )
            })?;
        let params = load::owned_by(&self.params, unit.id, |p| p.owner_id);
        render::deal_item(out, style, deal, self.children.of(deal.id), unit, params);
        Ok(())
    }
}

/// A batch of the units feed: units with their params and their active deals.
pub struct UnitPage {
    pub units: Vec<UnitRow>,
    pub params: Vec<CustomValueRow>,
    /// The active deals, sorted by unit id (a unit has at most one).
    pub deals: Vec<DealRow>,
    pub children: DealChildren,
}

pub struct UnitQuery {
    scope: Scope,
    filter: UnitFilter,
    bounds: UnitBounds,
}

impl UnitQuery {
    /// The filter's days made instants of the account's zone, as of `now`.
    pub fn new(scope: Scope, filter: &UnitFilter, now: DateTime<Utc>, tz: Tz) -> UnitQuery {
        let bounds = UnitBounds {
            dt_updated: Instants::of_updated(
                filter.dt_updated,
                filter.dt_updated_last_days,
                now,
                tz,
            ),
        };
        UnitQuery {
            scope,
            filter: filter.clone(),
            bounds,
        }
    }
}

impl Batch for UnitPage {
    type Query = UnitQuery;

    fn load<'a>(
        conn: &'a mut PgConnection,
        q: &'a UnitQuery,
        after: i64,
        size: i64,
    ) -> BoxFuture<'a, Result<Self>> {
        boxed(async move {
            let units = boxed(load::units_page(
                conn, &q.scope, &q.filter, &q.bounds, after, size,
            ))
            .await?;
            let unit_ids: Vec<i64> = units.iter().map(|u| u.id).collect();
            let params = boxed(load::by_keys(conn, load::UNIT_PARAMS, &unit_ids)).await?;
            let mut deals: Vec<DealRow> =
                boxed(load::by_keys(conn, load::ACTIVE_DEALS_OF_UNITS, &unit_ids)).await?;
            let deal_ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
            let children = boxed(DealChildren::load(conn, &deal_ids)).await?;
            deals.sort_unstable_by_key(|d| d.unit_id);
            Ok(UnitPage {
                units,
                params,
                deals,
                children,
            })
        })
    }

    fn deleted<'a>(
        conn: &'a mut PgConnection,
        q: &'a UnitQuery,
    ) -> BoxFuture<'a, Result<Vec<Tombstone>>> {
        boxed(tombstones(
            conn,
            &q.scope,
            FeedKind::Units,
            q.bounds.dt_updated,
        ))
    }

    fn last_id(&self) -> Option<i64> {
        self.units.last().map(|u| u.id)
    }

    fn len(&self) -> usize {
        self.units.len()
    }

    fn truncate(&mut self, len: usize) {
        self.units.truncate(len);
    }

    fn render(&self, i: usize, style: Style, out: &mut Vec<u8>) -> Result<()> {
        let unit = &self.units[i];
        let deal = self
            .deals
            .binary_search_by_key(&unit.id, |d| d.unit_id)
            .ok()
            .map(|at| (&self.deals[at], self.children.of(self.deals[at].id)));
        let params = load::owned_by(&self.params, unit.id, |p| p.owner_id);
        render::unit_item(out, style, unit, params, deal);
        Ok(())
    }
}

/// The tombstones of a feed within `window`; a response without a window lists none.
async fn tombstones(
    conn: &mut PgConnection,
    scope: &Scope,
    kind: FeedKind,
    window: Instants,
) -> Result<Vec<Tombstone>> {
    if window.from.is_none() && window.until.is_none() {
        return Ok(Vec::new());
    }
    load::deleted(conn, scope, kind.as_str(), window).await
}

/// Which part of the feed a response covers: the items after `after_id`, at most `limit` of
/// them (all without a limit), and whether it lists the feed's tombstones (`deleted`).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub after_id: i64,
    pub limit: Option<u64>,
    pub with_deleted: bool,
}

/// What the loader sends: a batch, marked when it is the last one. A channel that closes before
/// the last batch means the loader failed or panicked, never "no more items".
struct Loaded<B> {
    batch: B,
    /// The last batch of this response.
    last: bool,
    /// With the last batch of a response with a limit: whether more items follow it.
    more: bool,
    /// With the last batch: the tombstones, when the response lists them.
    deleted: Vec<Tombstone>,
}

/// The batches of one feed response, loaded one ahead by their own task.
pub struct Pages<B> {
    receiver: mpsc::Receiver<Result<Loaded<B>>>,
    loader: JoinHandle<()>,
    done: bool,
    more: bool,
    deleted: Vec<Tombstone>,
}

impl<B: Batch> Pages<B> {
    /// Starts loading at once; the loader rolls `tx` back when it is done or the writer is gone.
    pub fn spawn(mut tx: Transaction<'static, Postgres>, query: B::Query, span: Span) -> Pages<B> {
        let (sender, receiver) = mpsc::channel(1);
        let loader = tokio::spawn(
            async move {
                let mut after = span.after_id;
                let mut left = span.limit;
                loop {
                    let message = load_next::<B>(&mut tx, &query, after, left, span).await;
                    let next = match &message {
                        Ok(loaded) if !loaded.last => loaded.batch.last_id(),
                        _ => None,
                    };
                    if let (Ok(loaded), Some(left)) = (&message, left.as_mut()) {
                        *left -= loaded.batch.len() as u64;
                    }
                    // A send fails when the writer stopped (client gone): stop loading too.
                    if sender.send(message).await.is_err() {
                        break;
                    }
                    match next {
                        Some(id) => after = id,
                        None => break,
                    }
                }
                let _ = tx.rollback().await;
            }
            .instrument(tracing::Span::current()),
        );
        Pages {
            receiver,
            loader,
            done: false,
            more: false,
            deleted: Vec::new(),
        }
    }

    /// The next batch, `None` after the last one.
    pub async fn next(&mut self) -> Result<Option<B>> {
        if self.done {
            return Ok(None);
        }
        match self.receiver.recv().await {
            Some(Ok(loaded)) => {
                self.done = loaded.last;
                self.more = loaded.more;
                self.deleted = loaded.deleted;
                Ok(Some(loaded.batch))
            }
            Some(Err(e)) => Err(e),
            None => Err(Error::internal(
                "feed loader",
                "stopped before the last batch",
            )),
        }
    }

    /// After the last batch: whether the response's limit left items out.
    pub fn more(&self) -> bool {
        self.more
    }

    /// After the last batch: the tombstones of the response (empty unless it lists them).
    pub fn take_deleted(&mut self) -> Vec<Tombstone> {
        std::mem::take(&mut self.deleted)
    }

    /// Waits for the loader to give its connection back (after the last batch, or at once when
    /// the writer stopped early and the loader's next send fails).
    pub async fn finish(self) {
        drop(self.receiver);
        let _ = self.loader.await;
    }
}

/// Loads the batch after `after`. With `left` items still allowed, it asks for one more than
/// that (at most a batch), to tell whether more follow; that extra item is dropped. The last
/// batch also brings the tombstones when the span lists them.
async fn load_next<B: Batch>(
    conn: &mut PgConnection,
    query: &B::Query,
    after: i64,
    left: Option<u64>,
    span: Span,
) -> Result<Loaded<B>> {
    let size = match left {
        Some(left) => (left + 1).min(PAGE as u64) as i64,
        None => PAGE,
    };
    let mut batch = B::load(conn, query, after, size).await?;
    let full = batch.len() as i64 == size;
    let (last, more) = match left {
        Some(left) if batch.len() as u64 > left => {
            batch.truncate(left as usize);
            (true, true)
        }
        _ => (!full, false),
    };
    let deleted = if last && span.with_deleted {
        B::deleted(conn, query).await?
    } else {
        Vec::new()
    };
    Ok(Loaded {
        batch,
        last,
        more,
        deleted,
    })
}
