//! `domofeed feed …`: feed links from the command line. Only a URL goes to stdout, so that
//! `url=$(domofeed feed create …)` works; everything else goes to stderr.

use clap::Subcommand;

use crate::{
    config::{LinkArgs, Settings},
    db::{self, Purpose},
    feeds::filter::parse_id_list,
    links::{self, FeedKind, NewFeed, Owner},
    names, Result,
};

/// `domofeed feed …`: the settings that printing a link needs, and what to do.
#[derive(Debug, clap::Args)]
pub struct FeedArgs {
    #[command(flatten)]
    pub link: LinkArgs,
    #[command(subcommand)]
    pub command: FeedCommand,
}

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
        /// Only clients from these networks may read it, CIDRs joined by commas [default: any]
        #[arg(long, value_parser = parse_allow)]
        allow: Option<Networks>,
    },
    /// Limit a feed to clients from these networks ("" allows any address again)
    Allow {
        id: i64,
        /// CIDRs or addresses joined by commas, e.g. 10.0.0.0/8,203.0.113.7
        #[arg(value_parser = parse_allow)]
        networks: Networks,
    },
    /// Show a feed's access log: time, client address, status, items, bytes, duration
    Log {
        id: i64,
        /// How many of the newest requests
        #[arg(long, default_value_t = 50)]
        limit: i64,
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

/// `--allow 10.0.0.0/8,203.0.113.7`.
#[derive(Debug, Clone)]
pub struct Networks(Vec<ipnet::IpNet>);

fn parse_allow(text: &str) -> Result<Networks, String> {
    crate::config::parse_networks("--allow", text)
        .map(Networks)
        .map_err(|e| e.to_string())
}

/// `--houses 1-2-3`, parsed as the feeds parse id lists.
#[derive(Debug, Clone)]
pub struct HouseIds(Vec<i64>);

fn parse_houses(text: &str) -> Result<HouseIds, String> {
    parse_id_list(text).map(HouseIds)
}

pub async fn run(settings: Settings, command: FeedCommand) -> Result<()> {
    let db = db::connect(&settings, Purpose::Cli).await?;
    let url = |id: i64, token: &links::Token| links::feed_url(&settings.public_url, id, token);
    match command {
        FeedCommand::Create {
            account,
            kind,
            name,
            houses,
            allow,
        } => {
            let new = NewFeed {
                account_id: account,
                kind,
                name,
                house_ids: houses.map(|h| h.0).unwrap_or_default(),
                allowed_networks: allow.map(|n| n.0).unwrap_or_default(),
            };
            let (feed, token) = links::create(&db, &settings.secret_key()?, new).await?;
            eprintln!("created feed {}", feed.id);
            println!("{}", url(feed.id, &token));
        }
        FeedCommand::Show { id } => {
            let token = links::reveal(&db, &settings.secret_key()?, Owner::Operator, id).await?;
            println!("{}", url(id, &token));
        }
        FeedCommand::List { account } => {
            println!(
                "{:>6}  {:>7}  {:<5}  {:<10}  {:<19}  {:<19}  name",
                "id", "account", "kind", "state", "created", "last used"
            );
            for feed in links::list(&db, account).await? {
                let mut notes = String::new();
                if !feed.house_ids.is_empty() {
                    let ids: Vec<String> = feed.house_ids.iter().map(i64::to_string).collect();
                    notes.push_str(&format!(" (houses {})", ids.join("-")));
                }
                // Names are printed with control and bidi characters escaped: a name stored
                // before they were refused cannot rewrite the operator's terminal.
                if !feed.allowed_networks.is_empty() {
                    notes.push_str(&format!(" (from {})", feed.allowed_networks.join(", ")));
                }
                println!(
                    "{:>6}  {:>7}  {:<5}  {:<10}  {:<19}  {:<19}  {}{notes}",
                    feed.id,
                    feed.account_id,
                    feed.kind.as_str(),
                    if feed.is_active() {
                        "active"
                    } else {
                        "revoked"
                    },
                    feed.dt_created.format("%Y-%m-%d %H:%M:%S"),
                    feed.dt_last_used
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "never".into()),
                    names::shown(&feed.name),
                );
            }
        }
        FeedCommand::Rotate { id } => {
            let (_, token) =
                links::rotate(&db, &settings.secret_key()?, Owner::Operator, id).await?;
            eprintln!("feed {id} has a new token; the old URL no longer works");
            println!("{}", url(id, &token));
        }
        FeedCommand::Allow {
            id,
            networks: Networks(networks),
        } => {
            links::set_allowed_networks(&db, Owner::Operator, id, &networks).await?;
            if networks.is_empty() {
                eprintln!("feed {id} may be read from any address");
            } else {
                let shown: Vec<String> = networks.iter().map(ToString::to_string).collect();
                eprintln!("feed {id} may be read from {} only", shown.join(", "));
            }
        }
        FeedCommand::Log { id, limit } => {
            println!(
                "{:<19}  {:<39}  {:>6}  {:>8}  {:>8}  {:>12}  {:>8}",
                "time (UTC)", "client", "status", "complete", "items", "bytes", "ms"
            );
            for entry in links::access_log(&db, Owner::Operator, id, limit).await? {
                println!(
                    "{:<19}  {:<39}  {:>6}  {:>8}  {:>8}  {:>12}  {:>8}",
                    entry.dt.format("%Y-%m-%d %H:%M:%S"),
                    entry.client_addr,
                    entry.status,
                    if entry.complete { "yes" } else { "CUT" },
                    entry.items,
                    entry.bytes,
                    entry.duration_ms
                );
            }
        }
        FeedCommand::Revoke { id } => {
            links::revoke(&db, Owner::Operator, id).await?;
            eprintln!("feed {id} revoked; its URL answers 404 from now on");
        }
    }
    Ok(())
}
