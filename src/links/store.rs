//! The lifecycle of a feed link: create, show again, list, rotate, revoke, limit to networks.
//!
//! Every change is one statement scoped by its owner (`where id = $2 and account_id = $1
//! returning …`): the settings page's admin reaches only their account's feeds, the operator's
//! CLI every feed, and neither looks a feed up before changing it. A feed that does not exist,
//! is another account's or is revoked is the same `NotFound`.

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sqlx::PgPool;
use url::Url;

use super::{FeedKind, SecretKey, Token};
use crate::{accounts::Owner, names, Error, Result};

/// What an admin asks for when making a feed link.
#[derive(Debug, Clone)]
pub struct NewFeed {
    pub account_id: i64,
    pub kind: FeedKind,
    /// Defaults to the kind's Russian name ("Полный от сделок", "Полный от помещений"). At most
    /// 200 characters, none of them control or bidirectional formatting ones (`names`).
    pub name: Option<String>,
    /// Limits the feed to these houses; empty means all houses of the account.
    pub house_ids: Vec<i64>,
    /// Client networks that may read the feed; empty means any address.
    pub allowed_networks: Vec<IpNet>,
}

/// A feed as listed: everything but the token.
#[derive(Debug, Clone)]
pub struct FeedInfo {
    pub id: i64,
    pub account_id: i64,
    pub kind: FeedKind,
    pub name: String,
    pub house_ids: Vec<i64>,
    /// CIDRs as PostgreSQL prints them; empty: any address.
    pub allowed_networks: Vec<String>,
    pub dt_created: DateTime<Utc>,
    pub dt_revoked: Option<DateTime<Utc>>,
    pub dt_last_used: Option<DateTime<Utc>>,
}

impl FeedInfo {
    pub fn is_active(&self) -> bool {
        self.dt_revoked.is_none()
    }
}

/// `{public_url}/dc-api/feeds/{id}-{token}/`.
pub fn feed_url(public_url: &Url, feed_id: i64, token: &Token) -> String {
    format!(
        "{}/dc-api/feeds/{feed_id}-{}/",
        public_url.as_str().trim_end_matches('/'),
        token.expose()
    )
}

/// The URL of an authenticated request's `{feed_id}-{token}` segment, in the canonical form
/// (`{public_url}/dc-api/feeds/{segment}/`), for links in the body such as `meta.next`.
pub fn feed_url_of_segment(public_url: &Url, segment: &str) -> String {
    format!(
        "{}/dc-api/feeds/{segment}/",
        public_url.as_str().trim_end_matches('/')
    )
}

/// Creates a feed, with its networks, in one statement, and returns it with its token. The
/// token is stored only as its SHA-256 and sealed with `key`.
pub async fn create(db: &PgPool, key: &SecretKey, new: NewFeed) -> Result<(FeedInfo, Token)> {
    let mut house_ids = new.house_ids;
    house_ids.sort_unstable();
    house_ids.dedup();
    let foreign = sqlx::query_scalar!(
        r#"select h as "house!" from unnest($2::bigint[]) h
            where not exists (select 1 from houses where id = h and account_id = $1)
            order by h
            limit 1"#,
        new.account_id,
        &house_ids,
    )
    .fetch_optional(db)
    .await?;
    if let Some(house) = foreign {
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
    names::check("name", &name, names::MAX_FEED_NAME_CHARS)?;
    let token = Token::generate();
    let digest = token.sha256();
    let networks: Vec<String> = new.allowed_networks.iter().map(IpNet::to_string).collect();
    let feed = sqlx::query_as!(
        FeedInfo,
        r#"insert into feeds (account_id, kind, name, house_ids, token_sha256, token_sealed,
                              allowed_networks)
           select a.id, $2, $3, $4, $5, $6, $7::text[]::cidr[]
             from accounts a
            where a.id = $1
           returning id, account_id, kind as "kind: FeedKind", name, house_ids,
                     allowed_networks::text[] as "allowed_networks!", dt_created, dt_revoked,
                     dt_last_used"#,
        new.account_id,
        new.kind.as_str(),
        name,
        &house_ids,
        &digest[..],
        key.seal(&token),
        &networks,
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("account {}", new.account_id)))?;
    Ok((feed, token))
}

/// The token of an active feed, opened from its sealed copy.
pub async fn reveal(db: &PgPool, key: &SecretKey, owner: Owner, feed_id: i64) -> Result<Token> {
    let sealed = sqlx::query_scalar!(
        "select token_sealed from feeds
          where id = $2 and ($1::bigint is null or account_id = $1) and dt_revoked is null",
        owner.account(),
        feed_id,
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("active feed {feed_id}")))?;
    key.open(&sealed).ok_or_else(|| {
        Error::Config(format!(
            "DOMOFEED_SECRET_KEY: the link of feed {feed_id} was sealed with another secret key \
             and cannot be shown; `domofeed feed rotate {feed_id}` makes a new one"
        ))
    })
}

/// The feeds of one account, or of all, by account and id.
pub async fn list(db: &PgPool, account_id: Option<i64>) -> Result<Vec<FeedInfo>> {
    Ok(listed(db, account_id)
        .await?
        .into_iter()
        .map(|(info, _)| info)
        .collect())
}

/// An account's feeds, oldest first, each with its URL while it is active and `key` opens its
/// sealed copy (none without a key): one query, for the settings page.
pub async fn list_with_urls(
    db: &PgPool,
    key: Option<&SecretKey>,
    public_url: &Url,
    account_id: i64,
) -> Result<Vec<(FeedInfo, Option<String>)>> {
    Ok(listed(db, Some(account_id))
        .await?
        .into_iter()
        .map(|(info, sealed)| {
            let url = key
                .filter(|_| info.is_active())
                .and_then(|key| key.open(&sealed))
                .map(|token| feed_url(public_url, info.id, &token));
            (info, url)
        })
        .collect())
}

/// Feeds with their sealed tokens, by account and id.
async fn listed(db: &PgPool, account_id: Option<i64>) -> Result<Vec<(FeedInfo, Vec<u8>)>> {
    let rows = sqlx::query!(
        r#"select id, account_id, kind as "kind: FeedKind", name, house_ids,
                  allowed_networks::text[] as "allowed_networks!", dt_created, dt_revoked,
                  dt_last_used, token_sealed
             from feeds
            where ($1::bigint is null or account_id = $1)
            order by account_id, id"#,
        account_id,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let info = FeedInfo {
                id: row.id,
                account_id: row.account_id,
                kind: row.kind,
                name: row.name,
                house_ids: row.house_ids,
                allowed_networks: row.allowed_networks,
                dt_created: row.dt_created,
                dt_revoked: row.dt_revoked,
                dt_last_used: row.dt_last_used,
            };
            (info, row.token_sealed)
        })
        .collect())
}

/// The kind of an account's feed (revoked or not), for checking a query string against it.
pub async fn kind_of(db: &PgPool, account_id: i64, feed_id: i64) -> Result<FeedKind> {
    sqlx::query_scalar!(
        r#"select kind as "kind: FeedKind" from feeds where id = $2 and account_id = $1"#,
        account_id,
        feed_id,
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("feed {feed_id}")))
}

/// Gives an active feed a new token; the old URL stops working at once.
pub async fn rotate(
    db: &PgPool,
    key: &SecretKey,
    owner: Owner,
    feed_id: i64,
) -> Result<(FeedInfo, Token)> {
    let token = Token::generate();
    let update = Update::Token {
        sha256: token.sha256(),
        sealed: key.seal(&token),
    };
    Ok((update.apply(db, owner, feed_id).await?, token))
}

/// Revokes a feed for good: its URL answers 404 from now on.
pub async fn revoke(db: &PgPool, owner: Owner, feed_id: i64) -> Result<FeedInfo> {
    Update::Revoke.apply(db, owner, feed_id).await
}

/// Limits an active feed to clients from `networks` (empty: any address).
pub async fn set_allowed_networks(
    db: &PgPool,
    owner: Owner,
    feed_id: i64,
    networks: &[IpNet],
) -> Result<FeedInfo> {
    let networks = networks.iter().map(IpNet::to_string).collect();
    Update::Networks(networks).apply(db, owner, feed_id).await
}

/// One change to an active feed.
enum Update {
    Token { sha256: [u8; 32], sealed: Vec<u8> },
    Revoke,
    Networks(Vec<String>),
}

impl Update {
    /// The change in one statement that also checks the owner and that the feed is active, and
    /// returns the feed as it is now.
    async fn apply(self, db: &PgPool, owner: Owner, feed_id: i64) -> Result<FeedInfo> {
        let (sha256, sealed, revoke, networks) = match self {
            Update::Token { sha256, sealed } => (Some(sha256.to_vec()), Some(sealed), false, None),
            Update::Revoke => (None, None, true, None),
            Update::Networks(networks) => (None, None, false, Some(networks)),
        };
        sqlx::query_as!(
            FeedInfo,
            r#"update feeds
                  set token_sha256 = coalesce($3, token_sha256),
                      token_sealed = coalesce($4, token_sealed),
                      dt_revoked = case when $5 then now() end,
                      allowed_networks = coalesce($6::text[]::cidr[], allowed_networks)
                where id = $2 and ($1::bigint is null or account_id = $1) and dt_revoked is null
               returning id, account_id, kind as "kind: FeedKind", name, house_ids,
                         allowed_networks::text[] as "allowed_networks!", dt_created, dt_revoked,
                         dt_last_used"#,
            owner.account(),
            feed_id,
            sha256,
            sealed,
            revoke,
            networks.as_deref(),
        )
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found(format!("active feed {feed_id}")))
    }
}

/// One line of a feed's access log.
#[derive(Debug, Clone)]
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
pub async fn access_log(
    db: &PgPool,
    owner: Owner,
    feed_id: i64,
    limit: i64,
) -> Result<Vec<AccessEntry>> {
    Ok(sqlx::query_as!(
        AccessEntry,
        r#"select l.dt, host(l.client_addr) as "client_addr!", l.status, l.complete, l.items,
                  l.bytes, l.duration_ms
             from feed_access_log l
            where l.feed_id = $2 and ($1::bigint is null or l.account_id = $1)
            order by l.dt desc, l.id desc
            limit $3"#,
        owner.account(),
        feed_id,
        limit,
    )
    .fetch_all(db)
    .await?)
}
