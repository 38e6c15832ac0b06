//! The people who manage feed links in the settings page: admins (argon2id passwords, login
//! throttling), their sessions, and what the page offers to pick from (houses, stages). Feed
//! links themselves are `crate::links`.

pub mod admins;
pub mod catalog;
pub mod sessions;
