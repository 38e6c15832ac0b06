//! Accounts: one real-estate developer (застройщик) each, with the time zone its feeds' dates
//! are shown in.
//!
//! The zone is read by every feed request (`links::authenticate`), so a change shows in every
//! feed of the account at once: each `dt_*` moves by the zone difference, date-only fields stay.

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

use crate::{names, Error, Result};

/// The most characters an account's name may have.
pub const MAX_NAME_CHARS: usize = 200;
/// The zone of a new account unless told otherwise (the schema's default too).
pub const DEFAULT_ZONE: Tz = chrono_tz::Europe::Moscow;

/// Whose things (feed links, API keys) an operation may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// An admin of this account (the settings page and its API).
    Account(i64),
    /// The operator at the command line: any account's.
    Operator,
}

impl Owner {
    /// The account to match, or `None` for any: bound as `$1` in `($1::bigint is null or
    /// account_id = $1)`.
    pub fn account(self) -> Option<i64> {
        match self {
            Owner::Account(id) => Some(id),
            Owner::Operator => None,
        }
    }
}

/// An account as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Account {
    pub id: i64,
    pub name: String,
    /// An IANA name, e.g. `Europe/Moscow`.
    pub timezone: String,
    pub dt_created: DateTime<Utc>,
}

impl Account {
    /// The account's zone; `None` only for a name this build's chrono-tz does not know (one
    /// stored before an upgrade of either zone database), which feeds refuse with a 500.
    pub fn tz(&self) -> Option<Tz> {
        self.timezone.parse().ok()
    }
}

/// A time zone an account may have: one that chrono-tz knows (it renders the feeds' dates) and
/// that PostgreSQL knows too (the `accounts.timezone` check uses `pg_timezone_names`). Each
/// brings its own copy of the IANA database, and the two may be a release apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(Tz);

impl Zone {
    /// `text` as a zone both know; otherwise a `400` naming `field` (`--timezone`, `timezone`).
    pub async fn parse(db: &PgPool, field: &str, text: &str) -> Result<Zone> {
        let text = text.trim();
        let tz = text.parse::<Tz>().map_err(|_| {
            Error::bad_request(
                field,
                format!(
                    "not an IANA time zone: {:?} (e.g. Europe/Moscow, Asia/Yekaterinburg)",
                    names::shown(text)
                ),
            )
        })?;
        let known = sqlx::query_scalar!("select is_iana_timezone($1)", tz.name())
            .fetch_one(db)
            .await?;
        if known != Some(true) {
            return Err(Error::bad_request(
                field,
                format!(
                    "{} is not in PostgreSQL's time zone database; pick another name of the same zone",
                    tz.name()
                ),
            ));
        }
        Ok(Zone(tz))
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// The zones an account may have (see `Zone`), in chrono-tz's order: every zone of chrono-tz
/// whose name PostgreSQL knows too.
pub async fn zones(db: &PgPool) -> Result<Vec<Tz>> {
    let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    let known: std::collections::HashSet<String> = sqlx::query_scalar!(
        r#"select name as "name!" from pg_timezone_names where name = any($1)"#,
        &names as &[&str],
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .collect();
    Ok(chrono_tz::TZ_VARIANTS
        .iter()
        .copied()
        .filter(|tz| known.contains(tz.name()))
        .collect())
}

/// `tz`'s offset from UTC at `at`, in minutes (Moscow: 180).
pub fn utc_offset_minutes(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
        / 60
}

/// `UTC+03:00`, `UTC-03:30`, `UTC+00:00`: an offset in minutes as people read it.
pub fn utc_offset_text(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let minutes = minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `+2 ч`, `-1 ч 30 мин`, `0 ч`: how far every `dt_*` moves when the zone changes by `minutes`.
pub fn shift_text(minutes: i32) -> String {
    let sign = match minutes {
        m if m > 0 => "+",
        m if m < 0 => "-",
        _ => "",
    };
    let (hours, rest) = (minutes.unsigned_abs() / 60, minutes.unsigned_abs() % 60);
    if rest == 0 {
        format!("{sign}{hours} ч")
    } else {
        format!("{sign}{hours} ч {rest} мин")
    }
}

/// A name an account may have: trimmed, not empty, no control or bidi characters.
fn checked_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::bad_request("name", "may not be empty"));
    }
    names::check("name", name, MAX_NAME_CHARS)?;
    Ok(name)
}

/// Makes an account.
pub async fn create(db: &PgPool, name: &str, zone: Zone) -> Result<Account> {
    let name = checked_name(name)?;
    Ok(sqlx::query_as!(
        Account,
        "insert into accounts (name, timezone) values ($1, $2)
         returning id, name, timezone, dt_created",
        name,
        zone.name(),
    )
    .fetch_one(db)
    .await?)
}

/// Every account, by id.
pub async fn list(db: &PgPool) -> Result<Vec<Account>> {
    Ok(sqlx::query_as!(
        Account,
        "select id, name, timezone, dt_created from accounts order by id"
    )
    .fetch_all(db)
    .await?)
}

/// The account `id` if `owner` may see it.
pub async fn find(db: &PgPool, owner: Owner, id: i64) -> Result<Account> {
    sqlx::query_as!(
        Account,
        "select id, name, timezone, dt_created from accounts
          where id = $2 and ($1::bigint is null or id = $1)",
        owner.account(),
        id,
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("account {id}")))
}

/// What to change of an account; `None` keeps it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountChange<'a> {
    pub name: Option<&'a str>,
    pub zone: Option<Zone>,
}

/// An account after a change, and the zone it had before.
#[derive(Debug, Clone)]
pub struct Changed {
    pub account: Account,
    pub previous_timezone: String,
}

impl Changed {
    /// How far every `dt_*` of the account's feeds moved, in minutes, as of `at`.
    pub fn shift_minutes(&self, at: DateTime<Utc>) -> Option<i32> {
        let before = self.previous_timezone.parse::<Tz>().ok()?;
        let after = self.account.tz()?;
        Some(utc_offset_minutes(after, at) - utc_offset_minutes(before, at))
    }
}

/// Renames an account or moves it to another zone, in one statement. Every feed of the account
/// shows its dates in the new zone from the next request on.
pub async fn set(db: &PgPool, owner: Owner, id: i64, change: AccountChange<'_>) -> Result<Changed> {
    let name = change.name.map(checked_name).transpose()?;
    let row = sqlx::query!(
        "update accounts a set name = coalesce($3, a.name), timezone = coalesce($4, a.timezone)
           from accounts previous
          where a.id = $2 and previous.id = a.id and ($1::bigint is null or a.id = $1)
         returning a.id, a.name, a.timezone, a.dt_created, previous.timezone as previous_timezone",
        owner.account(),
        id,
        name,
        change.zone.map(Zone::name),
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found(format!("account {id}")))?;
    Ok(Changed {
        account: Account {
            id: row.id,
            name: row.name,
            timezone: row.timezone,
            dt_created: row.dt_created,
        },
        previous_timezone: row.previous_timezone,
    })
}

/// The oldest account, if there is any: the one `domofeed demo` shows.
pub async fn first(db: &PgPool) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar!("select min(id) from accounts")
        .fetch_one(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_shifts_read_as_people_write_them() {
        assert_eq!(utc_offset_text(180), "UTC+03:00");
        assert_eq!(utc_offset_text(0), "UTC+00:00");
        assert_eq!(utc_offset_text(-210), "UTC-03:30");
        assert_eq!(utc_offset_text(345), "UTC+05:45");
        assert_eq!(shift_text(120), "+2 ч");
        assert_eq!(shift_text(-90), "-1 ч 30 мин");
        assert_eq!(shift_text(0), "0 ч");
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        assert_eq!(utc_offset_minutes(chrono_tz::Europe::Moscow, winter), 180);
        assert_eq!(utc_offset_minutes(chrono_tz::Asia::Kolkata, winter), 330);
        assert_eq!(
            utc_offset_minutes(chrono_tz::America::St_Johns, winter),
            -210
        );
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(checked_name("  ГК «Север» ").unwrap(), "ГК «Север»");
        assert!(checked_name("   ").is_err());
        assert!(checked_name("a\u{1b}[2J").is_err());
        assert!(checked_name(&"я".repeat(201)).is_err());
    }
}
