//! The database: connecting (and creating the database when missing), migrations, read replicas,
//! the server's own housekeeping (`prune`), and `demo`'s own PostgreSQL cluster (`cluster`).

pub mod cluster;
pub mod prune;
pub mod replicas;

use std::time::Duration;

use sqlx::{
    migrate::{MigrateDatabase, Migrator},
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool, Postgres,
};

use crate::{config::redact_url, config::Settings, Error, Result};

/// The migrations of `migrations/`, built into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// What a pool is for: the server caps every statement, the CLI (seed, migrate) does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Server,
    Cli,
}

/// Connects to `DATABASE_URL`, creating the database first when it does not exist.
pub async fn connect(settings: &Settings, purpose: Purpose) -> Result<PgPool> {
    let shown = redact_url(&settings.database_url);
    let unreachable = |e: sqlx::Error| {
        Error::Config(format!(
            "DATABASE_URL: cannot reach PostgreSQL at {shown}: {e} (is it running?)"
        ))
    };
    let url = settings.database_url.as_str();
    if !Postgres::database_exists(url).await.map_err(unreachable)? {
        Postgres::create_database(url).await.map_err(unreachable)?;
        tracing::info!(database = %shown, "created the database");
    }
    let mut options: PgConnectOptions = url.parse().map_err(unreachable)?;
    options = options.application_name("domofeed");
    if purpose == Purpose::Server {
        options = capped(options, settings);
    }
    let (max, acquire) = match purpose {
        Purpose::Server => (settings.pool_size, settings.acquire_timeout),
        Purpose::Cli => (4, Duration::from_secs(30)),
    };
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire)
        .connect_with(options)
        .await
        .map_err(unreachable)
}

/// Whether the PostgreSQL at `url` lets us in within `limit`: a refused connection, a password
/// it asks for, no answer in time are all a no.
pub async fn answers(url: &url::Url, limit: Duration) -> bool {
    match tokio::time::timeout(limit, Postgres::database_exists(url.as_str())).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::debug!(database = %redact_url(url), error = %e, "does not answer");
            false
        }
        Err(_) => {
            tracing::debug!(database = %redact_url(url), "no answer in time");
            false
        }
    }
}

/// A server session: every statement, and every idle transaction, is bounded.
fn capped(options: PgConnectOptions, settings: &Settings) -> PgConnectOptions {
    let ms = settings.statement_timeout.as_millis().to_string();
    options.options([
        ("statement_timeout", ms.as_str()),
        ("idle_in_transaction_session_timeout", ms.as_str()),
    ])
}

/// A pool on a read replica, opened lazily: a standby that is down when the server starts is
/// no reason not to start (feeds read from the primary until it is back).
pub fn connect_replica(settings: &Settings, url: &url::Url) -> Result<PgPool> {
    let options: PgConnectOptions = url.as_str().parse().map_err(|e| {
        Error::Config(format!(
            "DOMOFEED_READ_DATABASE_URL: {}: {e}",
            redact_url(url)
        ))
    })?;
    let options = capped(options.application_name("domofeed"), settings);
    Ok(PgPoolOptions::new()
        .max_connections(settings.pool_size)
        // A replica that does not answer soon is left for the next source, not waited for.
        .acquire_timeout(settings.acquire_timeout.min(replicas::ATTEMPT))
        .connect_lazy_with(options))
}

/// Applies the migrations that have not run yet.
pub async fn migrate(db: &PgPool) -> Result<()> {
    MIGRATOR.run(db).await?;
    Ok(())
}

/// Whether every migration this binary knows has been applied to `db`. (A runtime query: the
/// table is sqlx's bookkeeping, not part of the schema the macros check against.)
pub async fn is_migrated(db: &PgPool) -> Result<bool> {
    let applied: Option<i64> =
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(db)
            .await?;
    let expected = MIGRATOR.iter().map(|m| m.version).max();
    Ok(applied >= expected)
}
