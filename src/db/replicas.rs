//! Where feed requests read from: PostgreSQL hot standbys (`DOMOFEED_READ_DATABASE_URL`), with the
//! primary (`DATABASE_URL`) as the fallback.
//!
//! Why: a feed is a long read of a consistent snapshot, and many 1C servers polling every minute
//! make that the whole load of the database. Streaming replicas take it off the primary; the
//! primary keeps only the small writes (last use, access log, admin). A feed must never fail
//! because a replica did: a replica that is down, or further behind than
//! `DOMOFEED_MAX_REPLICA_LAG`, is left until it is back, and a request whose replica fails
//! before its response starts is retried on the next source. So the worst a replica can do is
//! send its share of the feeds to the primary.
//!
//! A background task checks every replica every [`CHECK_EVERY`]. The lag is
//! `now() - pg_last_xact_replay_timestamp()`, except that a standby which has replayed all it
//! received while its WAL receiver runs is caught up: on an idle primary the replay timestamp
//! stops moving and would otherwise look like a growing lag.

use std::{
    fmt,
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use sqlx::PgPool;

use crate::{config::Settings, Error, Result};

/// How often each replica is checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long one attempt on a replica (a check, a feed's lookup or snapshot) may wait for it.
pub const ATTEMPT: Duration = Duration::from_millis(1500);

/// The sources of feed reads, cheap to clone.
#[derive(Clone)]
pub struct Reads {
    inner: Arc<Inner>,
}

struct Inner {
    primary: PgPool,
    replicas: Vec<Replica>,
    max_lag: Duration,
    /// Round robin over the healthy replicas.
    next: AtomicUsize,
}

struct Replica {
    pool: PgPool,
    healthy: AtomicBool,
}

/// Which database served a read: the primary, or replica `n` (1-based, in the order of
/// `DOMOFEED_READ_DATABASE_URL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Primary,
    Replica(usize),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Primary => f.write_str("primary"),
            Source::Replica(n) => write!(f, "replica {n}"),
        }
    }
}

impl Reads {
    /// Feeds read from the primary only.
    pub fn primary_only(primary: PgPool) -> Reads {
        Reads {
            inner: Arc::new(Inner {
                primary,
                replicas: Vec::new(),
                max_lag: Duration::from_secs(30),
                next: AtomicUsize::new(0),
            }),
        }
    }

    /// The replicas of `settings` (opened lazily), all left aside until their first check says
    /// they are healthy: until then feeds read from the primary.
    pub fn new(primary: PgPool, settings: &Settings) -> Result<Reads> {
        let replicas = settings
            .read_database_urls
            .iter()
            .map(|url| {
                Ok(Replica {
                    pool: super::connect_replica(settings, url)?,
                    healthy: AtomicBool::new(false),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Reads {
            inner: Arc::new(Inner {
                primary,
                replicas,
                max_lag: settings.max_replica_lag,
                next: AtomicUsize::new(0),
            }),
        })
    }

    /// The next healthy replica (round robin), else the primary.
    pub fn pick(&self) -> (Source, PgPool) {
        let replicas = &self.inner.replicas;
        if !replicas.is_empty() {
            let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
            for k in 0..replicas.len() {
                let i = (start + k) % replicas.len();
                if replicas[i].healthy.load(Ordering::Relaxed) {
                    return (Source::Replica(i + 1), replicas[i].pool.clone());
                }
            }
        }
        (Source::Primary, self.inner.primary.clone())
    }

    /// What feeds read from now: `replica 1`, `replicas 1, 2`, or `primary`.
    pub fn in_use(&self) -> String {
        let healthy: Vec<String> = self
            .inner
            .replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| r.healthy.load(Ordering::Relaxed))
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        match healthy.len() {
            0 => "primary".into(),
            1 => format!("replica {}", healthy[0]),
            _ => format!("replicas {}", healthy.join(", ")),
        }
    }

    /// Runs `read` on the chosen source. A replica that fails (a database error, or no answer
    /// within [`ATTEMPT`]) is left aside until its next good check and the read is retried on
    /// the next source; the primary's answer, whatever it is, is final.
    pub async fn read<T, F, Fut>(&self, mut read: F) -> Result<T>
    where
        F: FnMut(PgPool) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        loop {
            let (source, pool) = self.pick();
            let Source::Replica(n) = source else {
                return read(pool).await;
            };
            let reason = match tokio::time::timeout(ATTEMPT, read(pool)).await {
                Ok(Err(Error::Database(e))) => e.to_string(),
                Ok(answer) => return answer,
                Err(_) => format!("no answer within {} ms", ATTEMPT.as_millis()),
            };
            self.set_health(n, Err(reason));
        }
    }

    /// Checks every replica at once and records which are healthy.
    pub async fn check_all(&self) {
        let checks = self.inner.replicas.iter().enumerate().map(|(i, replica)| {
            let max_lag = self.inner.max_lag;
            async move { (i + 1, check(&replica.pool, max_lag).await) }
        });
        for (n, verdict) in futures::future::join_all(checks).await {
            self.set_health(n, verdict);
        }
    }

    /// Checks the replicas every [`CHECK_EVERY`] for as long as the server runs (nothing to do
    /// without replicas).
    pub fn spawn_checks(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.inner.replicas.is_empty() {
            return None;
        }
        let reads = self.clone();
        Some(tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECK_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                reads.check_all().await;
            }
        }))
    }

    /// Records a replica's state, logging only the changes.
    fn set_health(&self, n: usize, verdict: std::result::Result<(), String>) {
        let Some(replica) = self.inner.replicas.get(n - 1) else {
            return;
        };
        let healthy = verdict.is_ok();
        if replica.healthy.swap(healthy, Ordering::Relaxed) != healthy {
            match verdict {
                Ok(()) => tracing::info!(replica = n, "feeds read from the replica again"),
                Err(reason) => {
                    tracing::warn!(replica = n, %reason, "replica left aside; feeds read elsewhere")
                }
            }
        }
    }
}

/// `Ok` when the replica answers within [`ATTEMPT`] and lags at most `max_lag`.
async fn check(pool: &PgPool, max_lag: Duration) -> std::result::Result<(), String> {
    // Not in recovery: a promoted standby (or a primary named as a replica) is never behind.
    let lag = tokio::time::timeout(
        ATTEMPT,
        sqlx::query_scalar!(
            r#"select case
                        when not pg_is_in_recovery() then 0
                        when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                             and exists (select 1 from pg_stat_wal_receiver) then 0
                        else extract(epoch from now() - pg_last_xact_replay_timestamp())
                      end::float8 as "lag_seconds""#
        )
        .fetch_one(pool),
    )
    .await;
    match lag {
        Err(_) => Err(format!("no answer within {} ms", ATTEMPT.as_millis())),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(None)) => Err("has replayed nothing yet".into()),
        Ok(Ok(Some(seconds))) if seconds > max_lag.as_secs_f64() => Err(format!(
            "lags {seconds:.0} s behind the primary (DOMOFEED_MAX_REPLICA_LAG is {} s)",
            max_lag.as_secs()
        )),
        Ok(Ok(Some(_))) => Ok(()),
    }
}
