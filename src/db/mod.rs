//! The database: connecting (and creating the database when missing) and migrations.

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
        let ms = settings.statement_timeout.as_millis().to_string();
        options = options.options([
            ("statement_timeout", ms.as_str()),
            ("idle_in_transaction_session_timeout", ms.as_str()),
        ]);
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

/// Applies the migrations that have not run yet.
pub async fn migrate(db: &PgPool) -> Result<()> {
    MIGRATOR.run(db).await?;
    Ok(())
}
