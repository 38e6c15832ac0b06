//! domofeed serves a real-estate developer's CRM data to 1C as two live JSON feeds, compatible
//! with Domoplaner's "Полный от сделок" and "Полный от помещений". The contract for integrators
//! is docs/feeds.md; docs/architecture.md is the map of this crate.
//!
//! A tour, one concern per module, lower layers first (a module uses only those above it):

/// Accounts: a developer each, with the time zone all its feeds show dates in.
pub mod accounts;
/// The settings page's admins, their sessions, and what the page offers to pick from.
pub mod admin;
/// API keys of the CRM write API: one account each, stored as digests.
pub mod apikeys;
/// The command line: serve, migrate, seed, account …, feed …, admin …, apikey …, demo, healthcheck.
pub mod cli;
/// Settings from defaults, `config/domofeed.toml`, the environment and CLI flags; `Debug` hides secrets.
pub mod config;
/// Pool, database creation, migrations, read replicas, `demo`'s own PostgreSQL cluster.
pub mod db;
/// The feed API described: the OpenAPI document, the `/docs` page that renders it, and the
/// guides (docs/feeds.md, docs/1c.md) as text.
pub mod docs;
/// The one error type of the crate.
pub mod error;
/// The two feeds: filters, dates, loading, rendering, streaming.
pub mod feeds;
/// The HTTP server: router, state, the feed route, the settings page, operations routes.
pub mod http;
/// Real data in: items in the feeds' own shape written back (import of feed files, the write API).
pub mod ingest;
/// Feed links: their kind, token and sealing key, lifecycle, authentication and usage records.
pub mod links;
/// Prometheus counters and their encoding: a leaf that anything may count into.
pub mod metrics;
/// What names people give (feeds, accounts, API keys, logins) may hold, and how to print them safely.
pub mod names;
/// Deterministic, realistic demo and benchmark data.
pub mod seed;
/// Logging setup: human-readable or JSON lines.
pub mod telemetry;

pub use error::{Error, Result};
