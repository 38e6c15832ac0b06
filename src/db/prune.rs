//! Housekeeping the server does by itself, so that no operator has to add a cron job: tombstones
//! older than `DOMOFEED_TOMBSTONE_DAYS` are deleted (a client that has not synced for longer
//! than that needs a full load anyway).

use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;

use crate::Result;

/// How often the server prunes.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Deletes the tombstones older than `keep_days`; returns how many.
pub async fn tombstones(db: &PgPool, keep_days: u32) -> Result<u64> {
    let deleted = sqlx::query!(
        "delete from tombstones where dt_deleted < now() - make_interval(days => $1)",
        i32::try_from(keep_days).unwrap_or(i32::MAX),
    )
    .execute(db)
    .await?;
    Ok(deleted.rows_affected())
}

/// Prunes at once and then every [`EVERY`], on the primary, for as long as the server runs. A
/// failure is logged and retried at the next round.
pub fn spawn(db: PgPool, keep_days: u32) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match tombstones(&db, keep_days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tombstones = n, keep_days, "pruned old tombstones"),
                Err(e) => tracing::warn!(error = %e, "could not prune tombstones; will retry"),
            }
        }
    })
}
