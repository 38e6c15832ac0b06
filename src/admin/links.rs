//! The lifecycle of a feed link: create, show again, list, rotate, revoke.

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sqlx::PgPool;
use url::Url;

use super::{SecretKey, Token};
use crate::{feeds::FeedKind, Error, Result};

/// What an admin asks for when making a feed link.
#[derive(Debug, Clone)]
pub struct NewFeed {
    pub account_id: i64,
    pub kind: FeedKind,
    /// Defaults to the kind's Russian name ("Полный от сделок", "Полный от помещений").
    pub name: Option<String>,
    /// Limits the feed to these houses; empty means all houses of the account.
    pub house_ids: Vec<i64>,
}

/// A feed as listed: everything but the token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedInfo {
    pub id: i64,
    pub account_id: i64,
    pub kind: FeedKind,
    pub name: String,
    pub house_ids: Vec<i64>,
    pub dt_created: DateTime<Utc>,
    pub dt_revoked: Option<DateTime<Utc>>,
    pub dt_last_used: Option<DateTime<Utc>>,
}

/// `{public_url}/dc-api/feeds/{id}-{token}/`.
pub fn feed_url(public_url: &Url, feed_id: i64, token: &Token) -> String {
    format!(
        "{}/dc-api/feeds/{feed_id}-{}/",
        public_url.as_str().trim_end_matches('/'),
        token.expose()
    )
}

/// Creates a feed and returns its id and token. The token is stored only as its SHA-256 and
/// sealed with `key`.
pub async fn create(db: &PgPool, key: &SecretKey, new: NewFeed) -> Result<(i64, Token)> {
    let mut tx = db.begin().await?;
    let account: Option<i64> = sqlx::query_scalar("select id from accounts where id = $1")
        .bind(new.account_id)
        .fetch_optional(&mut *tx)
        .await?;
    if account.is_none() {
        return Err(Error::NotFound(format!(
            "account {} does not exist",
            new.account_id
        )));
    }
    let mut house_ids = new.house_ids;
    house_ids.sort_unstable();
    house_ids.dedup();
    let foreign: Vec<i64> = sqlx::query_scalar(
        "select h from unnest($2::bigint[]) h
          where not exists (select 1 from houses where id = h and account_id = $1)
          order by h",
    )
    .bind(new.account_id)
    .bind(&house_ids)
    .fetch_all(&mut *tx)
    .await?;
    if let Some(house) = foreign.first() {
        return Err(Error::bad_request(
            "houses",
            format!(
                "house {house} does not belong to account {}",
                new.account_id
            ),
        ));
    }
    let name = new
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| new.kind.title().to_owned());
    let token = Token::generate();
    let id: i64 = sqlx::query_scalar(
        "insert into feeds (account_id, kind, name, house_ids, token_sha256, token_sealed)
         values ($1, $2, $3, $4, $5, $6)
         returning id",
    )
    .bind(new.account_id)
    .bind(new.kind)
    .bind(name)
    .bind(&house_ids)
    .bind(token.sha256().as_slice())
    .bind(key.seal(&token))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id, token))
}

/// The token of an active feed, opened from its sealed copy.
pub async fn reveal(db: &PgPool, key: &SecretKey, feed_id: i64) -> Result<Token> {
    let sealed: Option<Vec<u8>> =
        sqlx::query_scalar("select token_sealed from feeds where id = $1 and dt_revoked is null")
            .bind(feed_id)
            .fetch_optional(db)
            .await?;
    let sealed = sealed.ok_or_else(|| not_found(feed_id))?;
    key.open(&sealed).ok_or_else(|| {
        Error::Config(format!(
            "feed {feed_id}: its link was sealed with another secret key and cannot be shown; \
             `domofeed feed rotate {feed_id}` makes a new one"
        ))
    })
}

pub async fn list(db: &PgPool, account_id: Option<i64>) -> Result<Vec<FeedInfo>> {
    Ok(sqlx::query_as(
        "select id, account_id, kind, name, house_ids, dt_created, dt_revoked, dt_last_used
           from feeds
          where ($1::bigint is null or account_id = $1)
          order by account_id, id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?)
}

/// An account's feeds, oldest first, each with its URL while it is active and `key` opens its
/// sealed copy (none without a key): one query, for the settings page.
pub async fn list_with_urls(
    db: &PgPool,
    key: Option<&SecretKey>,
    public_url: &Url,
    account_id: i64,
) -> Result<Vec<(FeedInfo, Option<String>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        info: FeedInfo,
        token_sealed: Vec<u8>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select id, account_id, kind, name, house_ids, dt_created, dt_revoked, dt_last_used,
                token_sealed
           from feeds
          where account_id = $1
          order by id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let url = key
                .filter(|_| row.info.dt_revoked.is_none())
                .and_then(|key| key.open(&row.token_sealed))
                .map(|token| feed_url(public_url, row.info.id, &token));
            (row.info, url)
        })
        .collect())
}

/// A feed of `account_id`; another account's feed is as unknown as a missing one.
pub async fn find_owned(db: &PgPool, account_id: i64, feed_id: i64) -> Result<FeedInfo> {
    let feed: Option<FeedInfo> = sqlx::query_as(
        "select id, account_id, kind, name, house_ids, dt_created, dt_revoked, dt_last_used
           from feeds
          where id = $1 and account_id = $2",
    )
    .bind(feed_id)
    .bind(account_id)
    .fetch_optional(db)
    .await?;
    feed.ok_or_else(|| Error::NotFound(format!("feed {feed_id} does not exist")))
}

/// Gives an active feed a new token; the old URL stops working at once.
pub async fn rotate(db: &PgPool, key: &SecretKey, feed_id: i64) -> Result<Token> {
    let token = Token::generate();
    let updated = sqlx::query(
        "update feeds set token_sha256 = $2, token_sealed = $3
          where id = $1 and dt_revoked is null",
    )
    .bind(feed_id)
    .bind(token.sha256().as_slice())
    .bind(key.seal(&token))
    .execute(db)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found(feed_id));
    }
    Ok(token)
}

/// Revokes a feed for good: its URL answers 404 from now on.
pub async fn revoke(db: &PgPool, feed_id: i64) -> Result<()> {
    let updated =
        sqlx::query("update feeds set dt_revoked = now() where id = $1 and dt_revoked is null")
            .bind(feed_id)
            .execute(db)
            .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found(feed_id));
    }
    Ok(())
}

fn not_found(feed_id: i64) -> Error {
    Error::NotFound(format!("feed {feed_id} does not exist or is revoked"))
}

/// Limits an active feed to clients from `networks` (empty: any address).
pub async fn set_allowed_networks(db: &PgPool, feed_id: i64, networks: &[IpNet]) -> Result<()> {
    let texts: Vec<String> = networks.iter().map(IpNet::to_string).collect();
    let updated = sqlx::query(
        "update feeds set allowed_networks = $2::text[]::cidr[] where id = $1 and dt_revoked is null",
    )
    .bind(feed_id)
    .bind(&texts)
    .execute(db)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(not_found(feed_id));
    }
    Ok(())
}

/// One line of a feed's access log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessEntry {
    pub dt: DateTime<Utc>,
    pub client_addr: String,
    pub status: i16,
    pub complete: bool,
    pub items: i64,
    pub bytes: i64,
    pub duration_ms: i32,
}

/// The newest `limit` requests of a feed, newest first.
pub async fn access_log(db: &PgPool, feed_id: i64, limit: i64) -> Result<Vec<AccessEntry>> {
    Ok(sqlx::query_as(
        "select dt, host(client_addr) as client_addr, status, complete, items, bytes, duration_ms
           from feed_access_log
          where feed_id = $1
          order by dt desc, id desc
          limit $2",
    )
    .bind(feed_id)
    .bind(limit)
    .fetch_all(db)
    .await?)
}
