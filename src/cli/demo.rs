//! `domofeed demo`: everything a first look needs, against the local PostgreSQL, or against a
//! cluster of its own when there is none to use (`db::cluster`).

use std::time::Duration;

use sqlx::PgPool;

use crate::{
    accounts,
    admin::admins,
    config::{redact_url, Settings},
    db::{self, cluster::PrivateCluster, Purpose},
    links::{self, FeedKind, NewFeed, Owner, SecretKey},
    seed::{self, SeedOptions},
    Result,
};

/// How long the default database may take to answer before `demo` brings its own.
const DEFAULT_ANSWER: Duration = Duration::from_secs(2);

/// Starts its own PostgreSQL when asked to (`private_db`), or when `DATABASE_URL` was not given
/// and the default does not answer; then migrates, seeds a demo account when there is none,
/// prints a deals and a units feed URL (reused on later runs), says how to reach the settings
/// page, and serves. Its own PostgreSQL stops when `demo` does, however it ends.
pub async fn run(mut settings: Settings, private_db: bool) -> Result<()> {
    let cluster = own_database(&settings, private_db).await?;
    if let Some(cluster) = &cluster {
        settings.database_url = cluster.url("domofeed")?;
        eprintln!(
            "своя база PostgreSQL: {}, порт {} ({}; остановится вместе с demo, данные останутся)",
            cluster.dir().display(),
            cluster.port(),
            if cluster.created() {
                "новая"
            } else {
                "прежняя"
            }
        );
    }
    // Ctrl-C or SIGTERM while seeding ends the run here, so that the cluster is stopped too.
    let prepared = tokio::select! {
        prepared = prepare(&settings, cluster.as_ref()) => Some(prepared),
        () = crate::http::shutdown_signal() => None,
    };
    let served = match prepared {
        Some(Ok(pool)) => crate::http::serve(settings, pool).await,
        Some(Err(e)) => Err(e),
        None => {
            tracing::info!("stopped before serving");
            Ok(())
        }
    };
    let stopped = match cluster {
        Some(cluster) => cluster.stop().await,
        None => Ok(()),
    };
    served.and(stopped)
}

/// The private cluster, when `demo` is to use one.
async fn own_database(settings: &Settings, private_db: bool) -> Result<Option<PrivateCluster>> {
    if !private_db {
        if settings.database_url_given {
            return Ok(None);
        }
        if db::answers(&settings.database_url, DEFAULT_ANSWER).await {
            return Ok(None);
        }
        tracing::debug!(
            database = %redact_url(&settings.database_url),
            "the default database does not answer: demo brings its own"
        );
    }
    PrivateCluster::start(settings).await.map(Some)
}

/// Migrates, seeds when there is no account, prints the feed URLs and the hints; the server's
/// pool.
async fn prepare(settings: &Settings, cluster: Option<&PrivateCluster>) -> Result<PgPool> {
    let cli_pool = db::connect(settings, Purpose::Cli).await?;
    db::migrate(&cli_pool).await?;
    let account_id = match accounts::first(&cli_pool).await? {
        Some(id) => id,
        None => {
            eprintln!("seeding a demo account…");
            let options = SeedOptions {
                seed: 1,
                accounts: 1,
                units: 500,
                deals_per_unit: 2.0,
                payments_per_deal: 5.0,
                now: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0),
            };
            let report = seed::run(&cli_pool, &options).await?;
            report.account_ids[0]
        }
    };
    let key = settings.secret_key()?;
    for kind in [FeedKind::Deals, FeedKind::Units] {
        println!(
            "{}",
            feed_url(&cli_pool, settings, &key, account_id, kind).await?
        );
    }
    let login_url = format!(
        "{}/settings/login",
        settings.public_url.as_str().trim_end_matches('/')
    );
    // Other commands reach the private cluster only through its URL.
    let database = match cluster {
        Some(_) => format!("DATABASE_URL={} ", settings.database_url),
        None => String::new(),
    };
    if admins::list(&cli_pool, Some(account_id)).await?.is_empty() {
        eprintln!(
            "settings page: {login_url} (add an admin first, in another terminal: \
             {database}domofeed admin add --account {account_id} --login admin)"
        );
    } else {
        eprintln!("settings page: {login_url}");
    }
    if let Some(cluster) = cluster {
        eprintln!(
            "tests on this PostgreSQL, while demo runs: DATABASE_URL={} cargo test",
            cluster.url("postgres")?
        );
    }
    cli_pool.close().await;
    db::connect(settings, Purpose::Server).await
}

/// The URL of the account's first active all-houses feed of `kind`, created when there is none
/// (or when its link was sealed with a key this server no longer has), so repeated runs reuse
/// their feeds.
async fn feed_url(
    db: &PgPool,
    settings: &Settings,
    key: &SecretKey,
    account_id: i64,
    kind: FeedKind,
) -> Result<String> {
    let existing = links::list(db, Some(account_id)).await?;
    for feed in existing
        .iter()
        .filter(|f| f.kind == kind && f.is_active() && f.house_ids.is_empty())
    {
        if let Ok(token) = links::reveal(db, key, Owner::Account(account_id), feed.id).await {
            return Ok(links::feed_url(&settings.public_url, feed.id, &token));
        }
    }
    let new = NewFeed {
        account_id,
        kind,
        name: None,
        house_ids: Vec::new(),
        allowed_networks: Vec::new(),
    };
    let (feed, token) = links::create(db, key, new).await?;
    Ok(links::feed_url(&settings.public_url, feed.id, &token))
}
