//! Buyers: people and companies, and who takes part in which deal with which share.
//!
//! Buyers come back: a family that bought a flat buys a parking space in the same house, a client
//! who cancelled a booking books the unit again, an investor buys several units. A co-buyer is
//! usually a spouse (same surname, other gender) and sometimes a child or parent.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{Unit, FLAT, PARKING, STORAGE};
use super::copy::{local_day, DAY};
use super::deals::{is_failed, Deal};
use super::names::{self, REGIONS};
use super::Clock;

pub struct Client {
    pub company: bool,
    pub female: bool,
    /// Indices into `names::LAST`, `names::FEMALE` or `names::MALE`, and the father's `MALE`.
    pub last: u16,
    pub first: u16,
    pub father: u16,
    pub region: u8,
    pub place: u8,
    pub birth: i32,
    pub created: i64,
}

pub struct Participant {
    pub client: u32,
    pub share: (u8, u8),
    pub created: i64,
}

/// Ways to split a unit between `n` buyers; every row adds up to 1.
fn shares(rng: &mut ChaCha8Rng, n: usize) -> &'static [(u8, u8)] {
    const TWO: &[(u32, &[(u8, u8)])] = &[
        (70, &[(1, 2), (1, 2)]),
        (12, &[(1, 3), (2, 3)]),
        (6, &[(2, 3), (1, 3)]),
        (7, &[(1, 4), (3, 4)]),
        (5, &[(3, 4), (1, 4)]),
    ];
    const THREE: &[(u32, &[(u8, u8)])] = &[
        (50, &[(1, 3), (1, 3), (1, 3)]),
        (20, &[(1, 4), (1, 4), (1, 2)]),
        (15, &[(1, 2), (1, 4), (1, 4)]),
        (10, &[(1, 6), (1, 3), (1, 2)]),
        (5, &[(2, 5), (2, 5), (1, 5)]),
    ];
    let table = match n {
        2 => TWO,
        3 => THREE,
        _ => return &[(1, 1)],
    };
    let mut roll = rng.gen_range(0..100);
    for &(w, split) in table {
        if roll < w {
            return split;
        }
        roll -= w;
    }
    table[0].1
}

struct Made {
    clients: Vec<Client>,
    region: u8,
}

impl Made {
    fn person(
        &mut self,
        rng: &mut ChaCha8Rng,
        clock: &Clock,
        created: i64,
        age: i32,
        like: Option<(u16, bool)>,
    ) -> u32 {
        let region = if rng.gen_bool(0.85) {
            self.region
        } else {
            rng.gen_range(0..REGIONS.len()) as u8
        };
        let places = REGIONS[usize::from(region)].places.len();
        let place = if rng.gen_bool(0.5) {
            0
        } else {
            rng.gen_range(0..places) as u8
        };
        let (last, female) = match like {
            Some((last, female)) => (last, female),
            None => (
                rng.gen_range(0..names::LAST.len()) as u16,
                rng.gen_bool(0.45),
            ),
        };
        let first = if female {
            names::FEMALE.len()
        } else {
            names::MALE.len()
        };
        self.clients.push(Client {
            company: false,
            female,
            last,
            first: rng.gen_range(0..first) as u16,
            father: rng.gen_range(0..names::MALE.len()) as u16,
            region,
            place,
            birth: local_day(created, clock.offset) - age * 365 - rng.gen_range(0..365),
            created,
        });
        self.clients.len() as u32 - 1
    }

    fn company(&mut self, rng: &mut ChaCha8Rng, created: i64) -> u32 {
        let places = REGIONS[usize::from(self.region)].places.len();
        self.clients.push(Client {
            company: true,
            female: false,
            last: 0,
            first: 0,
            father: 0,
            region: self.region,
            place: rng.gen_range(0..places) as u8,
            birth: 0,
            created,
        });
        self.clients.len() as u32 - 1
    }
}

/// Gives every deal its participants, making clients as needed. Returns the clients in the
/// order they were created (their id order) and the participants, deal after deal.
pub fn build(
    rng: &mut ChaCha8Rng,
    clock: &Clock,
    region: u8,
    units: &[Unit],
    houses: usize,
    deals: &mut [Deal],
) -> (Vec<Client>, Vec<Participant>) {
    let mut made = Made {
        clients: Vec::with_capacity(deals.len() * 5 / 4),
        region,
    };
    let mut parts: Vec<Participant> = Vec::with_capacity(deals.len() * 8 / 5);
    let mut last_on_unit = vec![u32::MAX; units.len()];
    let mut house_buyers: Vec<Vec<u32>> = vec![Vec::new(); houses];
    for i in 0..deals.len() {
        let d = &deals[i];
        let unit = &units[d.unit as usize];
        let (company, created, updated) = (d.company, d.created, d.updated);
        let later = |rng: &mut ChaCha8Rng| {
            if rng.gen_bool(0.7) {
                created
            } else {
                rng.gen_range(created..=updated)
            }
        };
        let prev = last_on_unit[d.unit as usize];
        let buyers = &house_buyers[unit.house as usize];
        let earlier =
            if prev != u32::MAX && deals[prev as usize].company == company && rng.gen_bool(0.2) {
                Some(prev as usize)
            } else if !company
                && (unit.kind == PARKING || unit.kind == STORAGE)
                && !buyers.is_empty()
                && rng.gen_bool(0.5)
            {
                Some(buyers[rng.gen_range(0..buyers.len())] as usize)
            } else if i > 0 && rng.gen_bool(0.04) {
                let j = rng.gen_range(0..i);
                (deals[j].company == company).then_some(j)
            } else {
                None
            };
        let first = parts.len();
        if let Some(j) = earlier {
            // The earlier deal's buyers, those known by the time this deal is last updated.
            let start = deals[j].first_part as usize;
            let known = parts[start..start + usize::from(deals[j].parts)]
                .iter()
                .take_while(|p| made.clients[p.client as usize].created <= updated)
                .count()
                .max(1);
            let n = if company || rng.gen_bool(0.5) {
                known
            } else {
                rng.gen_range(1..=known)
            };
            let split = shares(rng, n);
            for (k, &share) in split.iter().enumerate() {
                let client = parts[start + k].client;
                let created = if k == 0 {
                    created
                } else {
                    later(rng).max(made.clients[client as usize].created)
                };
                parts.push(Participant {
                    client,
                    share,
                    created,
                });
            }
        } else if company {
            let lead = created - rng.gen_range(0..=30 * DAY);
            let client = made.company(rng, lead);
            parts.push(Participant {
                client,
                share: (1, 1),
                created,
            });
        } else {
            let n = 1
                + usize::from(rng.gen_range(0..100) >= 48)
                + usize::from(rng.gen_range(0..100) >= 84);
            let age = 20 + rng.gen_range(0..=18) + rng.gen_range(0..=22);
            let lead = created - rng.gen_range(0..=30 * DAY);
            let main = made.person(rng, clock, lead, age, None);
            let split = shares(rng, n);
            parts.push(Participant {
                client: main,
                share: split[0],
                created,
            });
            let family = (
                made.clients[main as usize].last,
                made.clients[main as usize].female,
            );
            for (k, &share) in split.iter().enumerate().skip(1) {
                let at = later(rng);
                let (female, age) = if k == 1 {
                    (!family.1, (age + rng.gen_range(-6..=6)).max(18))
                } else if age >= 44 {
                    (rng.gen_bool(0.5), rng.gen_range(18..=age - 22))
                } else {
                    (rng.gen_bool(0.5), age + rng.gen_range(22..=30))
                };
                let known = at - rng.gen_range(0..=7 * DAY);
                let client = made.person(rng, clock, known, age, Some((family.0, female)));
                parts.push(Participant {
                    client,
                    share,
                    created: at,
                });
            }
        }
        let d = &mut deals[i];
        d.first_part = first as u32;
        d.parts = (parts.len() - first) as u8;
        last_on_unit[d.unit as usize] = i as u32;
        if !company && unit.kind == FLAT && !is_failed(d.stage) {
            house_buyers[unit.house as usize].push(i as u32);
        }
    }
    // Ids follow the order of creation.
    let mut clients: Vec<(u32, Client)> = made
        .clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| (i as u32, c))
        .collect();
    clients.sort_by_key(|(i, c)| (c.created, *i));
    let mut new_index = vec![0u32; clients.len()];
    for (new, (old, _)) in clients.iter().enumerate() {
        new_index[*old as usize] = new as u32;
    }
    for p in &mut parts {
        p.client = new_index[p.client as usize];
    }
    let clients = clients.into_iter().map(|(_, c)| c).collect();
    (clients, parts)
}
