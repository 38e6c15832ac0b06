//! Rows in PostgreSQL's COPY text format, sent in chunks of a few MB, and the calendar arithmetic
//! the generator needs (plain integers: unix seconds and days since 1970-01-01).

use sqlx::postgres::PgCopyIn;
use sqlx::PgConnection;

use crate::Result;

pub const DAY: i64 = 86_400;

/// A COPY statement is fed in chunks of about this size.
const CHUNK: usize = 4 << 20;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as i32
}

/// The date of a day number: (year, month, day).
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = i64::from(z) + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)) as u32
}

/// The same day of the month `months` later (or the month's last day when it is shorter).
pub fn add_months(day: i32, months: i32) -> i32 {
    let (y, m, d) = civil_from_days(day);
    let total = y * 12 + (m as i32 - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    days_from_civil(ny, nm, d.min(days_in_month(ny, nm)))
}

/// The same date `years` later (29 February becomes 28 February).
pub fn add_years(day: i32, years: i32) -> i32 {
    add_months(day, years * 12)
}

/// Whole years from `birth` to `day`.
pub fn age_on(birth: i32, day: i32) -> i32 {
    let (by, bm, bd) = civil_from_days(birth);
    let (y, m, d) = civil_from_days(day);
    y - by - i32::from((m, d) < (bm, bd))
}

/// The last day of the quarter that `day` falls in.
pub fn quarter_end(day: i32) -> i32 {
    let (y, m, _) = civil_from_days(day);
    let qm = (m - 1) / 3 * 3 + 3;
    days_from_civil(y, qm, days_in_month(y, qm))
}

/// The local calendar day of a moment, for a zone `offset` seconds east of UTC.
pub fn local_day(t: i64, offset: i64) -> i32 {
    (t + offset).div_euclid(DAY) as i32
}

/// One table's rows in COPY text format: columns separated by tabs, `\N` for null.
#[derive(Default)]
pub struct Rows {
    pub buf: Vec<u8>,
    mid_row: bool,
}

impl Rows {
    fn sep(&mut self) {
        if self.mid_row {
            self.buf.push(b'\t');
        }
        self.mid_row = true;
    }

    pub fn end(&mut self) {
        self.buf.push(b'\n');
        self.mid_row = false;
    }

    pub fn null(&mut self) {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
    }

    fn digits(&mut self, v: u64) {
        let mut tmp = [0u8; 20];
        let mut i = tmp.len();
        let mut v = v;
        loop {
            i -= 1;
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.buf.extend_from_slice(&tmp[i..]);
    }

    fn padded(&mut self, v: u32, width: usize) {
        let mut tmp = [b'0'; 10];
        let mut v = v;
        for i in (0..width).rev() {
            tmp[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.buf.extend_from_slice(&tmp[..width]);
    }

    pub fn int(&mut self, v: i64) {
        self.sep();
        if v < 0 {
            self.buf.push(b'-');
        }
        self.digits(v.unsigned_abs());
    }

    pub fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// `v / 10^scale` written exactly; `trim` drops trailing zeros of the fraction ("2.7", "3").
    pub fn decimal(&mut self, v: i64, scale: u32, trim: bool) {
        self.sep();
        if v < 0 {
            self.buf.push(b'-');
        }
        let p = 10u64.pow(scale);
        let a = v.unsigned_abs();
        self.digits(a / p);
        let mut frac = a % p;
        let mut width = scale as usize;
        if trim {
            while width > 0 && frac.is_multiple_of(10) {
                frac /= 10;
                width -= 1;
            }
        }
        if width > 0 {
            self.buf.push(b'.');
            self.padded(frac as u32, width);
        }
    }

    /// Kopecks as roubles with two decimals (also used for areas in hundredths of m²).
    pub fn money(&mut self, kopecks: i64) {
        self.decimal(kopecks, 2, false);
    }

    pub fn opt_money(&mut self, kopecks: Option<i64>) {
        match kopecks {
            Some(v) => self.money(v),
            None => self.null(),
        }
    }

    pub fn boolean(&mut self, b: bool) {
        self.sep();
        self.buf.push(if b { b't' } else { b'f' });
    }

    fn write_date(&mut self, day: i32) {
        let (y, m, d) = civil_from_days(day);
        self.padded(y as u32, 4);
        self.buf.push(b'-');
        self.padded(m, 2);
        self.buf.push(b'-');
        self.padded(d, 2);
    }

    pub fn date(&mut self, day: i32) {
        self.sep();
        self.write_date(day);
    }

    pub fn opt_date(&mut self, day: Option<i32>) {
        match day {
            Some(d) => self.date(d),
            None => self.null(),
        }
    }

    /// A moment (unix seconds) as a UTC timestamptz.
    pub fn ts(&mut self, t: i64) {
        self.sep();
        self.write_date(t.div_euclid(DAY) as i32);
        let s = t.rem_euclid(DAY) as u32;
        self.buf.push(b' ');
        self.padded(s / 3600, 2);
        self.buf.push(b':');
        self.padded(s / 60 % 60, 2);
        self.buf.push(b':');
        self.padded(s % 60, 2);
        self.buf.extend_from_slice(b"+00");
    }

    fn escaped(&mut self, s: &str) {
        for &b in s.as_bytes() {
            match b {
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\t' => self.buf.extend_from_slice(b"\\t"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b'\r' => self.buf.extend_from_slice(b"\\r"),
                _ => self.buf.push(b),
            }
        }
    }

    pub fn text(&mut self, s: &str) {
        self.sep();
        self.escaped(s);
    }

    pub fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A `text[]` of plain elements (no quotes, commas or braces inside, as for phone numbers).
    pub fn plain_array(&mut self, items: &[String]) {
        self.sep();
        self.buf.push(b'{');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.escaped(item);
        }
        self.buf.push(b'}');
    }
}

/// One running `COPY table (columns) FROM STDIN`.
pub struct Copy<'c> {
    copy: PgCopyIn<&'c mut PgConnection>,
    pub rows: Rows,
    count: u64,
}

impl<'c> Copy<'c> {
    pub async fn begin(conn: &'c mut PgConnection, table: &str, columns: &str) -> Result<Self> {
        let copy = conn
            .copy_in_raw(&format!("copy {table} ({columns}) from stdin"))
            .await?;
        Ok(Copy {
            copy,
            rows: Rows {
                buf: Vec::with_capacity(CHUNK + (64 << 10)),
                mid_row: false,
            },
            count: 0,
        })
    }

    /// Ends the current row; sends the buffer when it is full.
    pub async fn row(&mut self) -> Result<()> {
        self.rows.end();
        self.count += 1;
        if self.rows.buf.len() >= CHUNK {
            self.copy.send(self.rows.buf.as_slice()).await?;
            self.rows.buf.clear();
        }
        Ok(())
    }

    /// Sends the rest and returns how many rows the table got.
    pub async fn finish(mut self) -> Result<u64> {
        if !self.rows.buf.is_empty() {
            self.copy.send(self.rows.buf.as_slice()).await?;
        }
        self.copy.finish().await?;
        Ok(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for z in -800_000..800_000 {
            if z % 997 == 0 {
                let (y, m, d) = civil_from_days(z);
                assert_eq!(days_from_civil(y, m, d), z);
            }
        }
        assert_eq!(
            add_months(days_from_civil(2025, 1, 31), 1),
            days_from_civil(2025, 2, 28)
        );
        assert_eq!(
            add_years(days_from_civil(2024, 2, 29), 1),
            days_from_civil(2025, 2, 28)
        );
        assert_eq!(
            quarter_end(days_from_civil(2025, 5, 3)),
            days_from_civil(2025, 6, 30)
        );
        assert_eq!(
            age_on(days_from_civil(1990, 6, 10), days_from_civil(2020, 6, 9)),
            29
        );
        assert_eq!(
            age_on(days_from_civil(1990, 6, 10), days_from_civil(2020, 6, 10)),
            30
        );
    }

    #[test]
    fn writes_copy_text() {
        let mut r = Rows::default();
        r.int(-12);
        r.money(845_000_000);
        r.money(5);
        r.decimal(285, 2, true);
        r.decimal(300, 2, true);
        r.text("a\tb\\c\nd\re");
        r.null();
        r.boolean(true);
        r.ts(days_from_civil(2025, 3, 14) as i64 * DAY + 12 * 3600 + 5);
        r.date(days_from_civil(2026, 12, 31));
        r.plain_array(&["+79161234567".into(), "+79031234567".into()]);
        r.end();
        assert_eq!(
            String::from_utf8(r.buf).unwrap(),
            "-12\t8450000.00\t0.05\t2.85\t3\ta\\tb\\\\c\\nd\\re\t\\N\tt\t2025-03-14 12:00:05+00\t\
             2026-12-31\t{+79161234567,+79031234567}\n"
        );
    }
}
