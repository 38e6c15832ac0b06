//! The rows of one feed query, as PostgreSQL's binary COPY sends them (`sql` writes the
//! statements): every message appended to one buffer, and where each field lies in it. Nothing is
//! decoded until an item is written, and then by column position, straight from the bytes.
//!
//! A batch's rows thus cost two allocations that grow, not several per row, and they own their
//! bytes: they do not keep the connection's read buffer alive, as rows cut from it did (the
//! memory per response in flight, bench/README.md).
//!
//! The format (PostgreSQL's docs, "COPY", binary format): a header (`PGCOPY\n\377\r\n\0`, flags,
//! an extension area), then per row a field count (i16) and per field a length (i32, −1 for
//! null) and that many bytes, then −1 as the count. The values are the types' binary send
//! formats: big-endian integers, days and microseconds since 2000-01-01, text as its bytes.

use std::ops::Range;

use chrono::{DateTime, NaiveDate, Utc};
use fallible_iterator::FallibleIterator;
use futures::TryStreamExt;
use sqlx::PgConnection;

use super::numeric::Numeric;
use crate::{Error, Result};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// `2000-01-01`, PostgreSQL's epoch, in chrono's days from the common era.
const EPOCH_DAYS_FROM_CE: i32 = 730_120;
/// `2000-01-01T00:00:00Z` in microseconds since the Unix epoch.
const EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;
/// The length of a null field.
const NULL: u32 = u32::MAX;
/// The type of a `text` value, as its array's header names it.
const TEXT_OID: u32 = 25;

/// Where a field lies in `Rows::data`.
#[derive(Clone, Copy)]
struct Field {
    start: u32,
    len: u32,
}

/// The rows of one statement.
pub struct Rows {
    data: Vec<u8>,
    fields: Vec<Field>,
    width: usize,
    /// How far `data` has been read: the first byte not yet part of a complete row.
    read: usize,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Rows,
    Done,
}

fn broken(what: impl Into<String>) -> Error {
    Error::internal("reading a feed query's rows", what.into())
}

impl Rows {
    /// Runs `statement` (a `COPY … TO STDOUT (FORMAT binary)` of rows of `width` columns).
    pub async fn copy(conn: &mut PgConnection, statement: &str, width: usize) -> Result<Rows> {
        let mut rows = Rows::new(width);
        let mut stream = conn.copy_out_raw(statement).await?;
        while let Some(message) = stream.try_next().await? {
            rows.push(&message)?;
        }
        rows.finish()?;
        Ok(rows)
    }

    /// No rows.
    pub fn empty(width: usize) -> Rows {
        Rows {
            state: State::Done,
            ..Rows::new(width)
        }
    }

    fn new(width: usize) -> Rows {
        Rows {
            data: Vec::new(),
            fields: Vec::new(),
            width,
            read: 0,
            state: State::Header,
        }
    }

    /// Appends bytes as they came and notes the fields of every row they complete.
    fn push(&mut self, bytes: &[u8]) -> Result<()> {
        if self.state == State::Done {
            return Err(broken("data after the end of the rows"));
        }
        self.data.extend_from_slice(bytes);
        if u32::try_from(self.data.len()).is_err() {
            return Err(broken("more than 4 GiB in one batch"));
        }
        if self.state == State::Header {
            let Some(after) = self.header()? else {
                return Ok(());
            };
            self.read = after;
            self.state = State::Rows;
        }
        while self.state == State::Rows && self.row()? {}
        Ok(())
    }

    /// The header's length, once all of it is there.
    fn header(&self) -> Result<Option<usize>> {
        let data = &self.data;
        if data.len() < SIGNATURE.len() + 8 {
            return Ok(None);
        }
        if &data[..SIGNATURE.len()] != SIGNATURE {
            return Err(broken("not a binary COPY"));
        }
        // Bit 16 says rows carry OIDs; the other high bits are critical flags a reader must not
        // skip (PostgreSQL's docs, "COPY", file header). None of them is set for our queries.
        let flags = be_u32(&data[11..15]);
        if flags & 0xffff_0000 != 0 {
            return Err(broken(format!("header flags {flags:#x}")));
        }
        let extension = be_u32(&data[15..19]) as usize;
        let end = 19usize.saturating_add(extension);
        Ok((data.len() >= end).then_some(end))
    }

    /// Notes the row at `read` if it is complete; false when it is not (or the end was read).
    fn row(&mut self) -> Result<bool> {
        let data = &self.data[self.read..];
        let Some(count) = data.get(..2) else {
            return Ok(false);
        };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if count == -1 {
            self.read += 2;
            self.state = State::Done;
            return Ok(false);
        }
        if usize::try_from(count).ok() != Some(self.width) {
            return Err(broken(format!(
                "a row of {count} fields where {} were expected",
                self.width
            )));
        }
        let first = self.fields.len();
        let mut at = 2;
        for _ in 0..self.width {
            let Some(len) = data.get(at..at + 4) else {
                self.fields.truncate(first);
                return Ok(false);
            };
            let len = be_u32(len);
            at += 4;
            // `read + at` fits in u32: `push` keeps the whole buffer below 4 GiB.
            let start = (self.read + at) as u32;
            if len == NULL {
                self.fields.push(Field { start, len });
                continue;
            }
            if len > i32::MAX as u32 {
                return Err(broken("a field of negative length"));
            }
            if data.len() < at + len as usize {
                self.fields.truncate(first);
                return Ok(false);
            }
            self.fields.push(Field { start, len });
            at += len as usize;
        }
        self.read += at;
        Ok(true)
    }

    fn finish(&self) -> Result<()> {
        if self.state != State::Done || self.read != self.data.len() {
            return Err(broken("the rows ended early"));
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.fields.len() / self.width.max(1)
    }

    /// The last row, if any.
    pub fn last(&self) -> Option<Row<'_>> {
        self.len().checked_sub(1).map(|i| self.row_at(i))
    }

    /// Keeps the first `len` rows.
    pub fn truncate(&mut self, len: usize) {
        self.fields.truncate(len.saturating_mul(self.width));
    }

    /// Row `i`; `i` must be below `len()`.
    pub fn row_at(&self, i: usize) -> Row<'_> {
        let start = i * self.width;
        Row {
            data: &self.data,
            fields: &self.fields[start..start + self.width],
        }
    }

    /// The rows of `range` (within `0..len()`).
    pub fn run(&self, range: Range<usize>) -> Run<'_> {
        Run { rows: self, range }
    }

    pub fn all(&self) -> Run<'_> {
        self.run(0..self.len())
    }
}

/// Consecutive rows: those of one owner, or all.
#[derive(Clone)]
pub struct Run<'a> {
    rows: &'a Rows,
    range: Range<usize>,
}

impl<'a> Run<'a> {
    pub fn first(&self) -> Option<Row<'a>> {
        (!self.range.is_empty()).then(|| self.rows.row_at(self.range.start))
    }
}

impl<'a> Iterator for Run<'a> {
    type Item = Row<'a>;

    fn next(&mut self) -> Option<Row<'a>> {
        let i = self.range.next()?;
        Some(self.rows.row_at(i))
    }
}

/// One row: its fields by column position, decoded on demand. The column positions are the
/// statement's (`load::col`); a value of the wrong size or a null where none may be is an error,
/// a bug, never a panic.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    data: &'a [u8],
    fields: &'a [Field],
}

impl<'a> Row<'a> {
    /// The bytes of column `col`, `None` for null.
    #[inline]
    pub fn bytes(&self, col: usize) -> Result<Option<&'a [u8]>> {
        let field = self
            .fields
            .get(col)
            .ok_or_else(|| broken(format!("no column {col}")))?;
        if field.len == NULL {
            return Ok(None);
        }
        let start = field.start as usize;
        Ok(Some(&self.data[start..start + field.len as usize]))
    }

    #[inline]
    fn value<const N: usize>(&self, col: usize) -> Result<Option<[u8; N]>> {
        match self.bytes(col)? {
            None => Ok(None),
            Some(bytes) => bytes.try_into().map(Some).map_err(|_| {
                broken(format!(
                    "column {col} has {} bytes where {N} were expected",
                    bytes.len()
                ))
            }),
        }
    }

    #[inline]
    fn required<T>(col: usize, value: Option<T>) -> Result<T> {
        value.ok_or_else(|| broken(format!("null in column {col}, which cannot be null")))
    }

    #[inline]
    pub fn opt_int8(&self, col: usize) -> Result<Option<i64>> {
        Ok(self.value(col)?.map(i64::from_be_bytes))
    }

    #[inline]
    pub fn int8(&self, col: usize) -> Result<i64> {
        Self::required(col, self.opt_int8(col)?)
    }

    #[inline]
    pub fn int4(&self, col: usize) -> Result<i32> {
        Self::required(col, self.opt_int4(col)?)
    }

    #[inline]
    pub fn opt_int4(&self, col: usize) -> Result<Option<i32>> {
        Ok(self.value(col)?.map(i32::from_be_bytes))
    }

    #[inline]
    pub fn int2(&self, col: usize) -> Result<i16> {
        Self::required(col, self.opt_int2(col)?)
    }

    #[inline]
    pub fn opt_int2(&self, col: usize) -> Result<Option<i16>> {
        Ok(self.value(col)?.map(i16::from_be_bytes))
    }

    #[inline]
    pub fn opt_bool(&self, col: usize) -> Result<Option<bool>> {
        Ok(self.value::<1>(col)?.map(|[b]| b != 0))
    }

    #[inline]
    pub fn bool(&self, col: usize) -> Result<bool> {
        Self::required(col, self.opt_bool(col)?)
    }

    /// A `date`. `infinity` and days beyond chrono's range (±262,143 years) are errors.
    #[inline]
    pub fn date(&self, col: usize) -> Result<Option<NaiveDate>> {
        let Some(days) = self.value(col)?.map(i32::from_be_bytes) else {
            return Ok(None);
        };
        days.checked_add(EPOCH_DAYS_FROM_CE)
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .map(Some)
            .ok_or_else(|| broken(format!("date out of range in column {col}")))
    }

    /// A `timestamptz` that cannot be null; `infinity` is an error.
    #[inline]
    pub fn timestamp(&self, col: usize) -> Result<DateTime<Utc>> {
        let micros = Self::required(col, self.value(col)?.map(i64::from_be_bytes))?;
        micros
            .checked_add(EPOCH_UNIX_MICROS)
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(|| broken(format!("date-time out of range in column {col}")))
    }

    /// A `numeric`, `None` for null.
    #[inline]
    pub fn numeric(&self, col: usize) -> Result<Option<Numeric<'a>>> {
        let Some(bytes) = self.bytes(col)? else {
            return Ok(None);
        };
        Numeric::read(bytes)
            .map(Some)
            .ok_or_else(|| broken(format!("column {col} is not a numeric")))
    }

    /// A `text` (or a value cast to text) as its UTF-8 bytes, `None` for null.
    #[inline]
    pub fn text(&self, col: usize) -> Result<Option<&'a [u8]>> {
        self.bytes(col)
    }

    #[inline]
    pub fn required_text(&self, col: usize) -> Result<&'a [u8]> {
        Self::required(col, self.text(col)?)
    }

    /// Each element of a one-dimensional `text[]` that cannot be null, in order.
    #[inline]
    pub fn texts(&self, col: usize, mut each: impl FnMut(&'a [u8])) -> Result<()> {
        use postgres_protocol::types::array_from_sql;
        let bytes = Self::required(col, self.bytes(col)?)?;
        let array = array_from_sql(bytes).map_err(|e| broken(format!("column {col}: {e}")))?;
        if array.element_type() != TEXT_OID {
            return Err(broken(format!("column {col} is not a text array")));
        }
        let mut dimensions = array.dimensions();
        let mut count = 0;
        while fallible_next(&mut dimensions, col)?.is_some() {
            count += 1;
        }
        if count > 1 {
            return Err(broken(format!("column {col} has {count} dimensions")));
        }
        let mut values = array.values();
        while let Some(value) = fallible_next(&mut values, col)? {
            each(Self::required(col, value)?);
        }
        Ok(())
    }
}

fn fallible_next<I>(iter: &mut I, col: usize) -> Result<Option<I::Item>>
where
    I: FallibleIterator<Error = Box<dyn std::error::Error + Sync + Send>>,
{
    iter.next()
        .map_err(|e| broken(format!("column {col}: {e}")))
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary COPY of `rows`, each a list of fields (`None` for null).
    fn copy(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        for row in rows {
            out.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    Some(bytes) => {
                        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        out.extend_from_slice(bytes);
                    }
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    fn sample() -> Vec<u8> {
        copy(&[
            vec![Some(&7i64.to_be_bytes()[..]), Some(b"plan"), None],
            vec![Some(&(-8i64).to_be_bytes()[..]), Some(b""), Some(&[1])],
        ])
    }

    fn read(bytes: &[u8], cut_at: &[usize], width: usize) -> Result<Rows> {
        let mut rows = Rows::new(width);
        let mut start = 0;
        for &cut in cut_at.iter().chain(std::iter::once(&bytes.len())) {
            rows.push(&bytes[start..cut])?;
            start = cut;
        }
        rows.finish()?;
        Ok(rows)
    }

    #[test]
    fn fields_by_position_whatever_the_message_boundaries() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            let rows = read(&bytes, &[cut], 3).unwrap();
            assert_eq!(rows.len(), 2);
            let first = rows.row_at(0);
            assert_eq!(first.int8(0).unwrap(), 7);
            assert_eq!(first.text(1).unwrap(), Some(&b"plan"[..]));
            assert_eq!(first.opt_bool(2).unwrap(), None);
            let second = rows.row_at(1);
            assert_eq!(second.int8(0).unwrap(), -8);
            assert_eq!(second.text(1).unwrap(), Some(&b""[..]));
            assert!(second.bool(2).unwrap());
        }
    }

    #[test]
    fn broken_input_is_an_error() {
        let bytes = sample();
        // A row of three fields where two were expected.
        assert!(read(&bytes, &[], 2).is_err());
        // Cut short anywhere: no trailer.
        for len in 0..bytes.len() {
            assert!(read(&bytes[..len], &[], 3).is_err(), "{len}");
        }
        // Bytes after the trailer.
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer, &[], 3).is_err());
        // Not a binary COPY.
        assert!(read(b"id\tname\n1\tx\n", &[], 2).is_err());
        // A critical header flag (bit 16: OIDs; 17–31: unknown).
        for bit in [16, 17, 31] {
            let mut flagged = bytes.clone();
            flagged[11..15].copy_from_slice(&(1u32 << bit).to_be_bytes());
            assert!(read(&flagged, &[], 3).is_err(), "{bit}");
        }
        // A negative length other than -1.
        let mut negative = copy(&[vec![Some(b"x")]]);
        let at = 19 + 2;
        negative[at..at + 4].copy_from_slice(&(-2i32).to_be_bytes());
        assert!(read(&negative, &[], 1).is_err());
    }

    #[test]
    fn wrong_sizes_and_nulls_are_errors_not_panics() {
        let rows = read(&sample(), &[], 3).unwrap();
        let row = rows.row_at(0);
        assert!(row.int4(0).is_err(), "8 bytes read as an int4");
        assert!(row.bool(2).is_err(), "null where none may be");
        assert!(row.timestamp(2).is_err());
        assert!(row.bytes(3).is_err(), "no such column");
        assert!(row.texts(1, |_| ()).is_err(), "not an array");
    }

    #[test]
    fn dates_and_instants_from_postgres_epoch() {
        let day = |days: i32| {
            let bytes = copy(&[vec![Some(&days.to_be_bytes()[..])]]);
            read(&bytes, &[], 1).unwrap().row_at(0).date(0)
        };
        assert_eq!(day(0).unwrap(), NaiveDate::from_ymd_opt(2000, 1, 1));
        assert_eq!(day(-1).unwrap(), NaiveDate::from_ymd_opt(1999, 12, 31));
        assert_eq!(day(9131).unwrap(), NaiveDate::from_ymd_opt(2024, 12, 31));
        // `infinity` and `-infinity`.
        assert!(day(i32::MAX).is_err());
        assert!(day(i32::MIN).is_err());
        let instant = |micros: i64| {
            let bytes = copy(&[vec![Some(&micros.to_be_bytes()[..])]]);
            read(&bytes, &[], 1).unwrap().row_at(0).timestamp(0)
        };
        assert_eq!(
            instant(1_500_000).unwrap(),
            DateTime::from_timestamp_micros(EPOCH_UNIX_MICROS + 1_500_000).unwrap()
        );
        assert!(instant(i64::MAX).is_err());
        assert!(instant(i64::MIN).is_err());
    }
}
