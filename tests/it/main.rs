//! Integration tests: one binary, each test on its own PostgreSQL database (`#[sqlx::test]`,
//! which needs DATABASE_URL pointing at a server where it may create databases).

mod accounts;
mod api_keys;
mod bad_input;
mod binary;
mod browser;
mod common;
mod config;
mod deals_feed;
mod demo_feeds;
mod feed_links;
mod feed_values;
mod filters;
mod flaky_proxy;
mod guide;
mod hardening;
mod hardening_process;
mod import;
mod incremental;
mod login_attacks;
mod metrics;
mod openapi;
mod operations;
mod paging;
mod private_db;
mod process;
mod replicas;
mod schema_doc;
mod seed;
mod settings;
mod slow_clients;
mod sync_client;
mod timestamps;
mod units_feed;
mod write_api;
