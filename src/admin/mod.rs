//! The people who manage feed links in the settings page: admins, the check of their passwords
//! (`passwords`: argon2id, bounded) and its throttling (`throttle`, `devices`), their sessions,
//! and what the page offers to pick from (houses, stages). Feed links themselves are
//! `crate::links`.

pub mod admins;
pub mod catalog;
pub mod devices;
pub mod passwords;
pub mod sessions;
pub mod throttle;
