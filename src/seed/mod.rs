//! Deterministic demo and benchmark data: `domofeed seed`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::Result;

/// How much to make, and from which random seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Same seed, same options, same `now`, empty database: the same data, byte for byte.
    pub seed: u64,
    pub accounts: u32,
    /// Units per account.
    pub units: u32,
    /// Average deals per unit, failed ones included.
    pub deals_per_unit: f64,
    /// Average payments (plan and fact) per deal.
    pub payments_per_deal: f64,
    /// The moment the data's timestamps lead up to.
    pub now: DateTime<Utc>,
}

/// What a run made.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub account_ids: Vec<i64>,
    pub units: u64,
    pub deals: u64,
    pub clients: u64,
    pub participants: u64,
    pub field_values: u64,
    pub param_values: u64,
    pub payments: u64,
}

pub async fn run(_db: &PgPool, _options: &SeedOptions) -> Result<SeedReport> {
    todo!("seed generator")
}
