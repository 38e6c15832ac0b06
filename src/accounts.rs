//! Accounts: one real-estate developer (застройщик) each, with the time zone its feeds' dates
//! are shown in.

use sqlx::PgPool;

use crate::Result;

/// Whose things (feed links, API keys) an operation may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// An admin of this account (the settings page and its API).
    Account(i64),
    /// The operator at the command line: any account's.
    Operator,
}

impl Owner {
    /// The account to match, or `None` for any: bound as `$1` in `($1::bigint is null or
    /// account_id = $1)`.
    pub fn account(self) -> Option<i64> {
        match self {
            Owner::Account(id) => Some(id),
            Owner::Operator => None,
        }
    }
}

/// The oldest account, if there is any: the one `domofeed demo` shows.
pub async fn first(db: &PgPool) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar!("select min(id) from accounts")
        .fetch_one(db)
        .await?)
}
