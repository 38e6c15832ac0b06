//! Deterministic demo and benchmark data: `domofeed seed`.
//!
//! Each account is generated in memory first, compactly (catalog, deals with their timelines,
//! buyers), then written with COPY table by table in foreign-key order; details nothing else
//! depends on (documents, custom values, payments) are drawn while writing. Every account and
//! every such table has its own random stream, so the same options give the same rows.
//!
//! The whole run is one transaction. It disables the user triggers of the tables it fills (they
//! would stamp every row with `now()`, and the statement triggers would touch deals once per COPY)
//! and sets `is_active`, `dt_updated` and `dt_status_changed` itself, consistently; the triggers
//! are enabled again before the commit, so no other session ever sees them off. A superuser also
//! skips the row-by-row foreign-key triggers and has every key checked in bulk instead (see
//! `session`). Ids are numbered here from the tables' current maximum and the sequences moved
//! past them at the end.

mod buyers;
mod catalog;
mod copy;
mod custom;
mod deals;
mod ids;
mod names;
mod payments;
mod people;
mod rows;
mod session;

use chrono::{DateTime, Offset, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::PgPool;

use self::copy::DAY;
use crate::{Error, Result};

/// The most units one account may be seeded with (≈64 GB of database at this size).
pub const MAX_UNITS: u32 = 10_000_000;
/// The most accounts one run may make.
pub const MAX_ACCOUNTS: u32 = 1_000;

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
    pub projects: u64,
    pub houses: u64,
}

/// The tables a seed fills, in foreign-key order.
const TABLES: [&str; 16] = [
    "accounts",
    "projects",
    "houses",
    "sections",
    "organizations",
    "managers",
    "deal_stages",
    "unit_params",
    "deal_fields",
    "units",
    "unit_param_values",
    "clients",
    "deals",
    "deal_participants",
    "deal_field_values",
    "payments",
];

/// The last id used in each table with an identity column.
#[derive(Debug, Clone, Copy, Default)]
struct Ids {
    account: i64,
    project: i64,
    house: i64,
    section: i64,
    org: i64,
    manager: i64,
    stage: i64,
    param: i64,
    field: i64,
    unit: i64,
    client: i64,
    deal: i64,
    participant: i64,
    payment: i64,
}

impl Ids {
    fn slots(&mut self) -> [(&'static str, &mut i64); 14] {
        [
            ("accounts", &mut self.account),
            ("projects", &mut self.project),
            ("houses", &mut self.house),
            ("sections", &mut self.section),
            ("organizations", &mut self.org),
            ("managers", &mut self.manager),
            ("deal_stages", &mut self.stage),
            ("unit_params", &mut self.param),
            ("deal_fields", &mut self.field),
            ("units", &mut self.unit),
            ("clients", &mut self.client),
            ("deals", &mut self.deal),
            ("deal_participants", &mut self.participant),
            ("payments", &mut self.payment),
        ]
    }
}

/// An account's "now" and the edges of the recent past, in its time zone.
pub(crate) struct Clock {
    pub now: i64,
    /// The zone's offset east of UTC, in seconds.
    pub offset: i64,
    /// Local midnight that started today.
    pub today_start: i64,
    /// Local midnight six days before: from here on is "the last 7 days".
    pub week_from: i64,
    /// Rows that did not change recently changed at this moment at the latest.
    pub old_until: i64,
}

impl Clock {
    fn new(now: i64, offset: i64) -> Clock {
        let today_start = (now + offset).div_euclid(DAY) * DAY - offset;
        let week_from = today_start - 6 * DAY;
        Clock {
            now,
            offset,
            today_start,
            week_from,
            old_until: week_from - 1,
        }
    }

    /// When a row last changed if it did so recently: today for ≈0.05% of rows, earlier this
    /// week for ≈0.95%; `None` for the rest, which changed before `old_until`.
    pub fn recent(&self, rng: &mut ChaCha8Rng) -> Option<i64> {
        let roll: f64 = rng.gen();
        if roll < 0.0005 {
            Some(rng.gen_range(self.today_start..=self.now.max(self.today_start)))
        } else if roll < 0.01 {
            Some(rng.gen_range(self.week_from..self.today_start))
        } else {
            None
        }
    }
}

/// One account, generated and waiting to be written.
pub(crate) struct World {
    index: u32,
    name: String,
    timezone: &'static str,
    created: i64,
    clock: Clock,
    payments_per_deal: f64,
    managers: Vec<String>,
    catalog: catalog::Catalog,
    deals: Vec<deals::Deal>,
    clients: Vec<buyers::Client>,
    participants: Vec<buyers::Participant>,
}

/// The random stream of `account`'s table `table` (0 for the generated world).
fn stream(seed: u64, account: u32, table: u64) -> ChaCha8Rng {
    // SplitMix64 of the three, so that neighbouring seeds give unrelated streams.
    let mut z = seed ^ (u64::from(account) << 32 | table).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

fn generate(options: &SeedOptions, index: u32) -> World {
    let mut rng = stream(options.seed, index, 0);
    let region = if index == 0 {
        0
    } else {
        1 + (index as usize - 1) % 3
    };
    let zone = names::REGIONS[region].timezone;
    let offset = zone
        .parse::<chrono_tz::Tz>()
        .map(|tz| {
            i64::from(
                options
                    .now
                    .with_timezone(&tz)
                    .offset()
                    .fix()
                    .local_minus_utc(),
            )
        })
        .unwrap_or(3 * 3600);
    let clock = Clock::new(options.now.timestamp(), offset);
    let own_name = if index == 0 {
        0
    } else {
        rng.gen_range(1..names::PLACE_NAMES)
    };
    let mut catalog = catalog::build(
        &mut rng,
        &clock,
        &names::REGIONS[region],
        own_name,
        options.units,
    );
    let managers: Vec<String> = (0..(4 + options.units / 4000).min(40))
        .map(|_| {
            let last = names::LAST[rng.gen_range(0..names::LAST.len())];
            if rng.gen_bool(0.55) {
                let first = names::FEMALE[rng.gen_range(0..names::FEMALE.len())];
                format!("{} {first}", names::female_last_name(last))
            } else {
                format!(
                    "{last} {}",
                    names::MALE[rng.gen_range(0..names::MALE.len())].0
                )
            }
        })
        .collect();
    let mut deals = deals::build(
        &mut rng,
        &clock,
        &mut catalog.units,
        options.deals_per_unit,
        managers.len() as u32,
    );
    deals::calibrate(&mut rng, &mut deals, options.payments_per_deal);
    let houses = catalog.houses.len();
    let (clients, participants) = buyers::build(
        &mut rng,
        &clock,
        region as u8,
        &catalog.units,
        houses,
        &mut deals,
    );
    World {
        index,
        name: format!("ГК «{}»", names::place_name(own_name)),
        timezone: zone,
        created: clock.now - 800 * DAY + rng.gen_range(0..DAY),
        clock,
        payments_per_deal: options.payments_per_deal,
        managers,
        catalog,
        deals,
        clients,
        participants,
    }
}

fn check(options: &SeedOptions) -> Result<()> {
    let ratio = |name: &str, v: f64| {
        if v.is_finite() && (0.0..=100.0).contains(&v) {
            Ok(())
        } else {
            Err(Error::bad_request(
                name,
                format!("expected a number from 0 to 100, got {v}"),
            ))
        }
    };
    ratio("deals_per_unit", options.deals_per_unit)?;
    ratio("payments_per_deal", options.payments_per_deal)?;
    if options.accounts == 0 || options.accounts > MAX_ACCOUNTS {
        return Err(Error::bad_request(
            "accounts",
            format!("expected 1 to {MAX_ACCOUNTS}, got {}", options.accounts),
        ));
    }
    if options.units == 0 || options.units > MAX_UNITS {
        return Err(Error::bad_request(
            "units",
            format!(
                "expected 1 to {MAX_UNITS} per account, got {}",
                options.units
            ),
        ));
    }
    Ok(())
}

/// Seeds `options.accounts` new accounts next to whatever the database holds.
pub async fn run(db: &PgPool, options: &SeedOptions) -> Result<SeedReport> {
    check(options)?;
    let mut tx = db.begin().await?;
    let session = session::prepare(&mut tx, &TABLES).await?;
    let mut ids = Ids::default();
    for (table, last) in ids.slots() {
        *last = session::last_id(&mut tx, table).await?;
    }
    let start = ids;

    let mut report = SeedReport::default();
    for index in 0..options.accounts {
        let world = generate(options, index);
        let written = rows::write(&mut tx, &world, &ids, options.seed).await?;
        let cat = &world.catalog;
        report.account_ids.push(ids.account + 1);
        report.projects += cat.projects.len() as u64;
        report.houses += cat.houses.len() as u64;
        report.units += cat.units.len() as u64;
        report.deals += world.deals.len() as u64;
        report.clients += world.clients.len() as u64;
        report.participants += world.participants.len() as u64;
        report.param_values += written.param_values;
        report.field_values += written.field_values;
        report.payments += written.payments;
        ids.account += 1;
        ids.project += cat.projects.len() as i64;
        ids.house += cat.houses.len() as i64;
        ids.section += cat.sections.len() as i64;
        ids.org += cat.orgs.len() as i64;
        ids.manager += world.managers.len() as i64;
        ids.stage += deals::STAGES.len() as i64;
        ids.param += custom::PARAMS.len() as i64;
        ids.field += custom::FIELDS.len() as i64;
        ids.unit += cat.units.len() as i64;
        ids.client += world.clients.len() as i64;
        ids.deal += world.deals.len() as i64;
        ids.participant += world.participants.len() as i64;
        ids.payment += written.payments as i64;
    }

    let mut before = start;
    for ((table, last), (_, was)) in ids.slots().into_iter().zip(before.slots()) {
        if *last > *was {
            session::move_sequence(&mut tx, table, *last).await?;
        }
    }
    session::finish(&mut tx, session).await?;
    tx.commit().await?;
    Ok(report)
}
