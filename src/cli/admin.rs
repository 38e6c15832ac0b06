//! `domofeed admin …`: who may log in to the settings page.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;

use crate::{
    admin::admins,
    config::{BindArgs, PublicUrlArgs, RawSettings, Settings},
    db::{self, Purpose},
    names, Error, Result,
};

/// `domofeed admin …`: the settings that printing the login URL needs, and what to do.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub bind: BindArgs,
    #[command(flatten)]
    pub public_url: PublicUrlArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

impl AdminArgs {
    pub fn onto(&self, raw: RawSettings) -> RawSettings {
        self.public_url.onto(self.bind.onto(raw))
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add an admin to an account; the password is read from stdin, or asked for on a terminal
    Add {
        /// Account whose feeds the admin manages
        #[arg(long)]
        account: i64,
        /// Login name, unique whatever its letter case
        #[arg(long)]
        login: String,
    },
    /// List admins (never their passwords)
    List {
        /// Only this account's admins
        #[arg(long)]
        account: Option<i64>,
    },
    /// Remove an admin; their sessions end at once
    Remove {
        #[arg(long)]
        login: String,
    },
}

pub async fn run(settings: Settings, command: AdminCommand) -> Result<()> {
    let db = db::connect(&settings, Purpose::Cli).await?;
    db::migrate(&db).await?;
    match command {
        AdminCommand::Add { account, login } => {
            let password = read_password()?;
            let admin = admins::add(&db, account, &login, &password).await?;
            eprintln!(
                "admin \"{}\" added to account {}; log in at {}/settings/login",
                names::shown(&admin.login),
                admin.account_id,
                settings.public_url.as_str().trim_end_matches('/')
            );
        }
        AdminCommand::List { account } => {
            println!(
                "{:>6}  {:>7}  {:<19}  login",
                "id", "account", "created (UTC)"
            );
            for admin in admins::list(&db, account).await? {
                println!(
                    "{:>6}  {:>7}  {:<19}  {}",
                    admin.id,
                    admin.account_id,
                    admin.dt_created.format("%Y-%m-%d %H:%M:%S"),
                    // Escaped: a login stored before control characters were refused cannot
                    // rewrite the operator's terminal.
                    names::shown(&admin.login)
                );
            }
        }
        AdminCommand::Remove { login } => {
            admins::remove(&db, &login).await?;
            eprintln!("admin \"{}\" removed", names::shown(&login));
        }
    }
    Ok(())
}

/// On a terminal: asked twice without echo. Otherwise: the first line of stdin, so that
/// `echo "$PASSWORD" | domofeed admin add …` works in scripts.
fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ")
            .map_err(|e| Error::io("reading the password", e))?;
        let second = rpassword::prompt_password("Password again: ")
            .map_err(|e| Error::io("reading the password", e))?;
        if first != second {
            return Err(Error::bad_request("password", "the two entries differ"));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("reading the password from stdin", e))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}
