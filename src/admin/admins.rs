//! Admins of the settings page: who they are, their argon2id password hashes, and the check at
//! login, slowed down after repeated wrong passwords per login and per client address.

use std::{net::IpAddr, sync::OnceLock};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{Error, Result};

/// Wrong passwords within this window count towards a lock.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// This many wrong passwords for one login within the window lock that login.
pub const MAX_FAILURES_PER_LOGIN: i64 = 5;
/// This many wrong passwords from one address within the window lock that address (it may be
/// guessing many logins).
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
/// Passwords shorter than this are refused when an admin is added.
pub const MIN_PASSWORD_CHARS: usize = 8;

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
    /// The password is right: this admin.
    Admin(Admin),
    /// Unknown login or wrong password (the caller cannot tell which).
    Wrong,
    /// Too many wrong passwords lately; the password was not checked. Retry after this many
    /// seconds.
    Locked { retry_after: u64 },
}

/// Adds an admin to an account; the password is stored as an argon2id hash only.
pub async fn add(db: &PgPool, account_id: i64, login: &str, password: &str) -> Result<Admin> {
    let login = login.trim();
    if login.is_empty() || login.chars().any(char::is_whitespace) || login.chars().count() > 100 {
        return Err(Error::bad_request(
            "--login",
            "expected 1 to 100 characters without spaces",
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
    let hash = hash_password(password.to_owned()).await?;
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

/// Checks a login and password from `client`. A locked login or address is refused before the
/// password is looked at; a wrong password is recorded; a right one clears the login's record.
pub async fn log_in(
    db: &PgPool,
    login: &str,
    password: &str,
    client: IpAddr,
) -> Result<LoginOutcome> {
    // No login is longer than 100 characters; a longer one is kept short in the failure record.
    let login: String = login.trim().chars().take(101).collect();
    let login = login.as_str();
    if let Some(retry_after) = locked_for(db, login, client).await? {
        return Ok(LoginOutcome::Locked { retry_after });
    }
    let found = sqlx::query!(
        "select id, account_id, login, dt_created, password_hash from admins
          where lower(login) = lower($1)",
        login,
    )
    .fetch_optional(db)
    .await?;
    // An unknown login costs the same hashing as a known one, so timing does not tell them apart.
    let stored = found.as_ref().map(|f| f.password_hash.clone());
    let right = verify_password(password.to_owned(), stored).await?;
    match found {
        Some(admin) if right => {
            sqlx::query!(
                "delete from login_failures where lower(login) = lower($1)",
                admin.login,
            )
            .execute(db)
            .await?;
            Ok(LoginOutcome::Admin(Admin {
                id: admin.id,
                account_id: admin.account_id,
                login: admin.login,
                dt_created: admin.dt_created,
            }))
        }
        _ => {
            sqlx::query!(
                "with pruned as (delete from login_failures where dt < now() - interval '1 day')
                 insert into login_failures (login, client_addr) values ($1, $2::text::inet)",
                login,
                client.to_string(),
            )
            .execute(db)
            .await?;
            Ok(LoginOutcome::Wrong)
        }
    }
}

/// Seconds until `login` and `client` may try again, when either is locked: the lock lasts until
/// the oldest of the last N failures leaves the window.
async fn locked_for(db: &PgPool, login: &str, client: IpAddr) -> Result<Option<u64>> {
    let until = sqlx::query_scalar!(
        "select max(unlock) from (
             (select dt + make_interval(mins => $3::int) as unlock from login_failures
               where lower(login) = lower($1) and dt > now() - make_interval(mins => $3::int)
               order by dt desc offset $4::bigint - 1 limit 1)
             union all
             (select dt + make_interval(mins => $3::int) from login_failures
               where client_addr = $2::text::inet and dt > now() - make_interval(mins => $3::int)
               order by dt desc offset $5::bigint - 1 limit 1)
         ) locks",
        login,
        client.to_string(),
        FAILURE_WINDOW_MINUTES as i32,
        MAX_FAILURES_PER_LOGIN,
        MAX_FAILURES_PER_ADDRESS,
    )
    .fetch_one(db)
    .await?;
    Ok(until.map(|until| (until - Utc::now()).num_seconds().max(1) as u64))
}

/// Hashing takes tens of milliseconds of CPU by design: it runs off the async threads.
async fn hash_password(password: String) -> Result<String> {
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Error::internal("hashing a password", e.to_string()))
    })
    .await
}

/// Whether `password` matches `stored`. With nothing stored, a hash of the same parameters is
/// checked anyway and the answer is no, so that an unknown login costs one verification, as a
/// known one does.
async fn verify_password(password: String, stored: Option<String>) -> Result<bool> {
    static NO_ADMIN: OnceLock<String> = OnceLock::new();
    blocking(move || {
        let known = stored.is_some();
        let stored = match stored {
            Some(hash) => hash,
            None => NO_ADMIN
                .get_or_init(|| {
                    let salt = SaltString::generate(&mut OsRng);
                    Argon2::default()
                        .hash_password(b"no such admin", &salt)
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone(),
        };
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return Ok(false);
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal("password hashing", e))?
}
