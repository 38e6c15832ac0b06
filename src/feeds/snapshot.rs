//! The snapshot a response is built from: one pooled connection in a `REPEATABLE READ, READ
//! ONLY` transaction, which every query of the response goes through (docs/feeds.md: one
//! response is one consistent snapshot).
//!
//! The transaction is ours, not an `sqlx::Transaction`, because of how the item queries run:
//! a binary COPY (`rows`) whose stream stops before its end, for whatever reason, leaves
//! messages on the connection that sqlx does not know to skip. So a snapshot gives its
//! connection back to the pool only after `end` (every statement read to its end, then
//! `ROLLBACK`); dropped any other way, its connection is closed, and PostgreSQL ends the
//! transaction with it.

use std::{future::Future, pin::Pin};

use sqlx::{pool::PoolConnection, Executor, PgConnection, PgPool, Postgres};

use crate::{Error, Result};

/// A future that rustc can prove `Send`: sqlx's `Executor` for `&mut PgConnection` is not general
/// enough for it otherwise (rust-lang/rust#100013).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub fn boxed<'a, T>(future: impl Future<Output = T> + Send + 'a) -> BoxFuture<'a, T> {
    Box::pin(future)
}

pub struct Snapshot {
    conn: PoolConnection<Postgres>,
    ended: bool,
}

impl Snapshot {
    /// Opens the snapshot: called before the response starts, so that a database that is down
    /// answers 503 before any byte is sent.
    ///
    /// The `BEGIN` runs in a task of its own: a client that hangs up drops the handler's future,
    /// and a `BEGIN` cancelled between sending and its answer would leave the connection in an
    /// unknown state. Finished in its own task, the transaction always reaches a `Snapshot`,
    /// whose drop closes the connection if nobody ends it.
    pub async fn begin(db: &PgPool) -> Result<Snapshot> {
        match tokio::spawn(Snapshot::open(db.clone())).await {
            Ok(snapshot) => snapshot,
            Err(e) => Err(Error::internal("opening the feed's snapshot", e)),
        }
    }

    async fn open(db: PgPool) -> Result<Snapshot> {
        let mut snapshot = Snapshot {
            conn: db.acquire().await?,
            ended: false,
        };
        // Custom plans: the optional filters are `($n is null or …)`, which only a plan made for
        // the actual values turns into index lookups (the COPY statements carry their values
        // and are planned for them anyway). No parallel workers: every query reads one batch,
        // which a worker costs more to start than to help with.
        snapshot
            .conn()
            .execute(
                "begin isolation level repeatable read, read only;
                 set local plan_cache_mode = force_custom_plan;
                 set local max_parallel_workers_per_gather = 0;",
            )
            .await?;
        Ok(snapshot)
    }

    /// The connection, for the response's queries.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    /// Ends the transaction and gives the connection back to the pool. Only for a connection
    /// whose every statement was read to its end.
    pub async fn end(mut self) {
        if self.conn().execute("rollback").await.is_ok() {
            self.ended = true;
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if !self.ended {
            self.conn.close_on_drop();
        }
    }
}
