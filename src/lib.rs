//! domofeed serves a real-estate developer's CRM data to 1C as two live JSON feeds, compatible
//! with Domoplaner's "Полный от сделок" and "Полный от помещений". The contract is FEEDS.md.
//!
//! A tour of the crate, one concern per module:

/// Feed links (tokens: digest and sealed copy; their lifecycle) and the settings page's admins and
/// sessions.
pub mod admin;
/// The command line: serve, migrate, seed, feed …, admin …, demo.
pub mod cli;
/// Settings from defaults, `config/domofeed.toml`, the environment and CLI flags; `Debug` hides secrets.
pub mod config;
/// Pool, database creation, migrations.
pub mod db;
/// The feed API described: the OpenAPI document and the `/docs` page that renders it.
pub mod docs;
/// The one error type of the crate.
pub mod error;
/// The two feeds: filters, dates, rendering, streaming.
pub mod feeds;
/// The HTTP server: router, state, error responses, and the settings page with its JSON API.
pub mod http;
/// Prometheus metrics: requests, feed sizes and times, the database pool.
pub mod metrics;
/// Deterministic, realistic demo and benchmark data.
pub mod seed;
/// Logging setup: human-readable or JSON lines.
pub mod telemetry;

pub use error::{Error, Result};
