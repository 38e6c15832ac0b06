//! Feed links: the secret token in each feed URL, and creating, listing, rotating and revoking
//! feeds. The CLI uses this today; the settings page will too.

mod links;
mod tokens;

pub use links::{
    access_log, create, feed_url, list, reveal, revoke, rotate, set_allowed_networks, AccessEntry,
    FeedInfo, NewFeed,
};
pub use tokens::{SecretKey, Token};
