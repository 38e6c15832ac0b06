//! Feed links (the secret token in each feed URL; creating, listing, rotating and revoking
//! feeds) and the admins who manage them in the settings page, with their sessions.

pub mod admins;
pub mod catalog;
mod links;
pub mod sessions;
mod tokens;

pub use links::{
    access_log, create, feed_url, find_owned, list, list_with_urls, reveal, revoke, rotate,
    set_allowed_networks, AccessEntry, FeedInfo, NewFeed,
};
pub use tokens::{SecretKey, Token};
