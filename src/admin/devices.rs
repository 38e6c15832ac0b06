//! Device cookies (OWASP's answer to lockouts): a browser that has logged in as an admin gets a
//! long-lived random cookie; the database keeps its SHA-256 and the admin. When that browser
//! logs in as that admin again, its attempts count against the device's own limit instead of
//! the login's and the address's (`throttle::admit`): five wrong passwords typed by someone
//! else lock the login for everyone else, not for the admin's own browser.

use sqlx::PgPool;

use crate::{links::Token, Result};

/// How long a device stays known after its last successful login.
pub const DEVICE_DAYS: i64 = 90;

/// Remembers this browser for `admin_id`; the returned token goes into the device cookie and
/// nowhere else. Expired devices are pruned on the way.
pub async fn remember(db: &PgPool, admin_id: i64) -> Result<Token> {
    let token = Token::generate();
    let digest = token.sha256();
    sqlx::query!(
        "with pruned as (delete from admin_devices where dt_expires < now())
         insert into admin_devices (token_sha256, admin_id, dt_expires)
         values ($1, $2, now() + make_interval(days => $3::int))",
        &digest[..],
        admin_id,
        DEVICE_DAYS as i32,
    )
    .execute(db)
    .await?;
    Ok(token)
}

/// The digest of `token` when it is a live device of the admin whose login is `login`; `None`
/// for anything else (another admin's device is as unknown as a forged one).
pub async fn recognize(db: &PgPool, token: &Token, login: &str) -> Result<Option<[u8; 32]>> {
    let digest = token.sha256();
    let known = sqlx::query_scalar!(
        r#"select exists (
               select 1 from admin_devices d join admins a on a.id = d.admin_id
                where d.token_sha256 = $1 and lower(a.login) = lower($2)
                  and d.dt_expires > now()
           ) as "known!""#,
        &digest[..],
        login,
    )
    .fetch_one(db)
    .await?;
    Ok(known.then_some(digest))
}

/// A known device logged in again: it stays known for another `DEVICE_DAYS`.
pub async fn renew(db: &PgPool, digest: &[u8]) -> Result<()> {
    sqlx::query!(
        "update admin_devices set dt_expires = now() + make_interval(days => $2::int)
          where token_sha256 = $1",
        digest,
        DEVICE_DAYS as i32,
    )
    .execute(db)
    .await?;
    Ok(())
}
