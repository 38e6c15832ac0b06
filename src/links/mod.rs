//! The feed link: a secret URL `/dc-api/feeds/{id}-{token}/` that serves one account's deals or
//! units to 1C. Everything about it lives here: its kind, its token and the key that seals the
//! token's copy (`token`), its lifecycle, each operation scoped by account in one statement
//! (`store`), the check of a request's URL (`auth`), and the record of its use (`usage`, written
//! in the background by `recorder`).
//!
//! The feeds themselves (what a link serves) are the `feeds` module; who may manage links in the
//! settings page is the `admin` module.

mod auth;
pub mod recorder;
mod store;
mod token;
mod usage;

/// Whose feed links an operation may touch.
pub use crate::accounts::Owner;
pub use auth::{authenticate, feed_id_of, Feed};
pub use store::{
    access_log, create, feed_url, feed_url_of_segment, kind_of, list, list_with_urls, reveal,
    revoke, rotate, set_allowed_networks, AccessEntry, FeedInfo, NewFeed,
};
pub use token::{SecretKey, Token, TOKEN_LEN};
pub use usage::{touch_last_used, AccessLog};

/// Which feed a link serves. Stored in `feeds.kind` as `deals` or `units`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    sqlx::Type,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    /// "Полный от сделок": one item per deal.
    Deals,
    /// "Полный от помещений": one item per unit.
    Units,
}

impl FeedKind {
    /// The name users know the feed by.
    pub fn title(self) -> &'static str {
        match self {
            FeedKind::Deals => "Полный от сделок",
            FeedKind::Units => "Полный от помещений",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Deals => "deals",
            FeedKind::Units => "units",
        }
    }
}
