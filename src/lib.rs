//! domofeed serves a real-estate developer's CRM data to 1C as two live JSON feeds, compatible
//! with Domoplaner's "Полный от сделок" and "Полный от помещений". The contract is FEEDS.md.
//!
//! A tour of the crate, one concern per module:

/// Feed links: tokens (digest and sealed copy) and their lifecycle.
pub mod admin;
/// The command line: serve, migrate, seed, feed …, demo.
pub mod cli;
/// Settings from defaults, `config/domofeed.toml`, the environment and CLI flags; `Debug` hides secrets.
pub mod config;
/// Pool, database creation, migrations.
pub mod db;
/// The one error type of the crate.
pub mod error;
/// The two feeds: filters, dates, rendering, streaming.
pub mod feeds;
/// The HTTP server: router, state, error responses.
pub mod http;
/// Deterministic, realistic demo and benchmark data.
pub mod seed;
/// Logging setup.
pub mod telemetry;

pub use error::{Error, Result};
