//! Every date a feed shows or filters on goes through here.
//!
//! - Date-only fields (`*_day`, `day_*`, deadlines, date-typed custom values) follow the request's
//!   `date_format`, a pattern of whitelisted tokens turned into chrono items (a user's string is
//!   never handed to strftime, which panics on some inputs).
//! - Date-times (`dt_*`) are always `YYYY-MM-DD HH:mm:ss` in the account's time zone.
//! - Day filters on date-times become half-open UTC instants: a day runs from its first instant
//!   in the account's zone (local midnight, or the first instant after a DST gap that skips it)
//!   to the first instant of the next day.

use std::{fmt, io::Write as _};

use chrono::{
    format::{Item, Numeric, Pad},
    DateTime, Datelike, Days, LocalResult, NaiveDate, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;

/// The longest `date_format` pattern accepted.
pub const MAX_PATTERN_LEN: usize = 32;
const DEFAULT_PATTERN: &str = "DD.MM.YYYY";

/// A validated `date_format`.
#[derive(Clone)]
pub struct DateFormat {
    pattern: String,
    /// For chrono: reading dates back, and writing years outside 0–9999.
    items: Vec<Item<'static>>,
    /// The same pattern for `write`'s direct path.
    pieces: Vec<Piece>,
}

/// A token or separator of a pattern.
#[derive(Clone, Copy)]
enum Piece {
    Year,
    YearOfCentury,
    Month,
    MonthUnpadded,
    Day,
    DayUnpadded,
    Separator(u8),
}

impl DateFormat {
    /// Tokens `YYYY`, `YY`, `MM`, `M`, `DD`, `D` (longest match first) and the separators
    /// `. - / , space`; at least one token, at most 32 characters.
    pub fn parse(pattern: &str) -> Result<DateFormat, String> {
        let invalid = || {
            let shown: String = pattern.chars().take(MAX_PATTERN_LEN + 8).collect();
            format!(
                "expected a pattern of YYYY, YY, MM, M, DD, D and the separators . - / , space \
                 (at most {MAX_PATTERN_LEN} characters), got {shown:?}"
            )
        };
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(invalid());
        }
        let mut items = Vec::new();
        let mut pieces = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            let (item, piece, len) = if rest.starts_with("YYYY") {
                (Item::Numeric(Numeric::Year, Pad::Zero), Piece::Year, 4)
            } else if rest.starts_with("YY") {
                let item = Item::Numeric(Numeric::YearMod100, Pad::Zero);
                (item, Piece::YearOfCentury, 2)
            } else if rest.starts_with("MM") {
                (Item::Numeric(Numeric::Month, Pad::Zero), Piece::Month, 2)
            } else if rest.starts_with('M') {
                let item = Item::Numeric(Numeric::Month, Pad::None);
                (item, Piece::MonthUnpadded, 1)
            } else if rest.starts_with("DD") {
                (Item::Numeric(Numeric::Day, Pad::Zero), Piece::Day, 2)
            } else if rest.starts_with('D') {
                (
                    Item::Numeric(Numeric::Day, Pad::None),
                    Piece::DayUnpadded,
                    1,
                )
            } else {
                let separator = match rest.as_bytes()[0] {
                    b'.' => ".",
                    b'-' => "-",
                    b'/' => "/",
                    b',' => ",",
                    b' ' => " ",
                    _ => return Err(invalid()),
                };
                let piece = Piece::Separator(separator.as_bytes()[0]);
                (Item::Literal(separator), piece, 1)
            };
            items.push(item);
            pieces.push(piece);
            rest = &rest[len..];
        }
        if !items.iter().any(|i| matches!(i, Item::Numeric(..))) {
            return Err(invalid());
        }
        Ok(DateFormat {
            pattern: pattern.to_owned(),
            items,
            pieces,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Appends `date` in this format. A feed writes millions of dates: years 0–9999 take a
    /// direct path, with the date's parts read once and the pattern's pieces matched
    /// (chrono's formatter interprets its items through `fmt` for every date, which was ≈5% of
    /// a deals feed's server CPU); other years keep chrono's rendering (a sign, more digits).
    pub fn write(&self, date: NaiveDate, out: &mut Vec<u8>) {
        let year = date.year();
        if !(0..=9999).contains(&year) {
            let _ = write!(out, "{}", date.format_with_items(self.items.iter()));
            return;
        }
        let (year, month, day) = (year as u32, date.month(), date.day());
        for piece in &self.pieces {
            match *piece {
                Piece::Year => digits(out, year, 4),
                Piece::YearOfCentury => digits(out, year % 100, 2),
                Piece::Month => digits(out, month, 2),
                Piece::MonthUnpadded => digits(out, month, 1),
                Piece::Day => digits(out, day, 2),
                Piece::DayUnpadded => digits(out, day, 1),
                Piece::Separator(b) => out.push(b),
            }
        }
    }
}

impl DateFormat {
    /// The day `text` names in this format, if it names one (the inverse of `write`, for items
    /// written back: imported files and the write API). `YY` reads as 2000–2068 for 00–68 and
    /// 1969–1999 for 69–99, as chrono reads two-digit years.
    pub fn read(&self, text: &str) -> Option<NaiveDate> {
        let mut parsed = chrono::format::Parsed::new();
        chrono::format::parse(&mut parsed, text, self.items.iter()).ok()?;
        parsed.to_naive_date().ok()
    }
}

/// A date-time as the feeds write it, `YYYY-MM-DD HH:mm:ss` in `tz` (or, with `rfc3339`, with its
/// own offset, e.g. `2025-04-02T16:20:03+03:00`). A local time that happens twice (when clocks go
/// back) is the earlier instant, as the feeds write both the same way; one that never happens
/// (when clocks go forward) is an error.
pub fn read_datetime(text: &str, tz: Tz, rfc3339: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(local) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return match tz.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.with_timezone(&Utc)),
            LocalResult::None => Err(format!(
                "{text:?} does not exist in {} (clocks went forward)",
                tz.name()
            )),
        };
    }
    if rfc3339 {
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(t.with_timezone(&Utc));
        }
        return Err(format!(
            "expected YYYY-MM-DD HH:mm:ss (in {}) or RFC 3339 with an offset, got {text:?}",
            tz.name()
        ));
    }
    Err(format!(
        "expected YYYY-MM-DD HH:mm:ss (in {}), got {text:?}",
        tz.name()
    ))
}

impl Default for DateFormat {
    fn default() -> Self {
        // The default pattern is valid by construction; a test keeps it so.
        DateFormat::parse(DEFAULT_PATTERN).unwrap_or_else(|_| unreachable!())
    }
}

impl PartialEq for DateFormat {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for DateFormat {}

impl fmt::Debug for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateFormat({:?})", self.pattern)
    }
}

/// Appends `instant` as `YYYY-MM-DD HH:mm:ss` in `tz`; like `DateFormat::write`, years 0–9999
/// directly, others through chrono.
///
/// The zone is asked only for its offset at that instant; the local calendar date comes from
/// `civil_from_days`. Going through chrono's local `NaiveDateTime` and its accessors cost ≈700
/// instructions a date-time, and a deals feed writes 1.6 million of them at L.
pub fn write_datetime(instant: DateTime<Utc>, tz: Tz, out: &mut Vec<u8>) {
    let offset = tz
        .offset_from_utc_datetime(&instant.naive_utc())
        .fix()
        .local_minus_utc();
    let local = instant.timestamp() + i64::from(offset);
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    if !(0..=9999).contains(&year) {
        let local = instant.with_timezone(&tz).naive_local();
        let _ = write!(out, "{}", local.format("%Y-%m-%d %H:%M:%S"));
        return;
    }
    let second = local.rem_euclid(86_400) as u32;
    digits(out, year as u32, 4);
    out.push(b'-');
    digits(out, month, 2);
    out.push(b'-');
    digits(out, day, 2);
    out.push(b' ');
    digits(out, second / 3600, 2);
    out.push(b':');
    digits(out, second / 60 % 60, 2);
    out.push(b':');
    digits(out, second % 60, 2);
}

/// The proleptic Gregorian year, month and day of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, from his "chrono-Compatible Low-Level Date Algorithms").
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `value` in decimal, zero-padded to `width` digits. The widths the feeds use (2 and
/// 4, or 1 for an unpadded day or month) are written as whole arrays: a feed writes some ten
/// million of these, and the general loop and its variable-length copy were ≈6 % of a deals
/// feed's server instructions.
#[inline]
fn digits(out: &mut Vec<u8>, value: u32, width: usize) {
    let digit = |v: u32| b'0' + (v % 10) as u8;
    match width {
        1 if value < 10 => out.push(digit(value)),
        1 | 2 if value < 100 => out.extend_from_slice(&[digit(value / 10), digit(value)]),
        4 if value < 10_000 => out.extend_from_slice(&[
            digit(value / 1000),
            digit(value / 100),
            digit(value / 10),
            digit(value),
        ]),
        _ => {
            let text = value.to_string();
            for _ in text.len()..width {
                out.push(b'0');
            }
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// An inclusive range of calendar days, as a filter gives it; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl DayRange {
    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }
}

/// A half-open interval of instants, `[from, until)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Instants {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Instants {
    /// The instants of an inclusive range of the account's calendar days.
    pub fn of_days(range: DayRange, tz: Tz) -> Instants {
        Instants {
            from: range.from.map(|day| day_start(day, tz)),
            until: range.to.and_then(|day| next_day_start(day, tz)),
        }
    }

    /// `dt_updated_last_days=N`: today and the N−1 days before, in the account's calendar.
    pub fn of_last_days(days: u64, now: DateTime<Utc>, tz: Tz) -> Instants {
        let today = now.with_timezone(&tz).date_naive();
        Instants {
            // Counting back to before anything PostgreSQL can store (or chrono can count) means
            // "since ever": such a bound would be out of range for the query, not a filter.
            from: today
                .checked_sub_days(Days::new(days - 1))
                .filter(|first| *first > first_storable_day())
                .map(|first| day_start(first, tz)),
            until: next_day_start(today, tz),
        }
    }

    /// `dt_updated_from/_to` and `dt_updated_last_days` together (both may be given: AND).
    pub fn of_updated(
        range: DayRange,
        last_days: Option<u64>,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> Instants {
        let range = Instants::of_days(range, tz);
        match last_days {
            Some(days) => range.intersect(Instants::of_last_days(days, now, tz)),
            None => range,
        }
    }

    /// Both constraints at once.
    pub fn intersect(self, other: Instants) -> Instants {
        Instants {
            from: self.from.max(other.from),
            until: match (self.until, other.until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// PostgreSQL's first date and time stamp is 4714-11-24 BC (chrono's year −4713); a day after
/// it starts after it in any zone.
fn first_storable_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(-4713, 11, 25).unwrap_or(NaiveDate::MIN)
}

fn next_day_start(day: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    day.succ_opt().map(|next| day_start(next, tz))
}

/// The first instant of `day` in `tz`: local midnight; the earlier one where midnight happens
/// twice; the end of the gap where a DST change skips midnight.
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            // Local time jumps over midnight: find the first instant whose local time is at or
            // after it. Offsets stay within ±26 h, so the answer lies within two days of midnight
            // read as UTC, and local time only grows across a lone spring-forward gap.
            let local_at = |seconds: i64| {
                DateTime::from_timestamp(seconds, 0).map(|t| t.with_timezone(&tz).naive_local())
            };
            let guess = midnight.and_utc().timestamp();
            let (mut lo, mut hi) = (guess - 36 * 3600, guess + 36 * 3600);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if local_at(mid).is_some_and(|local| local >= midnight) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            DateTime::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn datetimes_as_chrono_writes_them() {
        // Zones with DST, half and quarter hours, and local mean time before 1920; instants
        // from year 0 to 9999 and beyond, from a fixed pseudo-random sequence.
        let zones: [Tz; 6] = [
            chrono_tz::Europe::Moscow,
            chrono_tz::America::New_York,
            chrono_tz::Asia::Kolkata,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::Pacific::Chatham,
            chrono_tz::UTC,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for i in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let range: u64 = if i % 10 == 0 {
                400_000_000_000
            } else {
                6_000_000_000
            };
            let seconds = (state % (2 * range)) as i64 - (range / 2) as i64 + 1_700_000_000;
            let Some(instant) = DateTime::from_timestamp(seconds, 0) else {
                continue;
            };
            let tz = zones[i % zones.len()];
            let mut out = Vec::new();
            write_datetime(instant, tz, &mut out);
            let expected = instant.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S");
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected.to_string(),
                "{instant}"
            );
        }
    }

    #[test]
    fn digits_are_zero_padded_to_their_width() {
        for width in [1, 2, 4] {
            for value in (0..10_000).chain([99_999, 123_456, u32::MAX]) {
                let mut out = Vec::new();
                digits(&mut out, value, width);
                assert_eq!(String::from_utf8(out).unwrap(), format!("{value:0width$}"));
            }
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn direct_rendering_matches_chrono() {
        let patterns = [
            "DD.MM.YYYY",
            "D.M.YY",
            "YYYY-MM-DD",
            "M/D/YYYY",
            "YY, DD MM",
        ];
        let days = [
            d(1, 1, 1),
            d(999, 12, 31),
            d(2025, 3, 9),
            d(2000, 10, 20),
            d(9999, 12, 31),
        ];
        for pattern in patterns {
            let format = DateFormat::parse(pattern).unwrap();
            for day in days {
                let expected = day.format_with_items(format.items.iter()).to_string();
                assert_eq!(render(pattern, day), expected, "{pattern} {day}");
            }
        }
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        for (secs, nanos) in [
            (0, 0),
            (1_700_000_000, 999_999_999),
            (-62_135_596_800, 0),
            (253_402_300_000, 0),
        ] {
            let instant = DateTime::from_timestamp(secs, nanos).unwrap();
            let mut out = Vec::new();
            write_datetime(instant, tz, &mut out);
            let expected = instant
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{instant}");
        }
    }

    fn render(pattern: &str, date: NaiveDate) -> String {
        let mut out = Vec::new();
        DateFormat::parse(pattern).unwrap().write(date, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_token_and_separator() {
        let date = d(2025, 3, 4);
        assert_eq!(render("YYYY", date), "2025");
        assert_eq!(render("YY", date), "25");
        assert_eq!(render("MM", date), "03");
        assert_eq!(render("M", date), "3");
        assert_eq!(render("DD", date), "04");
        assert_eq!(render("D", date), "4");
        assert_eq!(render("D.M.YY", date), "4.3.25");
        assert_eq!(render("YYYY-MM-DD", date), "2025-03-04");
        assert_eq!(render("DD/MM/YYYY", date), "04/03/2025");
        assert_eq!(render("DD, MM YYYY", date), "04, 03 2025");
        assert_eq!(render("D.M.YYYY", d(2025, 12, 31)), "31.12.2025");
    }

    #[test]
    fn read_is_the_inverse_of_write() {
        for pattern in [
            "DD.MM.YYYY",
            "YYYY-MM-DD",
            "D.M.YY",
            "MM/DD/YYYY",
            "YY, DD MM",
        ] {
            let format = DateFormat::parse(pattern).unwrap();
            for day in [
                d(2025, 3, 9),
                d(2000, 10, 20),
                d(1999, 12, 31),
                d(2068, 1, 1),
            ] {
                let text = render(pattern, day);
                assert_eq!(format.read(&text), Some(day), "{pattern} {text}");
            }
        }
        let default = DateFormat::default();
        assert_eq!(default.read("31.02.2025"), None);
        assert_eq!(default.read("2025-03-09"), None);
        assert_eq!(default.read("14.03.2025 "), None);
    }

    #[test]
    fn datetimes_read_back_in_the_zone() {
        let moscow = chrono_tz::Europe::Moscow;
        let t = Utc.with_ymd_and_hms(2025, 4, 2, 13, 20, 3).unwrap();
        assert_eq!(read_datetime("2025-04-02 16:20:03", moscow, false), Ok(t));
        assert_eq!(read_datetime("2025-04-02T13:20:03Z", moscow, true), Ok(t));
        assert!(read_datetime("2025-04-02T13:20:03Z", moscow, false).is_err());
        let ny = chrono_tz::America::New_York;
        // 02:30 on 2024-03-10 never happened in New York; 01:30 on 2024-11-03 happened twice.
        assert!(read_datetime("2024-03-10 02:30:00", ny, false).is_err());
        assert_eq!(
            read_datetime("2024-11-03 01:30:00", ny, false),
            Ok(Utc.with_ymd_and_hms(2024, 11, 3, 5, 30, 0).unwrap())
        );
    }

    #[test]
    fn default_is_dd_mm_yyyy() {
        let mut out = Vec::new();
        DateFormat::default().write(d(2025, 3, 14), &mut out);
        assert_eq!(out, b"14.03.2025");
        assert_eq!(DateFormat::default().pattern(), "DD.MM.YYYY");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "%Y",
            "%",
            "YYYYY",
            "Y",
            "yyyy-mm-dd",
            "DD.MM.YYYY HH:mm",
            "DD_MM",
            "DD:MM",
            "...",
            " ",
            "DDD\u{0}",
            "ДД.ММ.ГГГГ",
            "{}",
            "\\n",
            &"D".repeat(33),
        ] {
            assert!(DateFormat::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(DateFormat::parse(&"D.".repeat(16)).is_ok());
    }

    #[test]
    fn datetimes_in_the_account_zone() {
        let instant = Utc.with_ymd_and_hms(2025, 4, 2, 13, 20, 3).unwrap();
        let mut out = Vec::new();
        write_datetime(instant, chrono_tz::Europe::Moscow, &mut out);
        assert_eq!(out, b"2025-04-02 16:20:03");
        out.clear();
        write_datetime(instant, chrono_tz::America::New_York, &mut out);
        assert_eq!(out, b"2025-04-02 09:20:03");
    }

    #[test]
    fn day_ranges_are_local_and_half_open() {
        let moscow = chrono_tz::Europe::Moscow;
        let range = DayRange {
            from: Some(d(2023, 8, 23)),
            to: Some(d(2023, 8, 26)),
        };
        let instants = Instants::of_days(range, moscow);
        assert_eq!(
            instants.from,
            Some(Utc.with_ymd_and_hms(2023, 8, 22, 21, 0, 0).unwrap())
        );
        assert_eq!(
            instants.until,
            Some(Utc.with_ymd_and_hms(2023, 8, 26, 21, 0, 0).unwrap())
        );
    }

    #[test]
    fn dst_days_in_new_york() {
        let ny = chrono_tz::America::New_York;
        // 2024-03-10 has 23 hours, 2024-11-03 has 25.
        assert_eq!(
            day_start(d(2024, 3, 10), ny),
            Utc.with_ymd_and_hms(2024, 3, 10, 5, 0, 0).unwrap()
        );
        assert_eq!(
            day_start(d(2024, 3, 11), ny),
            Utc.with_ymd_and_hms(2024, 3, 11, 4, 0, 0).unwrap()
        );
        assert_eq!(
            day_start(d(2024, 11, 4), ny),
            Utc.with_ymd_and_hms(2024, 11, 4, 5, 0, 0).unwrap()
        );
    }

    #[test]
    fn a_gap_over_midnight_starts_the_day_after_it() {
        // Chile (America/Santiago) springs forward at local midnight: 2024-09-08 00:00 does not
        // exist, the day starts at 01:00 local (-03), which is 04:00 UTC.
        let santiago = chrono_tz::America::Santiago;
        assert_eq!(
            day_start(d(2024, 9, 8), santiago),
            Utc.with_ymd_and_hms(2024, 9, 8, 4, 0, 0).unwrap()
        );
        // Samoa skipped 2011-12-30 entirely: that day is empty.
        let apia = chrono_tz::Pacific::Apia;
        assert_eq!(
            day_start(d(2011, 12, 30), apia),
            day_start(d(2011, 12, 31), apia)
        );
    }

    #[test]
    fn last_days_counts_calendar_days() {
        let moscow = chrono_tz::Europe::Moscow;
        // 00:30 local on 2025-06-10 is 21:30 UTC on the 9th.
        let now = Utc.with_ymd_and_hms(2025, 6, 9, 21, 30, 0).unwrap();
        let one = Instants::of_last_days(1, now, moscow);
        assert_eq!(
            one.from,
            Some(Utc.with_ymd_and_hms(2025, 6, 9, 21, 0, 0).unwrap())
        );
        assert_eq!(
            one.until,
            Some(Utc.with_ymd_and_hms(2025, 6, 10, 21, 0, 0).unwrap())
        );
        let two = Instants::of_last_days(2, now, moscow);
        assert_eq!(
            two.from,
            Some(Utc.with_ymd_and_hms(2025, 6, 8, 21, 0, 0).unwrap())
        );
        assert_eq!(Instants::of_last_days(u64::MAX, now, moscow).from, None);
    }
}
