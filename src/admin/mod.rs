//! Feed links: the secret token in each feed URL, and creating, listing, rotating and revoking
//! feeds. The CLI uses this today; the settings page will too.

mod links;
mod tokens;

pub use links::{create, feed_url, list, reveal, revoke, rotate, FeedInfo, NewFeed};
pub use tokens::{SecretKey, Token};
