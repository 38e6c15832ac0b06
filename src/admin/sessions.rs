//! Logged-in browsers of the settings page. The cookie carries a random token; the database keeps
//! its SHA-256, the admin and an expiry. Sessions live in the database so that any instance
//! behind a balancer can serve any admin.
//!
//! The CSRF token that form posts and API calls carry is not stored anywhere: it is
//! HMAC-SHA256 of a fixed text keyed with the session's token, computed when a request shows its
//! cookie. A page of another site can read neither; someone who reads the database finds only
//! the token's SHA-256, from which neither the cookie nor the CSRF token follows.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use crate::{links::Token, Result};

/// How long a login lasts.
pub const SESSION_HOURS: i64 = 12;

/// A session found by its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub admin_id: i64,
    pub account_id: i64,
    pub login: String,
    pub account_name: String,
    pub timezone: String,
    csrf_token: String,
}

impl Session {
    /// The token every form post of this session must carry.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Compares a posted CSRF token in constant time.
    pub fn csrf_matches(&self, posted: &str) -> bool {
        bool::from(self.csrf_token.as_bytes().ct_eq(posted.as_bytes()))
    }
}

/// Starts a session for an admin; the returned token goes into the cookie and nowhere else.
/// Expired sessions are pruned on the way.
pub async fn start(db: &PgPool, admin_id: i64) -> Result<Token> {
    let token = Token::generate();
    let digest = token.sha256();
    sqlx::query!(
        "with pruned as (delete from admin_sessions where dt_expires < now())
         insert into admin_sessions (token_sha256, admin_id, dt_expires)
         values ($1, $2, now() + make_interval(hours => $3::int))",
        &digest[..],
        admin_id,
        SESSION_HOURS as i32,
    )
    .execute(db)
    .await?;
    Ok(token)
}

/// The live session behind a cookie's token, if any.
pub async fn find(db: &PgPool, token: &Token) -> Result<Option<Session>> {
    let digest = token.sha256();
    let found = sqlx::query!(
        "select a.id as admin_id, a.account_id, a.login, ac.name as account_name, ac.timezone
           from admin_sessions s
           join admins a on a.id = s.admin_id
           join accounts ac on ac.id = a.account_id
          where s.token_sha256 = $1 and s.dt_expires > now()",
        &digest[..],
    )
    .fetch_optional(db)
    .await?;
    Ok(found.map(|row| Session {
        admin_id: row.admin_id,
        account_id: row.account_id,
        login: row.login,
        account_name: row.account_name,
        timezone: row.timezone,
        csrf_token: csrf_token_of(token),
    }))
}

/// The session's CSRF token: 64 hex digits of HMAC-SHA256("domofeed settings CSRF") keyed with
/// the session's token.
fn csrf_token_of(session: &Token) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(session.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"domofeed settings CSRF");
    hex::encode(mac.finalize().into_bytes())
}

/// Ends a session (logout).
pub async fn end(db: &PgPool, token: &Token) -> Result<()> {
    let digest = token.sha256();
    sqlx::query!(
        "delete from admin_sessions where token_sha256 = $1",
        &digest[..]
    )
    .execute(db)
    .await?;
    Ok(())
}
