//! What a developer sells: ЖК (projects) with houses, sections and units, and the seller
//! organizations. Units come out in the order they were loaded into the CRM.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::copy::{local_day, quarter_end, DAY};
use super::ids;
use super::names::{self, pick, Place, Region};
use super::Clock;

pub const FLAT: u8 = 0;
pub const PARKING: u8 = 1;
pub const STORAGE: u8 = 2;
pub const COMMERCIAL: u8 = 3;

pub struct Project {
    pub title: String,
    /// Initials used in contract numbers, unique in the account ("СП").
    pub code: String,
    pub org: Option<u32>,
}

pub struct House {
    pub project: u32,
    /// Корпус number within the project.
    pub number: u32,
    pub address: String,
    pub deadline: Option<i32>,
    pub ceiling_cm: i64,
    pub finish: u8,
}

pub struct Section {
    pub house: u32,
    pub number: u32,
}

pub struct Org {
    pub name: String,
    pub inn: String,
    pub kpp: String,
    pub ogrn: String,
    pub address: String,
}

pub struct Unit {
    pub sid: [u8; 11],
    pub house: u32,
    pub section: Option<u32>,
    pub kind: u8,
    /// The number as printed, without the kind's prefix ("П-").
    pub number: u32,
    pub status: u8,
    /// Rooms of a flat (a studio counts one room); 0 for other kinds.
    pub rooms: u8,
    pub studio: bool,
    pub corner: bool,
    /// Areas in hundredths of a square metre; 0 where there is none.
    pub area: i64,
    pub living: i64,
    pub kitchen: i64,
    pub floor: i32,
    /// Kopecks; the feed shows it unless `price_shown` is false.
    pub price: i64,
    pub price_shown: bool,
    pub created: i64,
    pub updated: i64,
}

impl Unit {
    /// "125", "П-12", "К-7", "Н-3".
    pub fn number_text(&self) -> String {
        match self.kind {
            PARKING => format!("П-{}", self.number),
            STORAGE => format!("К-{}", self.number),
            COMMERCIAL => format!("Н-{}", self.number),
            _ => self.number.to_string(),
        }
    }
}

pub struct Catalog {
    pub projects: Vec<Project>,
    pub houses: Vec<House>,
    pub sections: Vec<Section>,
    pub orgs: Vec<Org>,
    pub units: Vec<Unit>,
}

/// One flat of a section's floor plan, the same on every floor.
struct Layout {
    rooms: u8,
    studio: bool,
    area: i64,
    living: i64,
    kitchen: i64,
}

fn layout(rng: &mut ChaCha8Rng, corner: bool) -> Layout {
    let roll = rng.gen_range(0..100);
    let rooms = if corner {
        [2, 3, 4][usize::from(roll >= 40) + usize::from(roll >= 85)]
    } else {
        match roll {
            0..=21 => 0,
            22..=69 => 1,
            70..=94 => 2,
            _ => 3,
        }
    };
    let round10 = |v: f64| (v / 10.0).round() as i64 * 10;
    let (lo, hi, living_share, kitchen) = match rooms {
        0 => (2500, 3200, (0.55, 0.68), (0, 0)),
        1 => (3300, 4500, (0.40, 0.52), (900, 1400)),
        2 => (5000, 7000, (0.48, 0.58), (1000, 1600)),
        3 => (7200, 9500, (0.52, 0.62), (1100, 1800)),
        _ => (9500, 12000, (0.55, 0.65), (1200, 2000)),
    };
    let area = round10(rng.gen_range(lo as f64..hi as f64));
    let living = round10(area as f64 * rng.gen_range(living_share.0..living_share.1));
    let kitchen = if kitchen.1 > 0 {
        round10(rng.gen_range(kitchen.0 as f64..kitchen.1 as f64)).min(area * 9 / 10 - living)
    } else {
        0
    };
    Layout {
        rooms: rooms.max(1),
        studio: rooms == 0,
        area,
        living,
        kitchen,
    }
}

fn round_to(kopecks: f64, step_roubles: i64) -> i64 {
    let step = (step_roubles * 100) as f64;
    ((kopecks / step).round() as i64).max(1) * step_roubles * 100
}

fn sid(rng: &mut ChaCha8Rng) -> [u8; 11] {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut s = [0u8; 11];
    for c in &mut s {
        *c = ALPHABET[rng.gen_range(0..ALPHABET.len())];
    }
    s
}

fn org(rng: &mut ChaCha8Rng, title: &str, place: &Place) -> Org {
    let office = place.tax_region * 100 + rng.gen_range(1..=30);
    let reg_office = place.tax_region * 100
        + if place.tax_region == 77 {
            46
        } else {
            rng.gen_range(1..=30)
        };
    let year = rng.gen_range(2012..=2022);
    Org {
        name: format!("ООО «СЗ {title}»"),
        inn: ids::company_inn(rng, office),
        kpp: ids::kpp(office),
        ogrn: ids::ogrn(rng, year, reg_office),
        address: format!(
            "{}, {}, д. {}, офис {}",
            place.name,
            pick(rng, names::STREETS),
            rng.gen_range(1..=60),
            rng.gen_range(1..=40)
        ),
    }
}

/// Builds the catalog of one account with exactly `wanted` units. `first_name` is the index of
/// the account's own name, which its first ЖК carries.
pub fn build(
    rng: &mut ChaCha8Rng,
    clock: &Clock,
    region: &'static Region,
    first_name: usize,
    wanted: u32,
) -> Catalog {
    let mut c = Catalog {
        projects: Vec::new(),
        houses: Vec::new(),
        sections: Vec::new(),
        orgs: Vec::new(),
        units: Vec::with_capacity(wanted as usize),
    };
    let mut titles: Vec<usize> = (0..names::PLACE_NAMES)
        .filter(|&i| i != first_name)
        .collect();
    titles.shuffle(rng);
    let mut remaining = wanted as i64;
    // Projects start between two years and three months ago, in order; a ЖК holds about a
    // thousand units.
    let expected_projects = (remaining / 1000 + 1) as f64;
    let (first_start, span) = (clock.now - 730 * DAY, 550 * DAY);
    let last_house = clock.now - 60 * DAY;
    let mut codes: Vec<String> = Vec::new();
    while remaining > 0 {
        let p = c.projects.len();
        let title = if p == 0 {
            names::place_name(first_name)
        } else {
            let k = p - 1;
            names::place_name(titles[k % titles.len()] + k / titles.len() * names::PLACE_NAMES)
        };
        let initials = names::initials(&title);
        let code = match codes.iter().filter(|&c| *c == initials).count() {
            0 => initials.clone(),
            n => format!("{initials}{}", n + 1),
        };
        codes.push(initials);
        let place = if rng.gen_bool(0.4) {
            &region.places[0]
        } else {
            pick(rng, region.places)
        };
        let org_id = if p > 0 && rng.gen_bool(0.05) {
            None
        } else {
            c.orgs.push(org(rng, &title, place));
            Some(c.orgs.len() as u32 - 1)
        };
        let metre = rng.gen_range(place.metre.0..=place.metre.1) as f64;
        let street = pick(rng, names::STREETS);
        let building = rng.gen_range(1..=40);
        let share = ((p as f64 + rng.gen::<f64>()) / expected_projects).min(1.0);
        let start = first_start + (span as f64 * share) as i64;
        let floors = rng.gen_range(9..=25);
        let n_houses = rng.gen_range(1..=5);
        c.projects.push(Project {
            title,
            code,
            org: org_id,
        });
        let mut created = start;
        for k in 1..=n_houses {
            if remaining <= 0 {
                break;
            }
            // Later houses (очереди) of the project go on sale months apart.
            if k > 1 {
                let next = created + rng.gen_range(30 * DAY..150 * DAY);
                created = if next <= last_house {
                    next
                } else {
                    rng.gen_range(created.min(last_house)..=last_house)
                };
            }
            let first = c.houses.is_empty();
            let h = c.houses.len() as u32;
            let deadline = rng
                .gen_bool(0.95)
                .then(|| quarter_end(local_day(created, clock.offset) + rng.gen_range(540..1260)));
            c.houses.push(House {
                project: p as u32,
                number: k,
                address: format!("{}, {street}, д. {building}, к. {k}", place.name),
                deadline,
                ceiling_cm: *pick(rng, &[270, 275, 280, 285, 290, 300, 310, 320]),
                finish: *pick(
                    rng,
                    &[0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3],
                ),
            });
            let house_floors: i32 = (floors + rng.gen_range(-3..=3)).clamp(5, 30);
            let n_sections: u32 = *pick(rng, &[1, 2, 2, 3, 3, 3, 4, 4, 5]);
            let per_floor: Vec<usize> = (0..n_sections).map(|_| rng.gen_range(4..=8)).collect();
            let has_shops = first || rng.gen_bool(0.7);
            let first_flat_floor = if has_shops { 2 } else { 1 };
            let flats_full: i64 = per_floor.iter().sum::<usize>() as i64
                * i64::from(house_floors - first_flat_floor + 1);
            let shops_full = if has_shops {
                i64::from(n_sections) * rng.gen_range(1..=3)
            } else {
                0
            };
            let parking_full = if first || rng.gen_bool(0.7) {
                (flats_full as f64 * rng.gen_range(0.10..0.30)) as i64 + 1
            } else {
                0
            };
            let storage_full = if first || rng.gen_bool(0.6) {
                (flats_full as f64 * rng.gen_range(0.05..0.15)) as i64 + 1
            } else {
                0
            };
            let full = flats_full + shops_full + parking_full + storage_full;
            let (mut shops, mut parking, mut storage) = (shops_full, parking_full, storage_full);
            if full > remaining {
                let scale = |n: i64| {
                    let v = n * remaining / full;
                    if n > 0 && remaining >= 8 {
                        v.max(1)
                    } else {
                        v
                    }
                };
                (shops, parking, storage) = (scale(shops), scale(parking), scale(storage));
            }
            let flats = (remaining - shops - parking - storage)
                .min(flats_full)
                .max(0);
            remaining -= flats + shops + parking + storage;

            let section0 = c.sections.len() as u32;
            for s in 1..=n_sections {
                c.sections.push(Section {
                    house: h,
                    number: s,
                });
            }
            let house_factor = rng.gen_range(0.96..1.04);
            // Flats and shops are imported together when the house is loaded; parking and storage
            // go on sale later.
            let mut t = created;
            let mut number = 0;
            'sections: for (s, &k) in per_floor.iter().enumerate() {
                let plan: Vec<Layout> = (0..k).map(|i| layout(rng, i == 0 || i == k - 1)).collect();
                for floor in first_flat_floor..=house_floors {
                    for (i, l) in plan.iter().enumerate() {
                        if number >= flats {
                            break 'sections;
                        }
                        number += 1;
                        let rooms_factor = [1.08, 1.04, 1.0, 0.97, 0.95]
                            [usize::from(if l.studio { 0 } else { l.rooms })];
                        let metr = metre
                            * house_factor
                            * rooms_factor
                            * (1.0 + 0.003 * f64::from(floor - 2))
                            * rng.gen_range(0.985..1.015);
                        t += rng.gen_range(1..=3);
                        c.units.push(Unit {
                            sid: sid(rng),
                            house: h,
                            section: Some(section0 + s as u32),
                            kind: FLAT,
                            number: number as u32,
                            status: 0,
                            rooms: l.rooms,
                            studio: l.studio,
                            corner: i == 0 || i == plan.len() - 1,
                            area: l.area,
                            living: l.living,
                            kitchen: l.kitchen,
                            floor,
                            price: round_to(l.area as f64 * metr, 1000),
                            price_shown: true,
                            created: t,
                            updated: t,
                        });
                    }
                }
            }
            let mut extra = |kind: u8, count: i64, at: i64, rng: &mut ChaCha8Rng| {
                let mut t = at;
                for n in 1..=count {
                    t += rng.gen_range(1..=3);
                    let (area, price, floor, section) = match kind {
                        COMMERCIAL => {
                            let area = rng.gen_range(4000..20000) / 10 * 10;
                            let price =
                                round_to(area as f64 * metre * rng.gen_range(1.05..1.3), 1000);
                            let s = (n - 1) as u32 % n_sections;
                            (area, price, 1, Some(section0 + s))
                        }
                        PARKING => {
                            let area = rng.gen_range(1325..=1800) / 5 * 5;
                            let price = round_to(metre * 100.0 * rng.gen_range(7.0..12.0), 10_000);
                            (
                                area,
                                price,
                                if n * 2 > count && count > 80 { -2 } else { -1 },
                                None,
                            )
                        }
                        _ => {
                            let area = rng.gen_range(300..=800) / 10 * 10;
                            let price =
                                round_to(area as f64 * metre * rng.gen_range(0.45..0.6), 1000);
                            (area, price, -1, None)
                        }
                    };
                    c.units.push(Unit {
                        sid: sid(rng),
                        house: h,
                        section,
                        kind,
                        number: n as u32,
                        status: 0,
                        rooms: 0,
                        studio: false,
                        corner: false,
                        area,
                        living: 0,
                        kitchen: 0,
                        floor,
                        price,
                        price_shown: true,
                        created: t,
                        updated: t,
                    });
                }
            };
            let latest = clock.old_until - 21 * DAY;
            extra(COMMERCIAL, shops, t, rng);
            for (kind, count) in [(PARKING, parking), (STORAGE, storage)] {
                let at = created + rng.gen_range(30 * DAY..200 * DAY);
                let at = if at <= latest {
                    at
                } else {
                    rng.gen_range(created.min(latest)..=latest)
                };
                extra(kind, count, at, rng);
            }
        }
    }
    // Ids follow the order of loading, as in the CRM.
    c.units.sort_by_key(|u| u.created);
    c
}
