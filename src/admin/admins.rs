//! Admins of the settings page: who they are, and the check at login. Their passwords are
//! argon2id hashes (`passwords`, which bounds the work of checking them); wrong ones are
//! throttled per login, per client address and per known device (`throttle`, `devices`).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{
    devices,
    passwords::{self, PasswordChecks},
    throttle::{self, Admission, Attempt},
};
use crate::{links::Token, names, Error, Result};

/// Passwords shorter than this are refused when an admin is added.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a login may have.
pub const MAX_LOGIN_CHARS: usize = 100;

/// An admin as listed.
#[derive(Debug, Clone)]
pub struct Admin {
    pub id: i64,
    pub account_id: i64,
    pub login: String,
    pub dt_created: DateTime<Utc>,
}

/// How a login attempt went.
#[derive(Debug)]
pub enum LoginOutcome {
    /// The password is right: this admin. `known_device` is the digest of the device cookie the
    /// browser brought, when it is this admin's (otherwise the caller remembers the device).
    Admin {
        admin: Admin,
        known_device: Option<[u8; 32]>,
    },
    /// Unknown login or wrong password (the caller cannot tell which).
    Wrong,
    /// Too many wrong passwords lately; the password was not checked. Retry after this many
    /// seconds.
    Locked { retry_after: u64 },
}

/// What a login form brings.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub login: &'a str,
    pub password: &'a str,
    /// The client's address (`http::client_addr`).
    pub client: IpAddr,
    /// The browser's device cookie, if it has one.
    pub device: Option<&'a Token>,
}

/// Adds an admin to an account; the password is stored as an argon2id hash only.
pub async fn add(db: &PgPool, account_id: i64, login: &str, password: &str) -> Result<Admin> {
    let login = login.trim();
    names::check("--login", login, MAX_LOGIN_CHARS)?;
    if login.is_empty() || login.chars().any(char::is_whitespace) {
        return Err(Error::bad_request(
            "--login",
            format!("expected 1 to {MAX_LOGIN_CHARS} characters without spaces"),
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::bad_request(
            "password",
            format!("expected at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from accounts where id = $1) as "exists!""#,
        account_id,
    )
    .fetch_one(db)
    .await?;
    if !exists {
        return Err(Error::not_found(format!("account {account_id}")));
    }
    let hash = passwords::hash(password.to_owned()).await?;
    let inserted = sqlx::query_as!(
        Admin,
        "insert into admins (account_id, login, password_hash) values ($1, $2, $3)
         on conflict (lower(login)) do nothing
         returning id, account_id, login, dt_created",
        account_id,
        login,
        hash,
    )
    .fetch_optional(db)
    .await?;
    inserted.ok_or_else(|| Error::bad_request("--login", format!("{login:?} is already taken")))
}

/// Admins, of one account or of all, by account then login.
pub async fn list(db: &PgPool, account_id: Option<i64>) -> Result<Vec<Admin>> {
    Ok(sqlx::query_as!(
        Admin,
        "select id, account_id, login, dt_created from admins
          where ($1::bigint is null or account_id = $1)
          order by account_id, lower(login)",
        account_id,
    )
    .fetch_all(db)
    .await?)
}

/// Removes an admin and ends their sessions.
pub async fn remove(db: &PgPool, login: &str) -> Result<()> {
    names::check("--login", login, usize::MAX)?;
    let removed = sqlx::query!(
        "delete from admins where lower(login) = lower($1)",
        login.trim(),
    )
    .execute(db)
    .await?;
    if removed.rows_affected() == 0 {
        return Err(Error::not_found(format!("admin {login:?}")));
    }
    Ok(())
}

/// Checks a login and password. In order: a slot for the password check (else
/// `Error::Busy`, before any other work), the throttle (which writes the attempt down, or
/// refuses it when a limit is reached: the password is then not checked), the check itself;
/// a right password forgets the login's attempts.
///
/// A login that could not be stored (NUL, control characters) is a `400`.
pub async fn log_in(
    db: &PgPool,
    checks: &PasswordChecks,
    credentials: Credentials<'_>,
) -> Result<LoginOutcome> {
    // No login is longer than 100 characters; a longer one is kept short in the attempt record.
    let login: String = credentials
        .login
        .trim()
        .chars()
        .take(MAX_LOGIN_CHARS + 1)
        .collect();
    names::check("login", &login, MAX_LOGIN_CHARS + 1)?;
    let slot = checks.slot()?;
    let known_device = match credentials.device {
        Some(token) => devices::recognize(db, token, &login).await?,
        None => None,
    };
    let attempt = Attempt {
        login: &login,
        client: credentials.client,
        device: known_device.as_ref().map(|d| &d[..]),
    };
    if let Admission::Locked { retry_after } = throttle::admit(db, attempt).await? {
        return Ok(LoginOutcome::Locked { retry_after });
    }
    let found = sqlx::query!(
        "select id, account_id, login, dt_created, password_hash from admins
          where lower(login) = lower($1)",
        login,
    )
    .fetch_optional(db)
    .await?;
    // An unknown login costs the same check as a known one, so timing does not tell them apart.
    let stored = found.as_ref().map(|f| f.password_hash.clone());
    let right = slot.verify(credentials.password.to_owned(), stored).await?;
    match found {
        Some(admin) if right => {
            throttle::succeeded(db, &admin.login).await?;
            Ok(LoginOutcome::Admin {
                admin: Admin {
                    id: admin.id,
                    account_id: admin.account_id,
                    login: admin.login,
                    dt_created: admin.dt_created,
                },
                known_device,
            })
        }
        _ => Ok(LoginOutcome::Wrong),
    }
}
