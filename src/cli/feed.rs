//! `domofeed feed …`: feed links from the command line. Only a URL goes to stdout, so that
//! `url=$(domofeed feed create …)` works; everything else goes to stderr.

use clap::Subcommand;
use sqlx::PgPool;

use crate::{
    admin::{self, NewFeed, SecretKey},
    config::Settings,
    db::{self, Purpose},
    feeds::{filter::parse_id_list, FeedKind},
    Result,
};

#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Create a feed link and print its URL
    Create {
        /// Account the feed serves
        #[arg(long)]
        account: i64,
        /// deals ("Полный от сделок") or units ("Полный от помещений")
        #[arg(long, value_enum)]
        kind: FeedKind,
        /// Name shown in settings [default: the kind's name]
        #[arg(long)]
        name: Option<String>,
        /// Limit to these houses, ids joined by "-" (e.g. 1-2-3) [default: all houses]
        #[arg(long, value_parser = parse_houses)]
        houses: Option<HouseIds>,
    },
    /// Print the URL of a feed again
    Show { id: i64 },
    /// List feeds (never their tokens)
    List {
        /// Only this account's feeds
        #[arg(long)]
        account: Option<i64>,
    },
    /// Give a feed a new token and print the new URL; the old URL stops working
    Rotate { id: i64 },
    /// Revoke a feed: its URL answers 404 from now on
    Revoke { id: i64 },
}

/// `--houses 1-2-3`, parsed as the feeds parse id lists.
#[derive(Debug, Clone)]
pub struct HouseIds(Vec<i64>);

fn parse_houses(text: &str) -> Result<HouseIds, String> {
    parse_id_list(text).map(HouseIds)
}

pub async fn run(settings: &Settings, command: FeedCommand) -> Result<()> {
    let db = db::connect(settings, Purpose::Cli).await?;
    match command {
        FeedCommand::Create {
            account,
            kind,
            name,
            houses,
        } => {
            let key = settings.secret_key()?;
            let new = NewFeed {
                account_id: account,
                kind,
                name,
                house_ids: houses.map(|h| h.0).unwrap_or_default(),
            };
            let (id, token) = admin::create(&db, &key, new).await?;
            eprintln!("created feed {id}");
            println!("{}", admin::feed_url(&settings.public_url, id, &token));
        }
        FeedCommand::Show { id } => {
            let token = admin::reveal(&db, &settings.secret_key()?, id).await?;
            println!("{}", admin::feed_url(&settings.public_url, id, &token));
        }
        FeedCommand::List { account } => {
            let feeds = admin::list(&db, account).await?;
            println!(
                "{:>6}  {:>7}  {:<5}  {:<10}  {:<19}  {:<19}  name",
                "id", "account", "kind", "state", "created", "last used"
            );
            for feed in feeds {
                let houses = if feed.house_ids.is_empty() {
                    String::new()
                } else {
                    let ids: Vec<String> = feed.house_ids.iter().map(i64::to_string).collect();
                    format!(" (houses {})", ids.join("-"))
                };
                println!(
                    "{:>6}  {:>7}  {:<5}  {:<10}  {:<19}  {:<19}  {}{houses}",
                    feed.id,
                    feed.account_id,
                    feed.kind.as_str(),
                    if feed.dt_revoked.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    feed.dt_created.format("%Y-%m-%d %H:%M:%S"),
                    feed.dt_last_used
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "never".into()),
                    feed.name,
                );
            }
        }
        FeedCommand::Rotate { id } => {
            let token = admin::rotate(&db, &settings.secret_key()?, id).await?;
            eprintln!("feed {id} has a new token; the old URL no longer works");
            println!("{}", admin::feed_url(&settings.public_url, id, &token));
        }
        FeedCommand::Revoke { id } => {
            admin::revoke(&db, id).await?;
            eprintln!("feed {id} revoked; its URL answers 404 from now on");
        }
    }
    Ok(())
}

/// The URL of the account's first active feed of `kind`, created when there is none (or when its
/// link was sealed with a key this server no longer has), so repeated `demo` runs reuse their feeds.
pub async fn demo_feed_url(
    db: &PgPool,
    settings: &Settings,
    key: &SecretKey,
    account_id: i64,
    kind: FeedKind,
) -> Result<String> {
    let existing = admin::list(db, Some(account_id)).await?;
    for feed in existing
        .iter()
        .filter(|f| f.kind == kind && f.dt_revoked.is_none() && f.house_ids.is_empty())
    {
        if let Ok(token) = admin::reveal(db, key, feed.id).await {
            return Ok(admin::feed_url(&settings.public_url, feed.id, &token));
        }
    }
    let new = NewFeed {
        account_id,
        kind,
        name: None,
        house_ids: Vec::new(),
    };
    let (id, token) = admin::create(db, key, new).await?;
    Ok(admin::feed_url(&settings.public_url, id, &token))
}
