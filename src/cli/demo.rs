//! `domofeed demo`: everything a first look needs, against the local PostgreSQL.

use sqlx::PgPool;

use crate::{
    accounts,
    admin::admins,
    config::Settings,
    db::{self, Purpose},
    links::{self, FeedKind, NewFeed, Owner, SecretKey},
    seed::{self, SeedOptions},
    Result,
};

/// Migrates, seeds a demo account when there is none, prints a deals and a units feed URL
/// (reused on later runs), says how to reach the settings page, and serves.
pub async fn run(settings: Settings) -> Result<()> {
    let cli_pool = db::connect(&settings, Purpose::Cli).await?;
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
            feed_url(&cli_pool, &settings, &key, account_id, kind).await?
        );
    }
    let login_url = format!(
        "{}/settings/login",
        settings.public_url.as_str().trim_end_matches('/')
    );
    if admins::list(&cli_pool, Some(account_id)).await?.is_empty() {
        eprintln!(
            "settings page: {login_url} (add an admin first, in another terminal: \
             domofeed admin add --account {account_id} --login admin)"
        );
    } else {
        eprintln!("settings page: {login_url}");
    }
    cli_pool.close().await;
    let pool = db::connect(&settings, Purpose::Server).await?;
    crate::http::serve(settings, pool).await
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
