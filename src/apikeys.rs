//! API keys of the CRM write API: one account each, shown once when made, stored only as their
//! SHA-256 (as feed tokens are), revoked for good.
//!
//! A key is `dfk_` and 64 letters and digits: the prefix tells a key from a feed token at a
//! glance (and lets secret scanners find one that leaked).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{accounts::Owner, links::Token, names, Error, Result};

/// What every key starts with.
pub const PREFIX: &str = "dfk_";
/// The most characters a key's name may have.
pub const MAX_NAME_CHARS: usize = 200;

/// A key as listed: everything but the key.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub dt_created: DateTime<Utc>,
    pub dt_revoked: Option<DateTime<Utc>>,
    pub dt_last_used: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn is_active(&self) -> bool {
        self.dt_revoked.is_none()
    }
}

/// The secret part of a key, as handed to its owner once.
pub struct Secret(Token);

impl Secret {
    /// `dfk_…`, for the one place that shows it.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", self.0.expose())
    }

    /// The key of `text` if it has a key's shape; anything else cannot match a key.
    pub fn parse(text: &str) -> Option<Secret> {
        text.strip_prefix(PREFIX).and_then(Token::parse).map(Secret)
    }
}

/// Who a request's key says the caller is.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub key_id: i64,
    pub account_id: i64,
}

/// Makes a key for an account; `name` defaults to «Ключ API».
pub async fn create(db: &PgPool, account_id: i64, name: Option<&str>) -> Result<(ApiKey, Secret)> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Ключ API");
    names::check("name", name, MAX_NAME_CHARS)?;
    let secret = Secret(Token::generate());
    let digest = secret.0.sha256();
    let key = sqlx::query_as!(
        ApiKey,
        "insert into api_keys (account_id, name, key_sha256)
         select a.id, $2, $3 from accounts a where a.id = $1
         returning id, account_id, name, dt_created, dt_revoked, dt_last_used",
        account_id,
        name,
        &digest[..],
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("account {account_id}")))?;
    Ok((key, secret))
}

/// The keys of one account, or of all, by account and id.
pub async fn list(db: &PgPool, account_id: Option<i64>) -> Result<Vec<ApiKey>> {
    Ok(sqlx::query_as!(
        ApiKey,
        "select id, account_id, name, dt_created, dt_revoked, dt_last_used
           from api_keys
          where ($1::bigint is null or account_id = $1)
          order by account_id, id",
        account_id,
    )
    .fetch_all(db)
    .await?)
}

/// Revokes an active key for good: requests with it get 401 from now on.
pub async fn revoke(db: &PgPool, owner: Owner, id: i64) -> Result<ApiKey> {
    sqlx::query_as!(
        ApiKey,
        "update api_keys set dt_revoked = now()
          where id = $2 and ($1::bigint is null or account_id = $1) and dt_revoked is null
         returning id, account_id, name, dt_created, dt_revoked, dt_last_used",
        owner.account(),
        id,
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("active API key {id}")))
}

/// The caller behind an `Authorization` header value (`Bearer dfk_…`). No header, another
/// scheme, a malformed, unknown or revoked key: all the same `Unauthorized`. Marks the key used
/// (at most once a minute).
pub async fn authenticate(db: &PgPool, authorization: Option<&str>) -> Result<Caller> {
    let unauthorized = || {
        Error::Unauthorized("an active API key is needed: Authorization: Bearer dfk_…".to_owned())
    };
    let secret = authorization
        .and_then(|value| {
            let (scheme, key) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
        })
        .and_then(Secret::parse)
        .ok_or_else(unauthorized)?;
    let digest = secret.0.sha256();
    let caller = sqlx::query_as!(
        Caller,
        r#"update api_keys set dt_last_used = now()
            where key_sha256 = $1 and dt_revoked is null
              and (dt_last_used is null or dt_last_used < now() - interval '1 minute')
           returning id as "key_id", account_id"#,
        &digest[..],
    )
    .fetch_optional(db)
    .await?;
    if let Some(caller) = caller {
        return Ok(caller);
    }
    // Used within the last minute: the same lookup, without the write.
    sqlx::query_as!(
        Caller,
        r#"select id as "key_id", account_id from api_keys
            where key_sha256 = $1 and dt_revoked is null"#,
        &digest[..],
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(unauthorized)
}
