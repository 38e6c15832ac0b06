//! What every handler can reach, and the background tasks that live as long as it does.

use std::sync::{atomic::AtomicBool, Arc};

use sqlx::PgPool;
use tokio::task::JoinHandle;

use super::Limits;
use crate::{
    admin::passwords::PasswordChecks,
    config::Settings,
    db::{prune, replicas::Reads},
    links::{
        recorder::{self, Batching, Recorder, RecorderTask},
        SecretKey,
    },
    Result,
};

/// Nothing here outlives a request but caches that are safe to lose (the per-feed rate limiter):
/// any number of instances can serve the same feeds.
#[derive(Clone)]
pub struct AppState {
    /// The primary: everything that writes.
    pub db: PgPool,
    /// Where feeds read from: a healthy replica, else the primary.
    pub reads: Reads,
    /// Feed access records, written to the primary in the background.
    pub recorder: Recorder,
    pub settings: Arc<Settings>,
    /// The key that seals feed tokens, for the settings page; `None` when it could not be loaded
    /// (the feeds do not need it: the page then lists links without showing them).
    pub key: Option<SecretKey>,
    pub limits: Limits,
    /// Slots for login password checks (`DOMOFEED_MAX_PASSWORD_CHECKS`).
    pub password_checks: PasswordChecks,
    /// Set once shutdown has begun: `/readyz` then says not ready.
    pub draining: Arc<AtomicBool>,
}

/// The state with its background tasks running: the access-record writer, the replica checks
/// and the pruning of old tombstones. `http::serve_on` stops them when the server ends, the writer after it has written
/// what it holds.
pub struct App {
    pub state: AppState,
    recorder: RecorderTask,
    replica_checks: Option<JoinHandle<()>>,
    pruning: JoinHandle<()>,
}

impl App {
    /// Starts the background tasks; the replicas are checked once before this returns, so feeds
    /// start on the replicas that are healthy now rather than after the first periodic check.
    pub async fn start(db: PgPool, settings: Settings) -> Result<App> {
        let reads = Reads::new(db.clone(), &settings)?;
        reads.check_all().await;
        let replica_checks = reads.spawn_checks();
        let pruning = prune::spawn(db.clone(), settings.tombstone_days);
        let (recorder, task) = recorder::start(db.clone(), Batching::default());
        let key = settings
            .secret_key()
            .map_err(|e| tracing::warn!(error = %e, "the settings page cannot show or make links"))
            .ok();
        let state = AppState {
            key,
            limits: Limits::new(&settings),
            password_checks: PasswordChecks::new(settings.max_password_checks),
            db,
            reads,
            recorder,
            settings: Arc::new(settings),
            draining: Arc::new(AtomicBool::new(false)),
        };
        Ok(App {
            state,
            recorder: task,
            replica_checks,
            pruning,
        })
    }

    /// Stops the replica checks and the pruning, and writes the access records still waiting.
    pub(super) async fn stop(self) {
        if let Some(checks) = self.replica_checks {
            checks.abort();
        }
        self.pruning.abort();
        drop(self.state);
        self.recorder.close().await;
    }
}
