//! The command line: `domofeed serve | migrate | seed | account … | feed … | admin … | apikey … |
//! demo | healthcheck`.
//!
//! Each command takes the settings it uses and no others: the database URL and the config file
//! are everyone's; the server's settings belong to `serve` and `demo`; the secret key to the
//! commands that make or show links.

mod account;
mod admin;
mod apikey;
mod demo;
mod feed;
mod healthcheck;
mod import;

use std::path::PathBuf;

use chrono::{DateTime, SubsecRound, Utc};
use clap::{Parser, Subcommand};

use crate::{
    config::{BindArgs, ClusterArgs, DatabaseArgs, LinkArgs, RawSettings, ServerArgs, Settings},
    db::{self, Purpose},
    seed::{self, SeedOptions, MAX_ACCOUNTS, MAX_UNITS},
    Result,
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
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the feeds over HTTP (migrations must have run)
    Serve(ServeArgs),
    /// Create the database when missing and apply migrations
    Migrate,
    /// Add realistic, deterministic demo data (new accounts next to existing ones)
    Seed(SeedArgs),
    /// Create, list and change accounts (a developer each, with its time zone)
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Create, show, list, rotate and revoke feed links
    Feed(feed::FeedArgs),
    /// Add, list and remove the admins who log in to the settings page
    Admin(admin::AdminArgs),
    /// Create, list and revoke the API keys a CRM writes with
    #[command(subcommand)]
    Apikey(apikey::ApiKeyCommand),
    /// Migrate, seed a demo account when there is none, print a deals and a units feed URL, serve;
    /// on a PostgreSQL cluster of its own when DATABASE_URL is not set and the default does not answer
    Demo(DemoArgs),
    /// Exit 0 when the server on DOMOFEED_BIND answers /readyz, else 1 (a container probe)
    Healthcheck(BindArgs),
    /// Load feed bodies (files in the feeds' own format) into an account, keeping ids and times
    Import(import::ImportArgs),
}

/// Everything the server reads: where it listens, the links it shows, its limits.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub link: LinkArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

impl ServeArgs {
    fn onto(&self, raw: RawSettings) -> RawSettings {
        self.server.onto(self.link.onto(raw))
    }
}

/// The server's settings, and the database `demo` brings when there is none to use.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Run on demo's own PostgreSQL cluster, even when the default database answers or DATABASE_URL is set
    #[arg(long)]
    pub private_db: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Random seed: the same seed and sizes on an empty database give the same data
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Accounts to create
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ACCOUNTS)))]
    pub accounts: u32,
    /// Units per account
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_UNITS)))]
    pub units: u32,
    /// Average deals per unit, failed ones included (0 to 100)
    #[arg(long, default_value_t = 2.0)]
    pub deals_per_unit: f64,
    /// Average payments (plan and fact) per deal (0 to 100)
    #[arg(long, default_value_t = 5.0)]
    pub payments_per_deal: f64,
    /// The moment the data leads up to, RFC 3339 [default: now]
    #[arg(long)]
    pub now: Option<DateTime<Utc>>,
}

impl SeedArgs {
    fn options(&self) -> SeedOptions {
        SeedOptions {
            seed: self.seed,
            accounts: self.accounts,
            units: self.units,
            deals_per_unit: self.deals_per_unit,
            payments_per_deal: self.payments_per_deal,
            now: self.now.unwrap_or_else(|| Utc::now().trunc_subsecs(0)),
        }
    }
}

/// Runs one command to its end.
pub async fn run(cli: Cli) -> Result<()> {
    let config = cli.config.as_deref();
    let database = &cli.database;
    let settings = |more: &dyn Fn(RawSettings) -> RawSettings| {
        Settings::load(config, |file| more(database.onto(file)))
    };
    match cli.command {
        Command::Serve(args) => {
            let settings = settings(&|raw| args.onto(raw))?;
            let pool = db::connect(&settings, Purpose::Server).await?;
            crate::http::serve(settings, pool).await
        }
        Command::Migrate => {
            let pool = db::connect(&settings(&|raw| raw)?, Purpose::Cli).await?;
            db::migrate(&pool).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Seed(args) => {
            let pool = db::connect(&settings(&|raw| raw)?, Purpose::Cli).await?;
            db::migrate(&pool).await?;
            let started = std::time::Instant::now();
            let report = seed::run(&pool, &args.options()).await?;
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
        Command::Account(command) => account::run(settings(&|raw| raw)?, command).await,
        Command::Apikey(command) => apikey::run(settings(&|raw| raw)?, command).await,
        Command::Feed(args) => feed::run(settings(&|raw| args.link.onto(raw))?, args.command).await,
        Command::Admin(args) => admin::run(settings(&|raw| args.onto(raw))?, args.command).await,
        Command::Demo(args) => {
            let settings = settings(&|raw| args.cluster.onto(args.serve.onto(raw)))?;
            demo::run(settings, args.private_db).await
        }
        Command::Import(args) => import::run(settings(&|raw| raw)?, args).await,
        Command::Healthcheck(bind) => healthcheck::run(settings(&|raw| bind.onto(raw))?.bind).await,
    }
}
