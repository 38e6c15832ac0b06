//! Who may read a feed: the `{feed_id}-{token}` segment of the URL checked against the database.

use std::{net::IpAddr, str::FromStr};

use chrono_tz::Tz;
use ipnet::IpNet;
use sqlx::PgPool;

use super::{FeedKind, Token};
use crate::{Error, Result};

/// A feed that a request has proven it may read, with what it needs to be built.
#[derive(Debug, Clone)]
pub struct Feed {
    pub id: i64,
    pub account_id: i64,
    pub kind: FeedKind,
    /// Empty: all houses of the account.
    pub house_ids: Vec<i64>,
    pub tz: Tz,
    /// Client networks that may read the feed; empty: any.
    pub allowed_networks: Vec<IpNet>,
}

impl Feed {
    pub fn allows(&self, client: IpAddr) -> bool {
        self.allowed_networks.is_empty()
            || self
                .allowed_networks
                .iter()
                .any(|net| net.contains(&client))
    }
}

/// The feed id of a `{feed_id}-{token}` segment, if it has that shape; safe to log.
pub fn feed_id_of(segment: &str) -> Option<i64> {
    let (id, _) = segment.split_once('-')?;
    (!id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.parse().ok())
        .flatten()
        .filter(|&id| id > 0)
}

/// Finds the active feed of `segment` and checks its token. Unknown id, wrong token and revoked
/// feed are one and the same `NotFound`, reached through the same work: one indexed lookup and
/// one constant-time digest comparison.
pub async fn authenticate(db: &PgPool, segment: &str) -> Result<Feed> {
    let not_found = || Error::not_found("feed");
    let id = feed_id_of(segment).ok_or_else(not_found)?;
    let token = segment
        .split_once('-')
        .and_then(|(_, token)| Token::parse(token));
    let row = sqlx::query!(
        r#"select f.id, f.account_id, f.kind as "kind: FeedKind", f.house_ids, f.token_sha256,
                  a.timezone, f.allowed_networks::text[] as "allowed_networks!"
             from feeds f
             join accounts a on a.id = f.account_id
            where f.id = $1 and f.dt_revoked is null"#,
        id,
    )
    .fetch_optional(db)
    .await?;
    let stored = row
        .as_ref()
        .map_or(&[0u8; 32][..], |r| r.token_sha256.as_slice());
    // A malformed token is still compared (as a random one) so that every failure costs the same.
    let compared = token
        .clone()
        .unwrap_or_else(Token::generate)
        .matches(stored);
    let matches = token.is_some() && compared;
    let row = row.filter(|_| matches).ok_or_else(not_found)?;
    let tz = Tz::from_str(&row.timezone).map_err(|e| {
        Error::internal(
            format!(
                "account {} has a time zone that domofeed does not know: {:?}",
                row.account_id, row.timezone
            ),
            e,
        )
    })?;
    Ok(Feed {
        id: row.id,
        account_id: row.account_id,
        kind: row.kind,
        house_ids: row.house_ids,
        tz,
        // PostgreSQL's cidr type has already validated these.
        allowed_networks: row
            .allowed_networks
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_ids_of_segments() {
        assert_eq!(feed_id_of("12-abc"), Some(12));
        assert_eq!(feed_id_of("0-abc"), None);
        assert_eq!(feed_id_of("-abc"), None);
        assert_eq!(feed_id_of("+1-abc"), None);
        assert_eq!(feed_id_of("99999999999999999999-abc"), None);
        assert_eq!(feed_id_of("12"), None);
        assert_eq!(feed_id_of("..-x"), None);
    }
}
