//! The feeds' row queries as `COPY (query) TO STDOUT (FORMAT binary)` statements, with their values
//! written into the text.
//!
//! Why COPY: PostgreSQL then sends each row as its binary values, which `rows` reads straight into
//! one buffer per batch, without sqlx decoding, allocating and streaming every row on its own
//! (the server's CPU for an L deals pull went from 3.8–4.0 s to 2.1–2.2 s, issue 18). The price
//! is that COPY takes no bind parameters, so the values go into the statement's text. Each one
//! does so as a typed literal (`'12'::int8`, `'{1,2}'::int8[]`,
//! `'2026-03-29 21:00:00.000000+00'::timestamptz`), written here from a Rust value of that type:
//! numbers, dates and instants are formatted by us and cannot hold a quote, and the one free
//! text a filter carries (`deal_dogovor_number`) is quoted by rust-postgres's `escape_literal`,
//! which is safe whatever `standard_conforming_strings` says. PostgreSQL plans each statement
//! for its actual values, as the custom plans of the bound queries did.
//!
//! The templates keep `$1`, `$2`… where the values go, so they read like any bound query; a
//! template holds no `$` other than those (no dollar quotes, no `$` in a string).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::{Error, Result};

/// A value that can stand in a statement's text as a literal of its SQL type.
pub trait Literal {
    fn write(&self, out: &mut String);
}

impl Literal for i64 {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "'{self}'::int8");
    }
}

impl Literal for bool {
    fn write(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl Literal for [i64] {
    fn write(&self, out: &mut String) {
        array(out, self, "int8");
    }
}

impl Literal for [i16] {
    fn write(&self, out: &mut String) {
        array(out, self, "int2");
    }
}

impl Literal for Vec<i64> {
    fn write(&self, out: &mut String) {
        self.as_slice().write(out);
    }
}

impl Literal for Vec<i16> {
    fn write(&self, out: &mut String) {
        self.as_slice().write(out);
    }
}

impl Literal for str {
    fn write(&self, out: &mut String) {
        out.push_str(&postgres_protocol::escape::escape_literal(self));
        out.push_str("::text");
    }
}

impl Literal for String {
    fn write(&self, out: &mut String) {
        self.as_str().write(out);
    }
}

impl Literal for NaiveDate {
    fn write(&self, out: &mut String) {
        out.push('\'');
        day(out, *self);
        out.push_str(era(self.year()));
        out.push_str("'::date");
    }
}

impl Literal for DateTime<Utc> {
    fn write(&self, out: &mut String) {
        out.push('\'');
        day(out, self.date_naive());
        let _ = write!(
            out,
            " {:02}:{:02}:{:02}.{:06}+00",
            self.hour(),
            self.minute(),
            self.second(),
            // A leap second's nanoseconds run past 10⁹: the last microsecond is the closest.
            (self.nanosecond() / 1000).min(999_999)
        );
        out.push_str(era(self.year()));
        out.push_str("'::timestamptz");
    }
}

/// A null of the value's type where the value is missing: `null` alone would be of type
/// `unknown`, which the templates cast (`$4::timestamptz is null`) but plain comparisons do not.
impl<T: Literal + Typed> Literal for Option<T> {
    fn write(&self, out: &mut String) {
        match self {
            Some(value) => value.write(out),
            None => {
                out.push_str("null::");
                out.push_str(T::SQL_TYPE);
            }
        }
    }
}

/// The SQL type of a literal, for its nulls.
pub trait Typed {
    const SQL_TYPE: &'static str;
}

impl Typed for i64 {
    const SQL_TYPE: &'static str = "int8";
}
impl Typed for Vec<i64> {
    const SQL_TYPE: &'static str = "int8[]";
}
impl Typed for Vec<i16> {
    const SQL_TYPE: &'static str = "int2[]";
}
impl Typed for String {
    const SQL_TYPE: &'static str = "text";
}
impl Typed for NaiveDate {
    const SQL_TYPE: &'static str = "date";
}
impl Typed for DateTime<Utc> {
    const SQL_TYPE: &'static str = "timestamptz";
}

fn array<T: std::fmt::Display>(out: &mut String, values: &[T], sql_type: &str) {
    out.push_str("'{");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{value}");
    }
    let _ = write!(out, "}}'::{sql_type}[]");
}

/// `YYYY-MM-DD` of the day's year in PostgreSQL's reckoning: no year 0, so chrono's year 0 is
/// 1 BC and year −1 is 2 BC (`era` adds the ` BC`).
fn day(out: &mut String, day: NaiveDate) {
    let year = day.year();
    let year = if year <= 0 {
        1 - i64::from(year)
    } else {
        i64::from(year)
    };
    let _ = write!(out, "{year:04}-{:02}-{:02}", day.month(), day.day());
}

fn era(year: i32) -> &'static str {
    if year <= 0 {
        " BC"
    } else {
        ""
    }
}

/// `copy (<template with its $n replaced by values[n-1]>) to stdout (format binary)`.
pub fn copy_statement(template: &str, values: &[&dyn Literal]) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 64 * values.len() + 48);
    out.push_str("copy (");
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let value = rest[at + 1..at + 1 + digits]
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| values.get(i))
            .ok_or_else(|| {
                Error::internal(
                    "writing a feed query",
                    format!("placeholder {:?} has no value", &rest[at..at + 1 + digits]),
                )
            })?;
        value.write(&mut out);
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out.push_str(") to stdout (format binary)");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(value: &dyn Literal) -> String {
        let mut out = String::new();
        value.write(&mut out);
        out
    }

    #[test]
    fn values_become_typed_literals() {
        assert_eq!(literal(&-7i64), "'-7'::int8");
        assert_eq!(literal(&vec![1i64, 22]), "'{1,22}'::int8[]");
        assert_eq!(literal(&Vec::<i64>::new()), "'{}'::int8[]");
        assert_eq!(literal(&vec![0i16, 3]), "'{0,3}'::int2[]");
        assert_eq!(literal(&None::<Vec<i16>>), "null::int2[]");
        assert_eq!(literal(&true), "true");
        let day = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(literal(&day), "'2026-03-09'::date");
        assert_eq!(
            literal(&NaiveDate::from_ymd_opt(0, 1, 1).unwrap()),
            "'0001-01-01 BC'::date"
        );
        let instant = DateTime::from_timestamp_micros(1_774_818_000_000_123).unwrap();
        assert_eq!(
            literal(&instant),
            "'2026-03-29 21:00:00.000123+00'::timestamptz"
        );
        assert_eq!(literal(&None::<DateTime<Utc>>), "null::timestamptz");
    }

    #[test]
    fn text_is_quoted() {
        assert_eq!(literal(&"ДДУ-1".to_owned()), "'ДДУ-1'::text");
        assert_eq!(literal(&"a'b".to_owned()), "'a''b'::text");
        // A backslash makes it an escape string, safe with either standard_conforming_strings.
        assert_eq!(literal(&"a\\'".to_owned()), " E'a\\\\'''::text");
    }

    #[test]
    fn placeholders_take_their_values() {
        let one: &dyn Literal = &1i64;
        let statement = copy_statement("select 1 where $2 > $1 and $10 = $1", &[one; 10]).unwrap();
        assert_eq!(
            statement,
            "copy (select 1 where '1'::int8 > '1'::int8 and '1'::int8 = '1'::int8) \
             to stdout (format binary)"
        );
        assert!(copy_statement("select $3", &[&1i64, &2i64]).is_err());
        assert!(copy_statement("select $0", &[&1i64]).is_err());
        assert!(copy_statement("select $", &[&1i64]).is_err());
    }
}
