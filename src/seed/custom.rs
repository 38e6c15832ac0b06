//! Custom deal fields and unit parameters (доп. поля, пользовательские параметры): the
//! definitions every account gets, and which values a deal or unit has.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{Unit, COMMERCIAL, FLAT, PARKING};
use super::copy::{local_day, Rows};
use super::deals::{Deal, CASH, INSTALLMENT, MORTGAGE};
use super::names::{self, pick};

/// Custom unit parameters of every account: title and type.
pub const PARAMS: [(&str, &str); 7] = [
    ("Вид из окна", "string"),
    ("Высота потолков", "number"),
    ("Отделка", "string"),
    ("Дата БТИ", "date"),
    ("Угловая", "bool"),
    ("Электрозарядка", "bool"),
    ("Дата начала продаж", "date"),
];

/// Custom deal fields of every account.
pub const FIELDS: [(&str, &str); 8] = [
    ("Источник", "string"),
    ("Дата первого контакта", "date"),
    ("Форма оплаты", "string"),
    ("Рассрочка", "bool"),
    ("Ипотечный банк", "string"),
    ("Дата одобрения", "date"),
    ("Материнский капитал", "bool"),
    ("Скидка, %", "number"),
];

pub enum Value<'a> {
    Text(Option<&'a str>),
    /// A decimal: value and scale.
    Number(i64, u32),
    Date(i32),
    Bool(bool),
}

/// Writes `type, value_string, value_number, value_date, value_bool`.
pub fn value(r: &mut Rows, v: Value) {
    let kind = match v {
        Value::Text(_) => "string",
        Value::Number(..) => "number",
        Value::Date(_) => "date",
        Value::Bool(_) => "bool",
    };
    r.text(kind);
    match v {
        Value::Text(s) => r.opt_text(s),
        _ => r.null(),
    }
    match v {
        Value::Number(n, scale) => r.decimal(n, scale, true),
        _ => r.null(),
    }
    match v {
        Value::Date(d) => r.date(d),
        _ => r.null(),
    }
    match v {
        Value::Bool(b) => r.boolean(b),
        _ => r.null(),
    }
}

pub fn unit_params(
    rng: &mut ChaCha8Rng,
    u: &Unit,
    ceiling_cm: i64,
    finish: u8,
    deadline: Option<i32>,
    today: i32,
    on_sale: i32,
) -> Vec<(usize, Value<'static>)> {
    let mut out = Vec::with_capacity(7);
    let (flat, shop) = (u.kind == FLAT, u.kind == COMMERCIAL);
    if (flat && rng.gen_bool(0.9)) || (shop && rng.gen_bool(0.5)) {
        let view = rng.gen_bool(0.99).then(|| *pick(rng, names::VIEWS));
        out.push((0, Value::Text(view)));
    }
    if flat && rng.gen_bool(0.95) {
        out.push((1, Value::Number(ceiling_cm, 2)));
    } else if shop {
        out.push((1, Value::Number(ceiling_cm + rng.gen_range(20..=30) * 5, 2)));
    }
    if (flat && rng.gen_bool(0.92)) || (shop && rng.gen_bool(0.6)) {
        let finish = if shop {
            rng.gen_range(0..2)
        } else if rng.gen_bool(0.9) {
            usize::from(finish)
        } else {
            rng.gen_range(0..4)
        };
        out.push((2, Value::Text(Some(names::FINISHES[finish]))));
    }
    if let Some(deadline) = deadline.filter(|&d| d < today - 30) {
        out.push((3, Value::Date(deadline - rng.gen_range(20..90))));
    }
    if flat {
        out.push((4, Value::Bool(u.corner)));
    }
    if u.kind == PARKING {
        out.push((5, Value::Bool(rng.gen_bool(0.15))));
    }
    if rng.gen_bool(0.8) {
        out.push((6, Value::Date(on_sale)));
    }
    out
}

pub fn deal_fields(
    rng: &mut ChaCha8Rng,
    d: &Deal,
    price: i64,
    offset: i64,
) -> Vec<(usize, Value<'static>)> {
    let mut out = Vec::with_capacity(8);
    let created = local_day(d.created, offset);
    out.push((
        0,
        Value::Text(rng.gen_bool(0.99).then(|| *pick(rng, names::SOURCES))),
    ));
    if rng.gen_bool(0.95) {
        out.push((1, Value::Date(created - rng.gen_range(0..=30))));
    }
    if rng.gen_bool(0.95) {
        let form = match d.form {
            CASH => "100% оплата",
            MORTGAGE if d.matcap => "Ипотека + материнский капитал",
            MORTGAGE => "Ипотека",
            _ => "Рассрочка",
        };
        out.push((2, Value::Text(Some(form))));
    }
    if rng.gen_bool(0.9) {
        out.push((3, Value::Bool(d.form == INSTALLMENT)));
    }
    if d.form == MORTGAGE && rng.gen_bool(0.95) {
        out.push((4, Value::Text(Some(names::BANKS[usize::from(d.bank)]))));
        if d.reached >= 1 && rng.gen_bool(0.85) {
            let updated = local_day(d.updated, offset);
            out.push((
                5,
                Value::Date((created + rng.gen_range(1..=10)).min(updated)),
            ));
        }
    }
    if !d.company && rng.gen_bool(0.6) {
        out.push((6, Value::Bool(d.matcap)));
    }
    if let Some(sum) = d.sum.filter(|_| rng.gen_bool(0.8)) {
        // Tenths of a per cent off the list price.
        let off = if sum < price {
            ((price - sum) * 2000 / price + 1) / 2
        } else {
            0
        };
        out.push((7, Value::Number(off, 1)));
    }
    out
}
