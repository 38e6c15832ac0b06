//! Batches of feed items, loaded ahead of the writer.
//!
//! A loader task owns the snapshot's transaction and queries batch k+1 (PostgreSQL executes, the
//! loader decodes the rows) while the producer renders and sends batch k, so the database's time
//! and the server's time overlap instead of adding up (bench/README.md: at 100,000 units they
//! used to run one after the other). All queries still go through the one `REPEATABLE READ`
//! transaction: one snapshot, as FEEDS.md requires. A channel of one batch bounds memory: at most
//! three batches exist at once (rendered, waiting, loading), whatever the size of the feed.
//!
//! When the pool has connections to spare, a second one joins the snapshot (`pg_export_snapshot`
//! imported with `SET TRANSACTION SNAPSHOT`) and loads the deals' children while the first loads
//! the items and units: PostgreSQL then works on a batch with two cores instead of one.

use std::{future::Future, io, pin::Pin};

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio::{sync::mpsc, task::JoinHandle};
use tracing::Instrument;

use super::{
    filter::{DealFilter, UnitFilter},
    load::{self, CustomValueRow, DealBounds, DealChildren, DealRow, Scope, UnitBounds, UnitRow},
};
use crate::{Error, Result};

/// Items per batch: one query for the items and one per child table. 1,000 beat both 100 and
/// 5,000 (issue 6).
pub const PAGE: i64 = 1000;

/// A future that rustc can prove `Send`: sqlx's `Executor` for `&mut PgConnection` is not general
/// enough for it otherwise (rust-lang/rust#100013).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub fn boxed<'a, T>(future: impl Future<Output = T> + Send + 'a) -> BoxFuture<'a, T> {
    Box::pin(future)
}

/// The snapshot a response reads: its transaction, and a second one in the same snapshot when
/// the pool is under a quarter busy. Helpers are for a server with room to spare: with the
/// default pool (10) and build slots (8), at most one response has one, so eight builds and the
/// requests around them still fit in the pool, as they did before helpers.
pub struct Snapshot {
    pub main: Transaction<'static, Postgres>,
    pub helper: Option<Transaction<'static, Postgres>>,
}

/// Settings of every feed transaction. Custom plans: the optional filters are `($n is null or
/// …)`, which only a plan made for the actual values turns into index lookups. No parallel
/// workers: every query reads one batch, which a worker costs more to start than to help with.
const BEGIN: &str = "begin isolation level repeatable read, read only;";
const SETTINGS: &str = "set local plan_cache_mode = force_custom_plan;
                        set local max_parallel_workers_per_gather = 0;";

/// How long a response waits for its helper connection before loading without one.
const HELPER_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

impl Snapshot {
    /// Opens the snapshot: called before the response starts, so that a database that is down
    /// answers 503 before any byte is sent.
    pub async fn begin(db: &PgPool) -> Result<Snapshot> {
        let begin = || db.begin_with(format!("{BEGIN} {SETTINGS}"));
        let mut main = begin().await?;
        let in_use = (db.size() as usize).saturating_sub(db.num_idle());
        if in_use * 4 >= db.options().get_max_connections() as usize {
            return Ok(Snapshot { main, helper: None });
        }
        // Not in a savepoint: PostgreSQL exports no snapshot from a subtransaction. A server
        // that refuses the export aborts `main`, which is then opened again, without a helper.
        let exported: std::result::Result<String, _> =
            boxed(sqlx::query_scalar("select pg_export_snapshot()").fetch_one(&mut *main)).await;
        let id = match exported {
            Ok(id) => id,
            Err(e) => {
                tracing::debug!(error = %e, "no snapshot export; loading on one connection");
                let _ = main.rollback().await;
                return Ok(Snapshot {
                    main: begin().await?,
                    helper: None,
                });
            }
        };
        let helper = Self::helper(db, &id).await;
        Ok(Snapshot { main, helper })
    }

    /// A second transaction in the exported snapshot `id`, or `None` (no connection at once, or
    /// the import failed): the feed is then loaded on the main transaction alone, only slower.
    async fn helper(db: &PgPool, id: &str) -> Option<Transaction<'static, Postgres>> {
        // Snapshot ids are hex numbers and dashes ("00000003-0000001B-1"), safe to quote.
        if !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return None;
        }
        // The plain `begin` first, so that the transaction is rolled back (not left open in a
        // pooled connection) if the import fails.
        // Opens a connection when the pool has room for one; never waits long for it.
        let mut helper = tokio::time::timeout(HELPER_WAIT, db.begin_with(BEGIN))
            .await
            .ok()?
            .ok()?;
        let import = format!("set transaction snapshot '{id}'; {SETTINGS}");
        boxed(async move {
            sqlx::Executor::execute(&mut *helper, import.as_str())
                .await
                .map(|_| helper)
        })
        .await
        .ok()
    }
}

/// One batch of a feed, as the loader hands it to the writer.
pub trait Batch: Sized + Send + 'static {
    /// What selects the items: the feed's scope and the request's filter.
    type Query: Send + Sync + 'static;
    /// The batch of items with ids above `after`, with everything they show; `helper`, when
    /// there is one, runs part of the queries at the same time.
    fn load<'a>(
        conn: &'a mut PgConnection,
        helper: Option<&'a mut PgConnection>,
        query: &'a Self::Query,
        after: i64,
    ) -> BoxFuture<'a, Result<Self>>;
    /// The id of the batch's last item, and how many items it holds.
    fn last_id(&self) -> Option<i64>;
    fn len(&self) -> usize;
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
    pub scope: Scope,
    pub filter: DealFilter,
    pub bounds: DealBounds,
}

impl Batch for DealPage {
    type Query = DealQuery;

    fn load<'a>(
        conn: &'a mut PgConnection,
        helper: Option<&'a mut PgConnection>,
        q: &'a DealQuery,
        after: i64,
    ) -> BoxFuture<'a, Result<Self>> {
        boxed(async move {
            let deals = boxed(load::deals_page(
                conn, &q.scope, &q.filter, &q.bounds, after, PAGE,
            ))
            .await?;
            let deal_ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
            let mut unit_ids: Vec<i64> = deals.iter().map(|d| d.unit_id).collect();
            unit_ids.sort_unstable();
            unit_ids.dedup();
            let units = async {
                let units = boxed(load::units_by_id(conn, &unit_ids)).await?;
                let params = boxed(load::unit_params(conn, &unit_ids)).await?;
                Ok((units, params))
            };
            let ((units, params), children) = match helper {
                Some(helper) => {
                    tokio::try_join!(units, boxed(DealChildren::load(helper, &deal_ids)))?
                }
                None => {
                    let units = units.await?;
                    (units, boxed(DealChildren::load(conn, &deal_ids)).await?)
                }
            };
            Ok(DealPage {
                deals,
                units,
                params,
                children,
            })
        })
    }

    fn last_id(&self) -> Option<i64> {
        self.deals.last().map(|d| d.id)
    }

    fn len(&self) -> usize {
        self.deals.len()
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
    pub scope: Scope,
    pub filter: UnitFilter,
    pub bounds: UnitBounds,
}

impl Batch for UnitPage {
    type Query = UnitQuery;

    fn load<'a>(
        conn: &'a mut PgConnection,
        helper: Option<&'a mut PgConnection>,
        q: &'a UnitQuery,
        after: i64,
    ) -> BoxFuture<'a, Result<Self>> {
        boxed(async move {
            let units = boxed(load::units_page(
                conn, &q.scope, &q.filter, &q.bounds, after, PAGE,
            ))
            .await?;
            let unit_ids: Vec<i64> = units.iter().map(|u| u.id).collect();
            let deals = |conn: &'a mut PgConnection| {
                let unit_ids = &unit_ids;
                boxed(async move {
                    let mut deals = boxed(load::active_deals_of_units(conn, unit_ids)).await?;
                    let deal_ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
                    let children = boxed(DealChildren::load(conn, &deal_ids)).await?;
                    deals.sort_unstable_by_key(|d| d.unit_id);
                    Ok::<_, Error>((deals, children))
                })
            };
            let (params, (deals, children)) = match helper {
                Some(helper) => {
                    tokio::try_join!(boxed(load::unit_params(conn, &unit_ids)), deals(helper))?
                }
                None => {
                    let params = boxed(load::unit_params(conn, &unit_ids)).await?;
                    (params, deals(conn).await?)
                }
            };
            Ok(UnitPage {
                units,
                params,
                deals,
                children,
            })
        })
    }

    fn last_id(&self) -> Option<i64> {
        self.units.last().map(|u| u.id)
    }

    fn len(&self) -> usize {
        self.units.len()
    }
}

/// What the loader sends: a batch, marked when it is the last one. A channel that closes before
/// the last batch means the loader failed or panicked, never "no more items".
struct Loaded<B> {
    batch: B,
    last: bool,
}

/// The batches of one feed response, loaded one ahead by their own task.
pub struct Pages<B> {
    receiver: mpsc::Receiver<Result<Loaded<B>>>,
    loader: JoinHandle<()>,
    done: bool,
}

impl<B: Batch> Pages<B> {
    /// Starts loading at once; the loader rolls the snapshot back when it is done or the writer is
    /// gone.
    pub fn spawn(mut snapshot: Snapshot, query: B::Query) -> Pages<B> {
        let (sender, receiver) = mpsc::channel(1);
        let loader = tokio::spawn(
            async move {
                let mut after = 0;
                loop {
                    let helper = snapshot.helper.as_deref_mut();
                    let loaded = B::load(&mut snapshot.main, helper, &query, after)
                        .await
                        .map(|batch| {
                            let last = batch.len() < PAGE as usize;
                            (batch.last_id(), Loaded { batch, last })
                        });
                    let (next, message) = match loaded {
                        Ok((Some(id), loaded)) if !loaded.last => (Some(id), Ok(loaded)),
                        Ok((_, loaded)) => (
                            None,
                            Ok(Loaded {
                                last: true,
                                ..loaded
                            }),
                        ),
                        Err(e) => (None, Err(e)),
                    };
                    // A send fails when the writer stopped (client gone): stop loading too.
                    if sender.send(message).await.is_err() {
                        break;
                    }
                    match next {
                        Some(id) => after = id,
                        None => break,
                    }
                }
                if let Some(helper) = snapshot.helper {
                    let _ = helper.rollback().await;
                }
                let _ = snapshot.main.rollback().await;
            }
            .instrument(tracing::Span::current()),
        );
        Pages {
            receiver,
            loader,
            done: false,
        }
    }

    /// The next batch, `None` after the last one.
    pub async fn next(&mut self) -> Result<Option<B>> {
        if self.done {
            return Ok(None);
        }
        match self.receiver.recv().await {
            Some(Ok(Loaded { batch, last })) => {
                self.done = last;
                Ok(Some(batch))
            }
            Some(Err(e)) => Err(e),
            None => Err(Error::Io {
                context: "feed loader".into(),
                source: io::Error::other("stopped before the last batch"),
            }),
        }
    }

    /// Waits for the loader to give its connection back (after the last batch, or at once when
    /// the writer stopped early and the loader's next send fails).
    pub async fn finish(self) {
        drop(self.receiver);
        let _ = self.loader.await;
    }
}
