//! The command line: `domofeed serve | migrate | seed | feed … | admin … | demo`.

mod admin;
mod feed;
mod healthcheck;

use std::path::PathBuf;

use chrono::{DateTime, SubsecRound, Utc};
use clap::{Parser, Subcommand};

use crate::{
    config::{RawSettings, Settings},
    db::{self, Purpose},
    seed::{self, SeedOptions},
    Error, Result,
};

#[derive(Debug, Parser)]
#[command(
    name = "domofeed",
    version,
    about = "Live JSON feeds of a developer's CRM for 1C"
)]
pub struct Cli {
    /// TOML settings file [default: config/domofeed.toml when present]
    #[arg(long, env = "DOMOFEED_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: RawSettings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the feeds over HTTP (migrations must have run)
    Serve,
    /// Create the database when missing and apply migrations
    Migrate,
    /// Add realistic, deterministic demo data (new accounts next to existing ones)
    Seed(SeedArgs),
    /// Create, show, list, rotate and revoke feed links
    #[command(subcommand)]
    Feed(feed::FeedCommand),
    /// Add, list and remove the admins who log in to the settings page
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Migrate, seed a demo account when there is none, print a deals and a units feed URL, serve
    Demo,
    /// Exit 0 when the server on DOMOFEED_BIND answers /readyz, else 1 (a container probe)
    Healthcheck,
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Random seed: the same seed and sizes on an empty database give the same data
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Accounts to create
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub accounts: u32,
    /// Units per account
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub units: u32,
    /// Average deals per unit, failed ones included
    #[arg(long, default_value_t = 2.0)]
    pub deals_per_unit: f64,
    /// Average payments (plan and fact) per deal
    #[arg(long, default_value_t = 5.0)]
    pub payments_per_deal: f64,
    /// The moment the data leads up to, RFC 3339 [default: now]
    #[arg(long)]
    pub now: Option<DateTime<Utc>>,
}

impl SeedArgs {
    fn options(&self) -> Result<SeedOptions> {
        for (name, value) in [
            ("--deals-per-unit", self.deals_per_unit),
            ("--payments-per-deal", self.payments_per_deal),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(Error::bad_request(
                    name,
                    format!("expected 0 to 100, got {value}"),
                ));
            }
        }
        Ok(SeedOptions {
            seed: self.seed,
            accounts: self.accounts,
            units: self.units,
            deals_per_unit: self.deals_per_unit,
            payments_per_deal: self.payments_per_deal,
            now: self.now.unwrap_or_else(|| Utc::now().trunc_subsecs(0)),
        })
    }
}

/// Runs one command to its end.
pub async fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(&cli.settings, cli.config.as_deref())?;
    tracing::debug!(?settings, "settings");
    match cli.command {
        Command::Serve => {
            let pool = db::connect(&settings, Purpose::Server).await?;
            crate::http::serve(settings, pool).await
        }
        Command::Migrate => {
            let pool = db::connect(&settings, Purpose::Cli).await?;
            db::migrate(&pool).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Seed(args) => {
            let options = args.options()?;
            let pool = db::connect(&settings, Purpose::Cli).await?;
            db::migrate(&pool).await?;
            let started = std::time::Instant::now();
            let report = seed::run(&pool, &options).await?;
            println!(
                "seeded accounts {:?}: {} units, {} deals, {} clients, {} participants, {} field values, {} param values, {} payments in {:.1} s",
                report.account_ids,
                report.units,
                report.deals,
                report.clients,
                report.participants,
                report.field_values,
                report.param_values,
                report.payments,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Feed(command) => feed::run(&settings, command).await,
        Command::Admin(command) => admin::run(&settings, command).await,
        Command::Demo => demo(settings).await,
        Command::Healthcheck => healthcheck::run(settings.bind).await,
    }
}

/// `domofeed demo`: everything a first look needs, against the local PostgreSQL.
async fn demo(settings: Settings) -> Result<()> {
    let cli_pool = db::connect(&settings, Purpose::Cli).await?;
    db::migrate(&cli_pool).await?;
    let has_accounts: bool = sqlx::query_scalar("select exists (select 1 from accounts)")
        .fetch_one(&cli_pool)
        .await?;
    if !has_accounts {
        eprintln!("seeding a demo account…");
        let options = SeedArgs {
            seed: 1,
            accounts: 1,
            units: 500,
            deals_per_unit: 2.0,
            payments_per_deal: 5.0,
            now: None,
        }
        .options()?;
        seed::run(&cli_pool, &options).await?;
    }
    let key = settings.secret_key()?;
    let account_id: i64 = sqlx::query_scalar("select min(id) from accounts")
        .fetch_one(&cli_pool)
        .await?;
    for kind in [crate::feeds::FeedKind::Deals, crate::feeds::FeedKind::Units] {
        let url = feed::demo_feed_url(&cli_pool, &settings, &key, account_id, kind).await?;
        println!("{url}");
    }
    let admins = crate::admin::admins::list(&cli_pool, Some(account_id)).await?;
    let login_url = format!(
        "{}/settings/login",
        settings.public_url.as_str().trim_end_matches('/')
    );
    if admins.is_empty() {
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
