//! Accounts: one real-estate developer (застройщик) each, with the time zone its feeds' dates
//! are shown in.

use sqlx::PgPool;

use crate::Result;

/// The oldest account, if there is any: the one `domofeed demo` shows.
pub async fn first(db: &PgPool) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar!("select min(id) from accounts")
        .fetch_one(db)
        .await?)
}
