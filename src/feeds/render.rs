//! Writes the items of docs/feeds.md as JSON, in the contract's key order. Both feeds use the same
//! writers for the unit object and the deal object.
//!
//! The writer is hand-rolled rather than serde-derived so that numeric text from PostgreSQL goes
//! out verbatim (exact decimals, no float round trip) and so that dates are formatted straight
//! into the output buffer.

use std::io::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{
    dates::{write_datetime, DateFormat},
    load::{CustomValueRow, DealKids, DealRow, ParticipantRow, PaymentRow, Tombstone, UnitRow},
};

/// How this request renders dates.
#[derive(Clone, Copy)]
pub struct Style<'a> {
    pub tz: Tz,
    pub date_format: &'a DateFormat,
}

/// A JSON object being written: `key` adds the comma and the quoted key, the value follows.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    /// `key` must be plain ASCII without quotes: all keys are literals of this module.
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn int(&mut self, key: &str, value: i64) {
        let out = self.key(key);
        let _ = write!(out, "{value}");
    }

    fn opt_int(&mut self, key: &str, value: Option<i64>) {
        match value {
            Some(value) => self.int(key, value),
            None => self.key(key).extend_from_slice(b"null"),
        }
    }

    /// A 0/1 flag, as the source format has it.
    fn flag(&mut self, key: &str, value: bool) {
        self.int(key, i64::from(value));
    }

    fn str(&mut self, key: &str, value: &str) {
        string(self.key(key), value);
    }

    /// A text that may be missing. An empty text (a CRM may store one) is written as null too:
    /// the contract never writes `""` for a missing value.
    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        let out = self.key(key);
        match value {
            Some(value) if !value.is_empty() => string(out, value),
            _ => out.extend_from_slice(b"null"),
        }
    }

    fn number(&mut self, key: &str, value: Option<&str>) {
        number(self.key(key), value);
    }

    fn date(&mut self, key: &str, value: Option<NaiveDate>, style: Style) {
        date(self.key(key), value, style);
    }

    fn datetime(&mut self, key: &str, value: DateTime<Utc>, style: Style) {
        let out = self.key(key);
        out.push(b'"');
        write_datetime(value, style.tz, out);
        out.push(b'"');
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

fn string(out: &mut Vec<u8>, value: &str) {
    // Serializing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// A numeric as PostgreSQL printed it. Its text is already a JSON number, except for NaN and
/// ±Infinity, which JSON cannot carry and which become null.
fn number(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(text) if is_json_number(text) => out.extend_from_slice(text.as_bytes()),
        _ => out.extend_from_slice(b"null"),
    }
}

fn is_json_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn date(out: &mut Vec<u8>, value: Option<NaiveDate>, style: Style) {
    match value {
        Some(day) => {
            out.push(b'"');
            style.date_format.write(day, out);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// One item of the deals feed: the deal object with `flat`.
pub fn deal_item(
    out: &mut Vec<u8>,
    style: Style,
    deal: &DealRow,
    kids: DealKids<'_>,
    unit: &UnitRow,
    params: &[CustomValueRow],
) {
    let mut item = Object::open(out);
    deal_fields(&mut item, style, deal, kids);
    unit_object(item.key("flat"), style, unit, params);
    item.close();
}

/// One item of the units feed: the unit object with `deal` (the active deal, or null).
pub fn unit_item(
    out: &mut Vec<u8>,
    style: Style,
    unit: &UnitRow,
    params: &[CustomValueRow],
    deal: Option<(&DealRow, DealKids<'_>)>,
) {
    let mut item = Object::open(out);
    unit_fields(&mut item, style, unit, params);
    let out = item.key("deal");
    match deal {
        Some((deal, kids)) => {
            let mut object = Object::open(out);
            deal_fields(&mut object, style, deal, kids);
            object.close();
        }
        None => out.extend_from_slice(b"null"),
    }
    item.close();
}

/// One entry of `deleted`: `{"id", "dt_deleted"}`.
pub fn tombstone(out: &mut Vec<u8>, style: Style, tombstone: &Tombstone) {
    let mut o = Object::open(out);
    o.int("id", tombstone.id);
    o.datetime("dt_deleted", tombstone.dt_deleted, style);
    o.close();
}

fn deal_fields(o: &mut Object, style: Style, deal: &DealRow, kids: DealKids<'_>) {
    o.int("id", deal.id);
    o.int("status_id", deal.status_id);
    o.str("status_title", &deal.status_title);
    o.flag("is_active", deal.is_active);
    o.opt_str("dogovor_number", deal.dogovor_number.as_deref());
    o.date("dogovor_day", deal.dogovor_day, style);
    o.date("day_reg_start", deal.day_reg_start, style);
    o.date("day_reg_end", deal.day_reg_end, style);
    o.number("sum", deal.sum.as_deref());
    let out = o.key("manager");
    match (deal.manager_id, &deal.manager_name) {
        (Some(id), Some(name)) => {
            let mut manager = Object::open(out);
            manager.int("id", id);
            manager.str("name", name);
            manager.close();
        }
        _ => out.extend_from_slice(b"null"),
    }
    o.datetime("dt_created", deal.dt_created, style);
    o.datetime("dt_updated", deal.dt_updated, style);
    o.datetime("dt_status_changed", deal.dt_status_changed, style);
    array(o.key("participants"), kids.participants, |out, p| {
        participant(out, style, p)
    });
    custom_values(o.key("fields"), style, kids.fields);
    array(o.key("payments"), kids.payments, |out, p| {
        payment(out, style, p)
    });
}

fn unit_object(out: &mut Vec<u8>, style: Style, unit: &UnitRow, params: &[CustomValueRow]) {
    let mut o = Object::open(out);
    unit_fields(&mut o, style, unit, params);
    o.close();
}

fn unit_fields(o: &mut Object, style: Style, unit: &UnitRow, params: &[CustomValueRow]) {
    o.int("id", unit.id);
    o.str("sid", &unit.sid);
    o.int("type", unit.kind.into());
    o.str("number", &unit.number);
    o.int("status", unit.status.into());
    o.opt_int("rooms", unit.rooms.map(i64::from));
    o.flag("is_studio", unit.is_studio);
    o.number("area", Some(&unit.area));
    o.number("area_living", unit.area_living.as_deref());
    o.number("area_kitchen", unit.area_kitchen.as_deref());
    o.int("floor", unit.floor.into());
    o.number("price", unit.price.as_deref());
    o.number("metr_price", unit.metr_price.as_deref());

    let mut project = Object::open(o.key("project"));
    project.int("id", unit.project_id);
    project.str("title", &unit.project_title);
    project.close();

    let mut house = Object::open(o.key("house"));
    house.int("id", unit.house_id);
    house.str("title", &unit.house_title);
    house.opt_str("address", unit.house_address.as_deref());
    house.date("deadline", unit.house_deadline, style);
    house.close();

    let out = o.key("section");
    match (unit.section_id, &unit.section_title) {
        (Some(id), Some(title)) => {
            let mut section = Object::open(out);
            section.int("id", id);
            section.str("title", title);
            section.close();
        }
        _ => out.extend_from_slice(b"null"),
    }

    let out = o.key("organization");
    match (unit.organization_id, &unit.organization_name) {
        (Some(id), Some(name)) => {
            let mut org = Object::open(out);
            org.int("id", id);
            org.str("name", name);
            org.opt_str("inn", unit.organization_inn.as_deref());
            org.opt_str("kpp", unit.organization_kpp.as_deref());
            org.opt_str("ogrn", unit.organization_ogrn.as_deref());
            org.opt_str("address", unit.organization_address.as_deref());
            org.close();
        }
        _ => out.extend_from_slice(b"null"),
    }

    custom_values(o.key("params"), style, params);
    o.datetime("dt_updated", unit.dt_updated, style);
}

fn array<T>(out: &mut Vec<u8>, rows: &[T], mut write: impl FnMut(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, row);
    }
    out.push(b']');
}

/// `[{id, title, type, value}]`; the value follows its type (a date per `date_format`, a bool as 0/1).
fn custom_values(out: &mut Vec<u8>, style: Style, values: &[CustomValueRow]) {
    array(out, values, |out, v| {
        let mut o = Object::open(out);
        o.int("id", v.id);
        o.str("title", &v.title);
        o.str("type", &v.kind);
        match v.kind.as_str() {
            "string" => o.opt_str("value", v.value_string.as_deref()),
            "number" => o.number("value", v.value_number.as_deref()),
            "date" => o.date("value", v.value_date, style),
            "bool" => o.opt_int("value", v.value_bool.map(i64::from)),
            _ => o.key("value").extend_from_slice(b"null"),
        }
        o.close();
    });
}

fn participant(out: &mut Vec<u8>, style: Style, p: &ParticipantRow) {
    let mut o = Object::open(out);
    o.int("id", p.id);
    o.str("type", &p.kind);
    let share = match (p.share_num, p.share_den) {
        (Some(num), Some(den)) => Some(format!("{num}/{den}")),
        _ => None,
    };
    o.opt_str("share", share.as_deref());
    o.str("name", &p.name);
    o.opt_str("last_name", p.last_name.as_deref());
    o.opt_str("first_name", p.first_name.as_deref());
    o.opt_str("middle_name", p.middle_name.as_deref());
    o.date("birth_day", p.birth_day, style);
    array(o.key("phones"), &p.phones, |out, phone| string(out, phone));
    o.opt_str("email", p.email.as_deref());
    let out = o.key("passport");
    let has_passport = p.passport_series.is_some()
        || p.passport_number.is_some()
        || p.passport_issued_by.is_some()
        || p.passport_issue_day.is_some()
        || p.passport_department_code.is_some();
    if has_passport {
        let mut passport = Object::open(out);
        passport.opt_str("series", p.passport_series.as_deref());
        passport.opt_str("number", p.passport_number.as_deref());
        passport.opt_str("issued_by", p.passport_issued_by.as_deref());
        passport.date("issue_day", p.passport_issue_day, style);
        passport.opt_str("department_code", p.passport_department_code.as_deref());
        passport.close();
    } else {
        out.extend_from_slice(b"null");
    }
    o.opt_str("snils", p.snils.as_deref());
    o.opt_str("inn", p.inn.as_deref());
    o.opt_str("kpp", p.kpp.as_deref());
    o.opt_str("ogrn", p.ogrn.as_deref());
    o.opt_str("address", p.address.as_deref());
    o.datetime("dt_created", p.dt_created, style);
    o.close();
}

fn payment(out: &mut Vec<u8>, style: Style, p: &PaymentRow) {
    let mut o = Object::open(out);
    o.int("id", p.id);
    o.str("type", &p.kind);
    o.date("day", Some(p.day), style);
    o.number("sum", Some(&p.sum));
    o.opt_str("comment", p.comment.as_deref());
    o.datetime("dt_created", p.dt_created, style);
    o.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_pass_verbatim_or_become_null() {
        let cases = [
            ("8450000.00", "8450000.00"),
            ("-1.5", "-1.5"),
            ("0", "0"),
            ("NaN", "null"),
            ("Infinity", "null"),
            ("-Infinity", "null"),
            ("", "null"),
        ];
        for (text, expected) in cases {
            let mut out = Vec::new();
            number(&mut out, Some(text));
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = Vec::new();
        string(&mut out, "ООО «СЗ \"Парк\"»\n\t\\");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""ООО «СЗ \"Парк\"»\n\t\\""#
        );
    }
}
