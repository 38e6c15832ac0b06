//! The JSON writer of the feeds: objects written straight into the output buffer, in the
//! contract's key order, with numbers as PostgreSQL prints them (exact decimals, no float round
//! trip) and dates formatted in place. Hand-rolled rather than serde-derived: a 100,000-unit feed
//! writes some 750 MB of it.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::{
    dates::{write_datetime, DateFormat},
    numeric::Numeric,
};

/// A JSON object being written: `key` adds the comma and the quoted key, the value follows.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    #[inline]
    pub fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    /// `key` must be plain ASCII without quotes: all keys are literals of this crate.
    #[inline]
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    #[inline]
    pub fn int(&mut self, key: &str, value: i64) {
        let out = self.key(key);
        integer(out, value);
    }

    #[inline]
    pub fn opt_int(&mut self, key: &str, value: Option<i64>) {
        match value {
            Some(value) => self.int(key, value),
            None => self.null(key),
        }
    }

    /// A 0/1 flag, as the source format has it.
    #[inline]
    pub fn flag(&mut self, key: &str, value: bool) {
        self.key(key).push(if value { b'1' } else { b'0' });
    }

    #[inline]
    pub fn str(&mut self, key: &str, value: &str) {
        json_string(self.key(key), value.as_bytes());
    }

    /// A text that may be missing. An empty text (a CRM may store one) is written as null too:
    /// the contract never writes `""` for a missing value.
    #[inline]
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) {
        self.opt_text(key, value.map(str::as_bytes));
    }

    /// A text as the database sent it (UTF-8 bytes), written as `str` writes it.
    #[inline]
    pub fn text(&mut self, key: &str, value: &[u8]) {
        json_string(self.key(key), value);
    }

    /// A text that may be missing, as the database sent it; empty is null, as in `opt_str`.
    #[inline]
    pub fn opt_text(&mut self, key: &str, value: Option<&[u8]>) {
        match value {
            Some(value) if !value.is_empty() => self.text(key, value),
            _ => self.null(key),
        }
    }

    #[inline]
    pub fn number(&mut self, key: &str, value: Option<Numeric<'_>>) {
        number(self.key(key), value);
    }

    #[inline]
    pub fn date(&mut self, key: &str, value: Option<NaiveDate>, format: &DateFormat) {
        date(self.key(key), value, format);
    }

    #[inline]
    pub fn datetime(&mut self, key: &str, value: DateTime<Utc>, tz: Tz) {
        let out = self.key(key);
        out.push(b'"');
        write_datetime(value, tz, out);
        out.push(b'"');
    }

    /// A value written before (a catalog entry), as it is.
    #[inline]
    pub fn raw(&mut self, key: &str, json: &[u8]) {
        self.key(key).extend_from_slice(json);
    }

    #[inline]
    pub fn null(&mut self, key: &str) {
        self.key(key).extend_from_slice(b"null");
    }

    #[inline]
    pub fn close(self) {
        self.out.push(b'}');
    }
}

/// `value` in decimal.
pub fn integer(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Which bytes a JSON string cannot hold as they are: `"`, `\` and the control characters.
static ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// `value` (UTF-8) as a JSON string. Most texts need no escape at all and are copied in one
/// piece. Only ASCII bytes are ever escaped, so valid UTF-8 stays valid.
///
/// Eight bytes are checked at a time (`needs_escape`), and only a word that holds a byte to
/// escape is looked at byte by byte: strings are half of a feed, and the byte-by-byte scan was
/// ≈10 % of a deals feed's server instructions.
pub fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(word);
            if !needs_escape(u64::from_le_bytes(eight)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if ESCAPE[b as usize] {
            out.extend_from_slice(&bytes[start..i]);
            escape(out, b);
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes of `word` is below 0x20, `"` or `\`. Each test is the
/// classic "has a zero byte" bit trick (`(x - 0x01…) & !x & 0x80…`), exact as to whether one
/// exists; bytes of 0x80 and above never trigger it.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    below_space | quote | backslash != 0
}

fn escape(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        other => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(other >> 4) as usize]);
            out.push(HEX[(other & 0xf) as usize]);
        }
    }
}

/// A numeric with every digit PostgreSQL keeps for it; NaN and ±Infinity, which JSON cannot
/// carry, become null, as a missing value does.
pub fn number(out: &mut Vec<u8>, value: Option<Numeric<'_>>) {
    if !value.is_some_and(|n| n.write_decimal(out)) {
        out.extend_from_slice(b"null");
    }
}

/// A date-only value in the request's format, or null.
pub fn date(out: &mut Vec<u8>, value: Option<NaiveDate>, format: &DateFormat) {
    match value {
        Some(day) => {
            out.push(b'"');
            format.write(day, out);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// `[a,b,c]` of what `write` writes for each element.
pub fn array<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for text in [
            "ООО «СЗ \"Парк\"»\n\t\\",
            "plain",
            "",
            "\u{0}\u{1}\u{8}\u{c}\r\u{1f}\u{7f}",
            "emoji 🏠 and \u{2028}",
        ] {
            let mut out = Vec::new();
            json_string(&mut out, text.as_bytes());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_byte_at_every_place_of_a_word() {
        // Each ASCII byte, and a two-byte letter, at each position of strings of up to three
        // words, among plain letters or Cyrillic ones: the word-at-a-time scan must find each
        // byte to escape wherever it stands.
        for filler in ["a", "ж"] {
            for len in 0..24 {
                for at in 0..len {
                    for byte in (0u8..0x80).map(char::from).chain(['й']) {
                        let mut text: Vec<char> = filler.repeat(len).chars().collect();
                        text[at] = byte;
                        let text: String = text.into_iter().collect();
                        let mut out = Vec::new();
                        json_string(&mut out, text.as_bytes());
                        assert_eq!(
                            String::from_utf8(out).unwrap(),
                            serde_json::to_string(&text).unwrap(),
                            "{text:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn integers() {
        for n in [0, 7, -7, 1_000_000, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            integer(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }
}
