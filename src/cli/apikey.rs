//! `domofeed apikey …`: the keys a CRM writes with. Only a new key goes to stdout
//! (`key=$(domofeed apikey create --account 1)`), once; it is never shown again.

use clap::Subcommand;

use crate::{
    accounts::Owner,
    apikeys,
    config::Settings,
    db::{self, Purpose},
    names, Result,
};

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key and print it, once: only its SHA-256 is kept
    Create {
        /// Account the key may write to
        #[arg(long)]
        account: i64,
        /// Name shown in lists [default: «Ключ API»]
        #[arg(long)]
        name: Option<String>,
    },
    /// List API keys (never the keys themselves)
    List {
        /// Only this account's keys
        #[arg(long)]
        account: Option<i64>,
    },
    /// Revoke an API key for good: requests with it get 401 from now on
    Revoke { id: i64 },
}

pub async fn run(settings: Settings, command: ApiKeyCommand) -> Result<()> {
    let db = db::connect(&settings, Purpose::Cli).await?;
    db::migrate(&db).await?;
    match command {
        ApiKeyCommand::Create { account, name } => {
            let (key, secret) = apikeys::create(&db, account, name.as_deref()).await?;
            eprintln!(
                "created API key {} \"{}\" for account {}; it is shown only this once",
                key.id,
                names::shown(&key.name),
                key.account_id
            );
            println!("{}", secret.expose());
        }
        ApiKeyCommand::List { account } => {
            println!(
                "{:>6}  {:>7}  {:<7}  {:<19}  {:<19}  name",
                "id", "account", "state", "created (UTC)", "last used (UTC)"
            );
            for key in apikeys::list(&db, account).await? {
                println!(
                    "{:>6}  {:>7}  {:<7}  {:<19}  {:<19}  {}",
                    key.id,
                    key.account_id,
                    if key.is_active() { "active" } else { "revoked" },
                    key.dt_created.format("%Y-%m-%d %H:%M:%S"),
                    key.dt_last_used
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "never".into()),
                    names::shown(&key.name)
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            let key = apikeys::revoke(&db, Owner::Operator, id).await?;
            eprintln!(
                "API key {} of account {} revoked; requests with it get 401 from now on",
                key.id, key.account_id
            );
        }
    }
    Ok(())
}
