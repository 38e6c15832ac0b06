//! `domofeed account …`: the developers this server serves, each with its time zone. Only the
//! id of a new account goes to stdout (`id=$(domofeed account create --name …)`); the rest to
//! stderr.

use chrono::Utc;
use clap::Subcommand;

use crate::{
    accounts::{self, AccountChange, Owner, Zone},
    config::Settings,
    db::{self, Purpose},
    names, Error, Result,
};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account and print its id
    Create {
        /// The developer's name, shown in the settings page
        #[arg(long)]
        name: String,
        /// IANA time zone the feeds show dates in, e.g. Asia/Yekaterinburg [default: Europe/Moscow]
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
    },
    /// List accounts: id, time zone and its offset now, created, name
    List,
    /// Rename an account or move it to another time zone (every feed shows the new zone at once)
    Set {
        /// The account's id
        id: i64,
        /// A new name
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone, e.g. Asia/Yekaterinburg
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
    },
}

pub async fn run(settings: Settings, command: AccountCommand) -> Result<()> {
    let db = db::connect(&settings, Purpose::Cli).await?;
    db::migrate(&db).await?;
    match command {
        AccountCommand::Create { name, timezone } => {
            let zone = match timezone {
                Some(text) => Zone::parse(&db, "--timezone", &text).await?,
                None => Zone::parse(&db, "--timezone", accounts::DEFAULT_ZONE.name()).await?,
            };
            let account = accounts::create(&db, &name, zone).await?;
            eprintln!(
                "created account {} \"{}\" in {}",
                account.id,
                names::shown(&account.name),
                account.timezone
            );
            println!("{}", account.id);
        }
        AccountCommand::List => {
            let now = Utc::now();
            println!(
                "{:>6}  {:<32}  {:<9}  {:<19}  name",
                "id", "time zone", "offset", "created (UTC)"
            );
            for account in accounts::list(&db).await? {
                let offset = account
                    .tz()
                    .map(|tz| accounts::utc_offset_text(accounts::utc_offset_minutes(tz, now)))
                    .unwrap_or_else(|| "unknown".into());
                println!(
                    "{:>6}  {:<32}  {:<9}  {:<19}  {}",
                    account.id,
                    names::shown(&account.timezone),
                    offset,
                    account.dt_created.format("%Y-%m-%d %H:%M:%S"),
                    names::shown(&account.name)
                );
            }
        }
        AccountCommand::Set { id, name, timezone } => {
            if name.is_none() && timezone.is_none() {
                return Err(Error::bad_request(
                    "account set",
                    "nothing to change: give --name and/or --timezone",
                ));
            }
            let zone = match timezone {
                Some(text) => Some(Zone::parse(&db, "--timezone", &text).await?),
                None => None,
            };
            let change = AccountChange {
                name: name.as_deref(),
                zone,
            };
            let changed = accounts::set(&db, Owner::Operator, id, change).await?;
            let account = &changed.account;
            if name.is_some() {
                eprintln!(
                    "account {id} is now named \"{}\"",
                    names::shown(&account.name)
                );
            }
            if zone.is_some() {
                let now = Utc::now();
                match changed.shift_minutes(now) {
                    Some(0) => eprintln!(
                        "account {id}: time zone {} → {}; the feeds' dates do not move",
                        changed.previous_timezone, account.timezone
                    ),
                    None => eprintln!(
                        "account {id}: time zone {} → {}: the feeds show their dt_* in it from \
                         the next request on; have 1C reload them in full",
                        names::shown(&changed.previous_timezone),
                        account.timezone
                    ),
                    Some(shift) => eprintln!(
                        "account {id}: time zone {} → {}: every dt_* of its feeds moves by {} h \
                         from the next request on; have 1C reload them in full",
                        changed.previous_timezone,
                        account.timezone,
                        hours(shift)
                    ),
                }
            }
        }
    }
    Ok(())
}

/// `+2`, `-1.5`: a shift in hours for the terminal.
fn hours(minutes: i32) -> String {
    let sign = if minutes > 0 { "+" } else { "" };
    if minutes % 60 == 0 {
        format!("{sign}{}", minutes / 60)
    } else {
        format!("{sign}{}", f64::from(minutes) / 60.0)
    }
}
