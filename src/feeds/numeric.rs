//! PostgreSQL's `numeric` in its binary form, written as the exact decimal text PostgreSQL
//! itself prints. The feeds read numbers this way rather than cast to text: the cast cost
//! PostgreSQL ≈0.3 s of CPU per full deals feed at L (the batch queries run with and without
//! it, issue 18), and the text has to be the same to the last digit (docs/feeds.md: exact
//! decimal values), which the tests check against PostgreSQL's own output.

/// A `numeric` as PostgreSQL sends it: base-10000 digits, the weight (power of 10000) of the
/// first, the sign, and the display scale (digits after the point).
#[derive(Clone, Copy)]
pub struct Numeric<'a> {
    digits: &'a [u8],
    weight: i16,
    sign: u16,
    scale: u16,
}

const NUMERIC_POSITIVE: u16 = 0x0000;
const NUMERIC_NEGATIVE: u16 = 0x4000;
/// NaN, +Infinity and −Infinity.
const NUMERIC_SPECIAL: [u16; 3] = [0xC000, 0xD000, 0xF000];

impl<'a> Numeric<'a> {
    /// Its binary form, if that is well-formed.
    pub fn read(bytes: &'a [u8]) -> Option<Numeric<'a>> {
        let header = bytes.get(..8)?;
        let field = |i: usize| u16::from_be_bytes([header[2 * i], header[2 * i + 1]]);
        let count = usize::try_from(field(0) as i16).ok()?;
        let digits = bytes.get(8..)?;
        let sign = field(2);
        let valid = digits.len() == 2 * count
            && (sign == NUMERIC_POSITIVE
                || sign == NUMERIC_NEGATIVE
                || NUMERIC_SPECIAL.contains(&sign))
            && digits
                .chunks_exact(2)
                .all(|d| u16::from_be_bytes([d[0], d[1]]) < 10_000);
        valid.then_some(Numeric {
            digits,
            weight: field(1) as i16,
            sign,
            scale: field(3),
        })
    }

    /// The base-10000 digit at position `d` (0 is the first), zero outside the digits.
    fn digit(&self, d: i32) -> u16 {
        usize::try_from(d)
            .ok()
            .and_then(|d| self.digits.get(2 * d..2 * d + 2))
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// Appends the text PostgreSQL's `numeric_out` gives (`-12.50`, `0.001`, `8450000`), which is
    /// a JSON number as it is; false, with nothing appended, for NaN and ±Infinity, which JSON
    /// cannot carry.
    pub fn write_decimal(&self, out: &mut Vec<u8>) -> bool {
        match self.sign {
            NUMERIC_POSITIVE => {}
            NUMERIC_NEGATIVE => out.push(b'-'),
            _ => return false,
        }
        let weight = i32::from(self.weight);
        if weight < 0 {
            out.push(b'0');
        } else {
            // The first group without its leading zeros, then four digits a group.
            let first = self.digit(0);
            let mut started = false;
            for power in [1000, 100, 10] {
                let digit = (first / power % 10) as u8;
                started |= digit > 0;
                if started {
                    out.push(b'0' + digit);
                }
            }
            out.push(b'0' + (first % 10) as u8);
            for d in 1..=weight {
                out.extend_from_slice(&four_digits(self.digit(d)));
            }
        }
        if self.scale > 0 {
            out.push(b'.');
            let mut left = usize::from(self.scale);
            let mut d = weight + 1;
            while left > 0 {
                let group = four_digits(self.digit(d));
                let take = left.min(4);
                out.extend_from_slice(&group[..take]);
                left -= take;
                d += 1;
            }
        }
        true
    }
}

fn four_digits(value: u16) -> [u8; 4] {
    [
        b'0' + (value / 1000 % 10) as u8,
        b'0' + (value / 100 % 10) as u8,
        b'0' + (value / 10 % 10) as u8,
        b'0' + (value % 10) as u8,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(fields: [u16; 4], digits: &[u16]) -> Vec<u8> {
        fields
            .iter()
            .chain(digits)
            .flat_map(|v| v.to_be_bytes())
            .collect()
    }

    fn decimal(bytes: &[u8]) -> Option<String> {
        let mut out = Vec::new();
        let value = Numeric::read(bytes)?;
        value
            .write_decimal(&mut out)
            .then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn numerics_as_numeric_out_prints_them() {
        // 8450000.00: digits 845 0000, weight 1, scale 2.
        assert_eq!(
            decimal(&numeric([2, 1, 0, 2], &[845, 0])).as_deref(),
            Some("8450000.00")
        );
        // -0.000012: digits 0012 (weight -2), scale 6.
        assert_eq!(
            decimal(&numeric([1, 0xfffe, 0x4000, 6], &[1200])).as_deref(),
            Some("-0.000012")
        );
        // Zero with a scale, and without.
        assert_eq!(
            decimal(&numeric([0, 0, 0, 3], &[])).as_deref(),
            Some("0.000")
        );
        assert_eq!(decimal(&numeric([0, 0, 0, 0], &[])).as_deref(), Some("0"));
        // NaN and the infinities are no JSON number.
        for special in [0xC000, 0xD000, 0xF000] {
            assert!(Numeric::read(&numeric([0, 0, special, 0], &[])).is_some());
            assert_eq!(decimal(&numeric([0, 0, special, 0], &[])), None);
        }
    }

    #[test]
    fn malformed_numerics_are_refused() {
        // A digit of 10000 or more, a sign that is none, digits missing or left over.
        assert!(Numeric::read(&numeric([1, 0, 0, 0], &[10_000])).is_none());
        assert!(Numeric::read(&numeric([1, 0, 0x1234, 0], &[1])).is_none());
        assert!(Numeric::read(&numeric([2, 0, 0, 0], &[1])).is_none());
        assert!(Numeric::read(&numeric([0, 0, 0, 0], &[1])).is_none());
        assert!(Numeric::read(&numeric([0xffff, 0, 0, 0], &[])).is_none());
        assert!(Numeric::read(&[0, 1, 0]).is_none());
    }
}
