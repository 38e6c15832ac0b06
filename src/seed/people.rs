//! A client's row: names, documents, contacts and address, drawn when the row is written.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::buyers::Client;
use super::copy::{add_years, age_on, civil_from_days, local_day, Rows};
use super::ids;
use super::names::{self, pick, REGIONS};

fn digits(rng: &mut ChaCha8Rng, n: u32) -> String {
    format!(
        "{:0width$}",
        rng.gen_range(0..10u64.pow(n)),
        width = n as usize
    )
}

/// Everything of a client after `id, account_id`.
pub fn client(rng: &mut ChaCha8Rng, r: &mut Rows, cl: &Client, offset: i64) {
    let place = &REGIONS[usize::from(cl.region)].places[usize::from(cl.place)];
    let street = pick(rng, names::STREETS);
    let office = place.tax_region * 100 + rng.gen_range(1..=30);
    if cl.company {
        let name = names::company_name(rng);
        r.text("company");
        r.text(&name);
        for _ in 0..4 {
            r.null(); // last, first, middle name, birth day
        }
        let code = match place.tax_region {
            77 | 50 => 495,
            66 => 343,
            63 => 846,
            _ => 383,
        };
        r.plain_array(&[format!("+7{code}{}", digits(rng, 7))]);
        let domain = names::translit(
            name.split('«')
                .nth(1)
                .unwrap_or("firma")
                .trim_end_matches('»'),
        );
        r.text(&format!("info@{domain}.example.ru"));
        for _ in 0..6 {
            r.null(); // passport (5), СНИЛС
        }
        r.text(&ids::company_inn(rng, office));
        r.text(&ids::kpp(office));
        let year = rng.gen_range(2005..=2022);
        r.text(&ids::ogrn(rng, year, office));
        r.text(&format!(
            "{}, {street}, д. {}, офис {}",
            place.name,
            rng.gen_range(1..=80),
            rng.gen_range(1..=300)
        ));
        r.ts(cl.created);
        return;
    }
    let male_last = names::LAST[usize::from(cl.last)];
    let last = if cl.female {
        names::female_last_name(male_last)
    } else {
        male_last.to_owned()
    };
    let first = if cl.female {
        names::FEMALE[usize::from(cl.first)]
    } else {
        names::MALE[usize::from(cl.first)].0
    };
    let father = names::MALE[usize::from(cl.father)];
    let middle = if cl.female { father.2 } else { father.1 };
    r.text("person");
    r.text(&format!("{last} {first} {middle}"));
    r.text(&last);
    r.text(first);
    r.text(middle);
    r.date(cl.birth);
    let mut phones = vec![format!("+79{}", digits(rng, 9))];
    if rng.gen_bool(0.3) {
        phones.push(format!("+79{}", digits(rng, 9)));
    }
    r.plain_array(&phones);
    let (y, _, _) = civil_from_days(cl.birth);
    let email = match rng.gen_range(0..100) {
        0..=39 => Some(format!(
            "{}.{}",
            names::translit(first).chars().next().unwrap_or('x'),
            names::translit(&last)
        )),
        40..=64 => Some(format!(
            "{}.{}{}",
            names::translit(&last),
            names::translit(first),
            y % 100
        )),
        65..=84 => Some(format!(
            "{}{}",
            names::translit(first),
            rng.gen_range(1..999)
        )),
        _ => None,
    };
    let domain = pick(
        rng,
        &[
            "example.ru",
            "example.ru",
            "example.com",
            "example.org",
            "example.net",
        ],
    );
    r.opt_text(email.map(|e| format!("{e}@{domain}")).as_deref());
    // A passport is issued at 14 and replaced at 20 and 45.
    let created = local_day(cl.created, offset);
    let age = age_on(cl.birth, created);
    let at = if age >= 45 {
        45
    } else if age >= 20 {
        20
    } else {
        14
    };
    let issued = (add_years(cl.birth, at) + rng.gen_range(1..=45)).min(created - 1);
    let (issue_year, _, _) = civil_from_days(issued);
    r.text(&format!("{:02}{:02}", place.okato, issue_year % 100));
    r.text(&digits(rng, 6));
    let authority = if issue_year >= 2018 {
        place.new_authority.to_owned()
    } else {
        let district: &&str = pick(rng, place.districts);
        place.old_authority.replacen("{}", district, 1)
    };
    r.text(&authority);
    r.date(issued);
    r.text(&format!(
        "{:02}{}-{:03}",
        place.tax_region,
        rng.gen_range(0..=2),
        rng.gen_range(1..=99)
    ));
    r.opt_text(rng.gen_bool(0.95).then(|| ids::snils(rng)).as_deref());
    r.opt_text(
        rng.gen_bool(0.9)
            .then(|| ids::person_inn(rng, office))
            .as_deref(),
    );
    r.null(); // kpp
    r.null(); // ogrn
    r.text(&format!(
        "{}, {street}, д. {}, кв. {}",
        place.name,
        rng.gen_range(1..=120),
        rng.gen_range(1..=400)
    ));
    r.ts(cl.created);
}
