//! Russian registration numbers with valid check digits: ИНН (10 and 12 digits), КПП, ОГРН,
//! СНИЛС. `tax_office` is the 4-digit code of a tax inspection (region and inspection, e.g. 7701).

use rand::Rng;

const INN10_WEIGHTS: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_11: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN12_WEIGHTS_12: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

fn weighted(digits: &[u8], weights: &[u32]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(&d, &w)| u32::from(d) * w)
        .sum();
    (sum % 11 % 10) as u8
}

fn to_string(digits: &[u8]) -> String {
    digits.iter().map(|&d| char::from(b'0' + d)).collect()
}

fn push_number(digits: &mut Vec<u8>, value: u64, width: u32) {
    for i in (0..width).rev() {
        digits.push((value / 10u64.pow(i) % 10) as u8);
    }
}

/// ИНН of an organization: 4-digit tax office, 5 digits, check digit.
pub fn company_inn(rng: &mut impl Rng, tax_office: u16) -> String {
    let mut d = Vec::with_capacity(10);
    push_number(&mut d, u64::from(tax_office), 4);
    push_number(&mut d, rng.gen_range(0..100_000), 5);
    d.push(weighted(&d, &INN10_WEIGHTS));
    to_string(&d)
}

/// ИНН of a person: 4-digit tax office, 6 digits, two check digits.
pub fn person_inn(rng: &mut impl Rng, tax_office: u16) -> String {
    let mut d = Vec::with_capacity(12);
    push_number(&mut d, u64::from(tax_office), 4);
    push_number(&mut d, rng.gen_range(0..1_000_000), 6);
    d.push(weighted(&d, &INN12_WEIGHTS_11));
    d.push(weighted(&d, &INN12_WEIGHTS_12));
    to_string(&d)
}

/// КПП of an organization's head office: tax office, reason code 01, number 001.
pub fn kpp(tax_office: u16) -> String {
    format!("{tax_office:04}01001")
}

/// ОГРН: 1 (legal entity), year of registration, tax office, 5-digit record number, check digit.
pub fn ogrn(rng: &mut impl Rng, year: i32, tax_office: u16) -> String {
    let body = 100_000_000_000u64
        + (year.rem_euclid(100) as u64) * 1_000_000_000
        + u64::from(tax_office) * 100_000
        + rng.gen_range(0..100_000u64);
    format!("{body}{}", body % 11 % 10)
}

/// The check number of a 9-digit СНИЛС.
pub fn snils_check(number: u32) -> u32 {
    let mut sum = 0;
    let mut n = number;
    for weight in 1..=9 {
        sum += (n % 10) * weight;
        n /= 10;
    }
    match sum {
        s if s < 100 => s,
        100 | 101 => 0,
        s => {
            let s = s % 101;
            if s == 100 {
                0
            } else {
                s
            }
        }
    }
}

/// СНИЛС as written on the card: "112-233-445 95". Numbers start above 001-001-998, where check
/// numbers begin.
pub fn snils(rng: &mut impl Rng) -> String {
    let n: u32 = rng.gen_range(2_000_000..1_000_000_000);
    format!(
        "{:03}-{:03}-{:03} {:02}",
        n / 1_000_000,
        n / 1000 % 1000,
        n % 1000,
        snils_check(n)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    fn inn_ok(s: &str) -> bool {
        let d = digits(s);
        match d.len() {
            10 => weighted(&d[..9], &INN10_WEIGHTS) == d[9],
            12 => {
                weighted(&d[..10], &INN12_WEIGHTS_11) == d[10]
                    && weighted(&d[..11], &INN12_WEIGHTS_12) == d[11]
            }
            _ => false,
        }
    }

    #[test]
    fn known_numbers_check_out() {
        // Sberbank's ИНН and ОГРН, a textbook 12-digit ИНН, and the СНИЛС of the feed contract.
        assert!(inn_ok("7707083893"));
        assert!(!inn_ok("7707083894"));
        assert!(inn_ok("500100732259"));
        assert!(!inn_ok("500100732258"));
        let ogrn: u64 = 102_770_013_219;
        assert_eq!(ogrn % 11 % 10, 5, "1027700132195");
        assert_eq!(snils_check(112_233_445), 95);
        // Sums of exactly 100 and 101, and one above.
        assert_eq!(snils_check(920_000_003), 0); // 81 + 16 + 3 = 100
        assert_eq!(snils_check(920_000_004), 0); // 101
        assert_eq!(snils_check(920_000_005), 1); // 102 mod 101
        assert_eq!(snils_check(999_999_999), 1); // 405 mod 101
    }

    #[test]
    fn generated_numbers_are_valid() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..1000 {
            let inn = company_inn(&mut rng, 7701);
            assert_eq!(inn.len(), 10);
            assert!(inn.starts_with("7701") && inn_ok(&inn), "{inn}");
            let inn = person_inn(&mut rng, 5047);
            assert_eq!(inn.len(), 12);
            assert!(inn.starts_with("5047") && inn_ok(&inn), "{inn}");
            let ogrn = ogrn(&mut rng, 2015, 7746);
            assert_eq!(ogrn.len(), 13);
            assert!(ogrn.starts_with("1157746"), "{ogrn}");
            let body: u64 = ogrn[..12].parse().unwrap();
            assert_eq!(u64::from(ogrn.as_bytes()[12] - b'0'), body % 11 % 10);
            let s = snils(&mut rng);
            assert_eq!(s.len(), 14);
            let n: u32 = s[..11].replace('-', "").parse().unwrap();
            assert!(n > 1_001_998);
            assert_eq!(s[12..].parse::<u32>().unwrap(), snils_check(n));
        }
        assert_eq!(kpp(7701), "770101001");
    }
}
