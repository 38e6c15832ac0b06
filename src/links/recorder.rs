//! The writes that feed requests cause (the feed's last use, the access log: `usage`), made on the
//! primary by one background task in batches, so that no feed response ever waits for a write.
//!
//! Requests hand records to a bounded channel without waiting: when it is full (the primary is
//! slow or down for long), the record is dropped, counted in `domofeed_records_dropped` and
//! logged, rather than holding up a feed. The task writes whatever has arrived every
//! [`Batching::every`] or as soon as [`Batching::max_batch`] records wait: one multi-row insert
//! (`unnest` of arrays) and one update. A failed batch is kept and retried. On graceful shutdown
//! the channel is closed, what it holds is written, and the task ends: nothing is lost.

use std::{collections::HashMap, net::IpAddr, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::{
    sync::{mpsc, Notify},
    task::JoinHandle,
};

/// One thing to write.
#[derive(Debug, Clone)]
pub enum Record {
    /// A row of `feed_access_log`.
    Access {
        account_id: i64,
        feed_id: i64,
        at: DateTime<Utc>,
        client: IpAddr,
        status: i16,
        complete: bool,
        items: i64,
        bytes: i64,
        duration_ms: i32,
    },
    /// The feed was read at `at` (kept at most once a minute per feed).
    LastUsed { feed_id: i64, at: DateTime<Utc> },
}

/// How the task batches.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Longest a record waits before it is written.
    pub every: Duration,
    /// Records that make a batch be written at once.
    pub max_batch: usize,
    /// Records the channel holds before new ones are dropped.
    pub capacity: usize,
}

impl Default for Batching {
    /// A quarter second keeps the access log close to live (and costs nothing while idle).
    fn default() -> Self {
        Batching {
            every: Duration::from_millis(250),
            max_batch: 500,
            capacity: 10_000,
        }
    }
}

/// Failed batches kept for a retry, at most; older records beyond it are dropped and counted.
const MAX_PENDING: usize = 50_000;

/// The requests' end of the channel; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    sender: mpsc::Sender<Record>,
}

/// The task's end: [`RecorderTask::close`] writes what is left and waits for it.
pub struct RecorderTask {
    stop: Arc<Notify>,
    handle: JoinHandle<()>,
}

/// Starts the writing task on `db` (the primary).
pub fn start(db: PgPool, batching: Batching) -> (Recorder, RecorderTask) {
    let (sender, receiver) = mpsc::channel(batching.capacity.max(1));
    let stop = Arc::new(Notify::new());
    let handle = tokio::spawn(run(db, receiver, batching, stop.clone()));
    (Recorder { sender }, RecorderTask { stop, handle })
}

impl Recorder {
    /// Hands `record` to the task, never waiting: a full or closed channel drops it.
    pub fn send(&self, record: Record) {
        if let Err(e) = self.sender.try_send(record) {
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "the write queue is full",
                mpsc::error::TrySendError::Closed(_) => "the writer has stopped",
            };
            crate::metrics::records_dropped(1);
            tracing::warn!(why, "a feed access record was dropped");
        }
    }
}

impl RecorderTask {
    /// Closes the channel, writes every record it holds, and waits until that is done.
    pub async fn close(self) {
        self.stop.notify_one();
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "the access-record writer failed");
        }
    }
}

async fn run(
    db: PgPool,
    mut receiver: mpsc::Receiver<Record>,
    batching: Batching,
    stop: Arc<Notify>,
) {
    let mut pending: Vec<Record> = Vec::new();
    let mut every =
        tokio::time::interval_at(tokio::time::Instant::now() + batching.every, batching.every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.notified() => break,
            received = receiver.recv() => match received {
                Some(record) => {
                    pending.push(record);
                    if pending.len() >= batching.max_batch {
                        write(&db, &mut pending).await;
                    }
                }
                // Every sender is gone: nothing more can come.
                None => break,
            },
            _ = every.tick() => {
                if !pending.is_empty() {
                    write(&db, &mut pending).await;
                }
            }
        }
    }
    receiver.close();
    while let Some(record) = receiver.recv().await {
        pending.push(record);
    }
    write(&db, &mut pending).await;
    if !pending.is_empty() {
        crate::metrics::records_dropped(pending.len() as u64);
        tracing::error!(
            records = pending.len(),
            "access records not written before the end"
        );
    }
}

/// Writes `pending` in batches; what fails stays in `pending` for the next try.
async fn write(db: &PgPool, pending: &mut Vec<Record>) {
    while !pending.is_empty() {
        let batch_len = pending.len().min(5_000);
        if let Err(e) = write_batch(db, &pending[..batch_len]).await {
            tracing::warn!(error = %e, records = pending.len(), "could not write access records; will retry");
            if pending.len() > MAX_PENDING {
                let excess = pending.len() - MAX_PENDING;
                pending.drain(..excess);
                crate::metrics::records_dropped(excess as u64);
            }
            return;
        }
        pending.drain(..batch_len);
    }
}

async fn write_batch(db: &PgPool, records: &[Record]) -> sqlx::Result<()> {
    let mut access = AccessColumns::default();
    let mut last_used: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for record in records {
        match record {
            Record::Access {
                account_id,
                feed_id,
                at,
                client,
                status,
                complete,
                items,
                bytes,
                duration_ms,
            } => {
                access.account_id.push(*account_id);
                access.feed_id.push(*feed_id);
                access.at.push(*at);
                access.client.push(client.to_string());
                access.status.push(*status);
                access.complete.push(*complete);
                access.items.push(*items);
                access.bytes.push(*bytes);
                access.duration_ms.push(*duration_ms);
            }
            Record::LastUsed { feed_id, at } => {
                let latest = last_used.entry(*feed_id).or_insert(*at);
                *latest = (*latest).max(*at);
            }
        }
    }
    let mut tx = db.begin().await?;
    if !access.feed_id.is_empty() {
        // A feed deleted meanwhile (with its account) takes its records with it.
        sqlx::query!(
            "insert into feed_access_log
                 (account_id, feed_id, dt, client_addr, status, complete, items, bytes, duration_ms)
             select r.account_id, r.feed_id, r.dt, r.client_addr::inet, r.status, r.complete,
                    r.items, r.bytes, r.duration_ms
               from unnest($1::int8[], $2::int8[], $3::timestamptz[], $4::text[], $5::int2[],
                           $6::bool[], $7::int8[], $8::int8[], $9::int4[])
                    as r(account_id, feed_id, dt, client_addr, status, complete, items, bytes,
                         duration_ms)
              where exists (select 1 from feeds f where f.id = r.feed_id)",
            &access.account_id,
            &access.feed_id,
            &access.at,
            &access.client,
            &access.status,
            &access.complete,
            &access.items,
            &access.bytes,
            &access.duration_ms,
        )
        .execute(&mut *tx)
        .await?;
    }
    if !last_used.is_empty() {
        let (ids, ats): (Vec<i64>, Vec<DateTime<Utc>>) = last_used.into_iter().unzip();
        sqlx::query!(
            "update feeds f set dt_last_used = u.at
               from unnest($1::int8[], $2::timestamptz[]) as u(feed_id, at)
              where f.id = u.feed_id
                and (f.dt_last_used is null or f.dt_last_used < u.at - interval '1 minute')",
            &ids,
            &ats,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

#[derive(Default)]
struct AccessColumns {
    account_id: Vec<i64>,
    feed_id: Vec<i64>,
    at: Vec<DateTime<Utc>>,
    client: Vec<String>,
    status: Vec<i16>,
    complete: Vec<bool>,
    items: Vec<i64>,
    bytes: Vec<i64>,
    duration_ms: Vec<i32>,
}
