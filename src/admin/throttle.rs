//! Login throttling: a few wrong passwords per login, per client address, per known device.
//!
//! An attempt is written down *before* its password is checked, in a short transaction that
//! first takes a PostgreSQL advisory lock for the login and the address (or the device), then
//! counts the attempts in the window, then writes this one. Attempts that arrive together queue
//! on the lock for the milliseconds of that transaction, and each sees the ones before it: a
//! burst of 60 wrong passwords for one login checks 5 and locks the rest out, and a right
//! password that arrives after the fifth is refused like them. (Checking the lock first and
//! recording the failure after the slow password check let a whole burst through.) A right
//! password then deletes the login's attempts, its own among them.
//!
//! Rows live in `login_failures`: each is an attempt not known to be right. Rows older than a
//! day are pruned as new ones arrive.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::Result;

/// Attempts within this window count towards a lock.
pub const WINDOW_MINUTES: i64 = 15;
/// This many wrong passwords for one login within the window lock that login.
pub const MAX_PER_LOGIN: i64 = 5;
/// This many wrong passwords from one address within the window lock that address (it may be
/// guessing many logins).
pub const MAX_PER_ADDRESS: i64 = 20;
/// This many wrong passwords from one known device within the window lock that device.
pub const MAX_PER_DEVICE: i64 = 5;

/// Advisory lock classes (the first key of `pg_advisory_xact_lock(int, int)`).
const LOCK_LOGIN: i32 = 1701;
const LOCK_ADDRESS: i32 = 1702;
const LOCK_DEVICE: i32 = 1703;

/// Whether an attempt may go on to its password check.
#[derive(Debug)]
pub enum Admission {
    /// Written down; the password may be checked.
    Admitted,
    /// Too many wrong passwords lately: retry after this many seconds.
    Locked { retry_after: u64 },
}

/// Who is trying: the login typed, the client's address, and the device cookie's digest when
/// the browser brought a device cookie of this login's admin (`admin::devices`).
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub login: &'a str,
    pub client: IpAddr,
    pub device: Option<&'a [u8]>,
}

/// Counts `attempt` against its limits and writes it down when none is reached, atomically
/// with the attempts that arrive at the same time.
///
/// A known device counts only against its own limit: an attacker who types wrong passwords for
/// an admin's login from elsewhere (or from the same office address) locks the login and the
/// address, not the admin's browser. A device is known only for its own admin's login, so it
/// cannot be used to guess others.
pub async fn admit(db: &PgPool, attempt: Attempt<'_>) -> Result<Admission> {
    let client = attempt.client.to_string();
    let mut tx = db.begin().await?;
    // One statement for the locks, so that the counts below (each statement takes a new
    // snapshot) see every attempt committed by an earlier holder of the locks.
    let until: Option<DateTime<Utc>> = match attempt.device {
        Some(device) => {
            sqlx::query!(
                "select pg_advisory_xact_lock($1, hashtext(encode($2, 'hex')))",
                LOCK_DEVICE,
                device,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query_scalar!(
                "select dt + make_interval(mins => $2::int) from login_failures
                  where device_sha256 = $1 and dt > now() - make_interval(mins => $2::int)
                  order by dt desc offset $3::bigint - 1 limit 1",
                device,
                WINDOW_MINUTES as i32,
                MAX_PER_DEVICE,
            )
            .fetch_optional(&mut *tx)
            .await?
            .flatten()
        }
        None => {
            // Always the login's lock before the address's, so two attempts cannot deadlock.
            sqlx::query!(
                "select pg_advisory_xact_lock($1, hashtext(lower($2))),
                        pg_advisory_xact_lock($3, hashtext($4))",
                LOCK_LOGIN,
                attempt.login,
                LOCK_ADDRESS,
                client,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query_scalar!(
                "select max(unlock) from (
                     (select dt + make_interval(mins => $3::int) as unlock from login_failures
                       where lower(login) = lower($1)
                         and dt > now() - make_interval(mins => $3::int)
                       order by dt desc offset $4::bigint - 1 limit 1)
                     union all
                     (select dt + make_interval(mins => $3::int) from login_failures
                       where client_addr = $2::text::inet
                         and dt > now() - make_interval(mins => $3::int)
                       order by dt desc offset $5::bigint - 1 limit 1)
                 ) locks",
                attempt.login,
                client,
                WINDOW_MINUTES as i32,
                MAX_PER_LOGIN,
                MAX_PER_ADDRESS,
            )
            .fetch_one(&mut *tx)
            .await?
        }
    };
    if let Some(until) = until {
        tx.rollback().await?;
        let retry_after = (until - Utc::now()).num_seconds().max(1) as u64;
        return Ok(Admission::Locked { retry_after });
    }
    sqlx::query!(
        "with pruned as (delete from login_failures where dt < now() - interval '1 day')
         insert into login_failures (login, client_addr, device_sha256)
         values ($1, $2::text::inet, $3)",
        attempt.login,
        client,
        attempt.device,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Admission::Admitted)
}

/// The password was right: the login's attempts are forgotten, this one among them.
pub async fn succeeded(db: &PgPool, login: &str) -> Result<()> {
    sqlx::query!(
        "delete from login_failures where lower(login) = lower($1)",
        login
    )
    .execute(db)
    .await?;
    Ok(())
}
