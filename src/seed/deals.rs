//! Deals on units: how many, in which stage, and the timeline that leads there. A unit has at most
//! one active deal, made after its failed ones; its status follows that deal's stage.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{Unit, COMMERCIAL, FLAT};
use super::copy::{local_day, DAY};
use super::names;
use super::Clock;

/// Stages of every account, in order: title and kind. Indices 0..=6 are the path a deal walks.
pub const STAGES: [(&str, &str); 9] = [
    ("Новая заявка", "open"),
    ("Бронь", "open"),
    ("Подготовка договора", "open"),
    ("Договор подписан", "open"),
    ("Подано на регистрацию", "open"),
    ("ДДУ зарегистрирован", "success"),
    ("Оплачено полностью", "success"),
    ("Отказ клиента", "failed"),
    ("Бронь снята", "failed"),
];
pub const SIGNED: u8 = 3;
pub const REGISTERED: u8 = 5;
pub const PAID: u8 = 6;
pub const REFUSED: u8 = 7;
pub const UNBOOKED: u8 = 8;

/// Weights of the stages of active deals.
const ACTIVE_WEIGHTS: [u32; 7] = [6, 10, 6, 6, 5, 45, 22];

pub const CASH: u8 = 0;
pub const MORTGAGE: u8 = 1;
pub const INSTALLMENT: u8 = 2;

pub fn is_failed(stage: u8) -> bool {
    stage >= REFUSED
}

pub fn is_success(stage: u8) -> bool {
    stage == REGISTERED || stage == PAID
}

/// The unit status that an active deal in `stage` gives: reserve, processing or sold.
pub fn unit_status(stage: u8) -> u8 {
    match stage {
        0 | 1 => 1,
        2..=4 => 2,
        _ => 3,
    }
}

pub struct Deal {
    pub unit: u32,
    pub stage: u8,
    /// The furthest stage of the path reached (before failing, for a failed deal).
    pub reached: u8,
    /// Which contract of the unit this is (1, 2, …), for the contract number.
    pub seq: u8,
    pub manager: Option<u32>,
    pub has_number: bool,
    pub dogovor_day: Option<i32>,
    pub reg_start: Option<i32>,
    pub reg_end: Option<i32>,
    /// Kopecks; none before the unit was booked.
    pub sum: Option<i64>,
    pub created: i64,
    pub status_changed: i64,
    pub updated: i64,
    /// When the payment schedule was made.
    pub plan_at: i64,
    /// Day of the first scheduled payment, and of the bank's (mortgage).
    pub pay_day: i32,
    pub bank_day: i32,
    pub form: u8,
    pub bank: u8,
    pub matcap: bool,
    pub company: bool,
    /// Monthly payments after the first one (installment plans).
    pub installments: u32,
    /// A failed deal whose first payment had come in.
    pub paid_first: bool,
    /// Its buyers: `participants[first_part..first_part + parts]`.
    pub first_part: u32,
    pub parts: u8,
}

fn step(rng: &mut ChaCha8Rng, to: usize, form: u8) -> i64 {
    match to {
        1 => rng.gen_range(2 * 3600..5 * DAY),
        2 => rng.gen_range(DAY..14 * DAY),
        3 => rng.gen_range(2 * DAY..21 * DAY),
        4 => rng.gen_range(DAY..10 * DAY),
        5 => rng.gen_range(5 * DAY..20 * DAY),
        _ if form == INSTALLMENT => rng.gen_range(30 * DAY..300 * DAY),
        _ => rng.gen_range(3 * DAY..45 * DAY),
    }
}

/// Shrinks `steps` proportionally so that they take at most `avail` seconds.
fn fit(steps: &mut [i64], avail: i64) {
    let total: i64 = steps.iter().sum();
    if total > avail {
        let avail = avail.max(0);
        for s in steps {
            *s = (i128::from(*s) * i128::from(avail) / i128::from(total)) as i64;
        }
    }
}

fn weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let mut roll = rng.gen_range(0..weights.iter().sum::<u32>());
    for (i, &w) in weights.iter().enumerate() {
        if roll < w {
            return i;
        }
        roll -= w;
    }
    weights.len() - 1
}

/// A deal's buyer kind and how it pays.
fn new_deal(rng: &mut ChaCha8Rng, unit_index: u32, unit: &Unit, stage: u8, managers: u32) -> Deal {
    let company = rng.gen_bool(match unit.kind {
        COMMERCIAL => 0.55,
        FLAT => 0.015,
        _ => 0.03,
    });
    let form = if company {
        [CASH, INSTALLMENT][weighted(rng, &[60, 40])]
    } else {
        let w: &[u32] = match unit.kind {
            FLAT => &[22, 58, 20],
            COMMERCIAL => &[50, 20, 30],
            _ => &[60, 15, 25],
        };
        [CASH, MORTGAGE, INSTALLMENT][weighted(rng, w)]
    };
    let manager = if stage == 0 && rng.gen_bool(0.2) {
        None
    } else {
        Some(rng.gen_range(0..managers).min(rng.gen_range(0..managers)))
    };
    Deal {
        unit: unit_index,
        stage,
        reached: 0,
        seq: 0,
        manager,
        has_number: false,
        dogovor_day: None,
        reg_start: None,
        reg_end: None,
        sum: None,
        created: 0,
        status_changed: 0,
        updated: 0,
        plan_at: 0,
        pay_day: 0,
        bank_day: 0,
        form,
        bank: rng.gen_range(0..names::BANKS.len()) as u8,
        matcap: !company && form == MORTGAGE && unit.kind == FLAT && rng.gen_bool(0.12),
        company,
        installments: 0,
        paid_first: false,
        first_part: 0,
        parts: 0,
    }
}

/// Fills in what follows from the deal's timeline `t` (the moment each path stage was reached).
fn contract(rng: &mut ChaCha8Rng, clock: &Clock, unit: &Unit, d: &mut Deal, t: &[i64; 7]) {
    let r = usize::from(d.reached);
    let day = |i: usize| local_day(t[i], clock.offset);
    if r >= 1 {
        // The price when booked: mostly the list price, sometimes with a discount or a rise.
        let per_10k = match rng.gen_range(0..100) {
            0..=49 => 10_000,
            50..=84 => rng.gen_range(9_300..10_000),
            _ => rng.gen_range(10_001..=10_300),
        };
        let sum = i128::from(unit.price) * per_10k / 10_000;
        d.sum = Some((((sum + 50_000) / 100_000) as i64).max(1) * 100_000);
    }
    d.created = t[0];
    d.has_number = r >= 3 || (r == 2 && rng.gen_bool(0.6));
    d.dogovor_day = (r >= 3).then(|| day(3));
    d.reg_start = (r >= 4).then(|| day(4));
    d.reg_end = (r >= 5).then(|| day(5));
    let anchor = r.min(3);
    d.plan_at = (t[anchor] + rng.gen_range(60..3600)).min(d.updated);
    d.pay_day = if r >= 3 {
        day(3) + rng.gen_range(1..=10)
    } else {
        day(anchor) + rng.gen_range(7..=30)
    };
    d.bank_day = if r >= 5 {
        day(5) + rng.gen_range(1..=7)
    } else {
        d.pay_day + rng.gen_range(20..=45)
    };
}

/// The unit's active deal, ending in `stage` and leaving room for `failed` deals before it.
fn active_deal(
    rng: &mut ChaCha8Rng,
    clock: &Clock,
    ui: u32,
    unit: &Unit,
    stage: u8,
    failed: usize,
    managers: u32,
) -> Deal {
    let mut d = new_deal(rng, ui, unit, stage, managers);
    let s = usize::from(stage);
    d.reached = stage;
    let mut steps = [0i64; 7];
    for (i, step_i) in steps.iter_mut().enumerate().take(s + 1).skip(1) {
        *step_i = step(rng, i, d.form);
    }
    // The unit's failed deals come first and need a few days each.
    let room = failed as i64 * 3 * DAY;
    let path: i64 = steps.iter().sum();
    let need = room + path;
    let recent = clock.recent(rng);
    let moved = recent.filter(|_| rng.gen_bool(0.3));
    let hi = moved.unwrap_or(clock.old_until);
    let span = (hi - unit.created).max(0);
    let changed = match moved {
        Some(r) => r,
        None if need < span => rng.gen_range(unit.created + need..=hi),
        None => rng.gen_range((unit.created + span / 2).min(hi)..=hi),
    };
    let updated = match (moved, recent) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) if rng.gen_bool(0.4) => changed,
        (None, None) => changed + rng.gen_range(0..=(120 * DAY).min(hi - changed)),
    };
    // When the unit has not been on sale long enough, every step takes its share of the time.
    let avail = changed - unit.created;
    if need > avail {
        fit(
            &mut steps[1..=s],
            (i128::from(avail) * i128::from(path) / i128::from(need)) as i64,
        );
    }
    let mut t = [0i64; 7];
    t[s] = changed;
    for i in (0..s).rev() {
        t[i] = t[i + 1] - steps[i + 1];
    }
    d.status_changed = changed;
    d.updated = updated;
    contract(rng, clock, unit, &mut d, &t);
    d
}

/// A failed deal living in `[start, end)`.
fn failed_deal(
    rng: &mut ChaCha8Rng,
    clock: &Clock,
    ui: u32,
    unit: &Unit,
    start: i64,
    end: i64,
    managers: u32,
) -> Deal {
    let stage = if rng.gen_bool(0.35) {
        UNBOOKED
    } else {
        REFUSED
    };
    let mut d = new_deal(rng, ui, unit, stage, managers);
    d.reached = if stage == UNBOOKED {
        1
    } else {
        weighted(rng, &[30, 30, 15, 15, 10]) as u8
    };
    let r = usize::from(d.reached);
    let mut steps = [0i64; 8];
    for (i, step_i) in steps.iter_mut().enumerate().take(r + 1).skip(1) {
        *step_i = step(rng, i, d.form);
    }
    steps[7] = rng.gen_range(DAY..30 * DAY);
    fit(&mut steps, (end - start) * 9 / 10);
    let mut t = [start; 7];
    for i in 1..=r {
        t[i] = t[i - 1] + steps[i];
    }
    let failed_at = t[r] + steps[7];
    d.status_changed = failed_at;
    d.updated = match clock.recent(rng) {
        Some(r) => r,
        None if rng.gen_bool(0.5) => failed_at,
        None => failed_at + rng.gen_range(0..=(30 * DAY).min(clock.old_until - failed_at).max(0)),
    };
    contract(rng, clock, unit, &mut d, &t);
    d.paid_first = r >= 3 && d.sum.is_some() && rng.gen_bool(0.5);
    d
}

/// Makes about `per_unit` deals per unit, sets each unit's status and `updated`, and returns the
/// deals in the order they were created.
pub fn build(
    rng: &mut ChaCha8Rng,
    clock: &Clock,
    units: &mut [Unit],
    per_unit: f64,
    managers: u32,
) -> Vec<Deal> {
    const BASE_FREE: [f64; 4] = [0.22, 0.40, 0.45, 0.35];
    let managers = managers.max(1);
    let n = units.len().max(1) as f64;
    let base_active: f64 = units
        .iter()
        .map(|u| 1.0 - BASE_FREE[usize::from(u.kind)])
        .sum::<f64>()
        / n;
    let active_share = (0.8 * per_unit).min(base_active);
    let keep = if base_active > 0.0 {
        active_share / base_active
    } else {
        0.0
    };
    let failed_mean = (per_unit - active_share).max(0.0);
    let more_failed = failed_mean / (1.0 + failed_mean);

    let mut deals = Vec::with_capacity((per_unit * n * 1.05) as usize + 16);
    for (ui, unit) in units.iter_mut().enumerate() {
        let ui = ui as u32;
        let p_active = ((1.0 - BASE_FREE[usize::from(unit.kind)]) * keep).clamp(0.0, 1.0);
        let active = rng.gen_bool(p_active);
        let mut failed = 0;
        while failed < 12 && rng.gen_bool(more_failed) {
            failed += 1;
        }
        let first = deals.len();
        let active = active.then(|| {
            let stage = weighted(rng, &ACTIVE_WEIGHTS) as u8;
            active_deal(rng, clock, ui, unit, stage, failed, managers)
        });
        let end = active
            .as_ref()
            .map_or(clock.old_until, |d| d.created)
            .max(unit.created);
        let mut starts: Vec<i64> = (0..failed)
            .map(|_| rng.gen_range(unit.created..=end))
            .collect();
        starts.sort_unstable();
        for j in 0..failed {
            let next = starts.get(j + 1).copied().unwrap_or(end);
            deals.push(failed_deal(rng, clock, ui, unit, starts[j], next, managers));
        }
        unit.status = active.as_ref().map_or(0, |d| unit_status(d.stage));
        deals.extend(active);
        // Contract numbers count the unit's contracts in order; the unit changes with every stage.
        let mut seq = 0u8;
        let mut changed = unit.created;
        for d in &mut deals[first..] {
            if d.has_number {
                seq = seq.saturating_add(1);
                d.seq = seq;
            }
            changed = changed.max(d.status_changed);
        }
        if rng.gen_bool(0.6) {
            changed = changed.max(rng.gen_range(unit.created..=clock.old_until));
        }
        unit.updated = clock.recent(rng).map_or(changed, |r| r.max(changed));
        // A few sold units and some shops ("price on request") hide their price.
        let hidden = (unit.status == 3 && rng.gen_bool(0.02))
            || (unit.kind == COMMERCIAL && rng.gen_bool(0.1));
        unit.price_shown = !hidden;
    }
    deals.sort_by_key(|d| d.created);
    deals
}

/// Sets the length of installment plans so that deals get `per_deal` payments on average,
/// counting plan items and the facts that will pay them.
pub fn calibrate(rng: &mut ChaCha8Rng, deals: &mut [Deal], per_deal: f64) {
    let fact_share = |d: &Deal| {
        if is_success(d.stage) {
            1.0
        } else if !is_failed(d.stage) && d.reached >= SIGNED {
            0.4
        } else {
            0.0
        }
    };
    let (mut fixed, mut per_installment) = (0.0, 0.0);
    for d in deals.iter().filter(|d| d.sum.is_some()) {
        let share = 1.0 + fact_share(d);
        fixed += share
            * match d.form {
                MORTGAGE => 2.0 + f64::from(u8::from(d.matcap)),
                _ => 1.0,
            };
        fixed += f64::from(u8::from(d.paid_first));
        if d.form == INSTALLMENT {
            per_installment += share;
        }
    }
    let wanted = per_deal * deals.len() as f64;
    let mean = if per_installment > 0.0 {
        ((wanted - fixed) / per_installment).clamp(1.0, 60.0)
    } else {
        1.0
    };
    for d in deals
        .iter_mut()
        .filter(|d| d.form == INSTALLMENT && d.sum.is_some())
    {
        let m = mean * (0.5 + rng.gen::<f64>()) + rng.gen::<f64>();
        d.installments = (m as u32).max(1);
    }
}
