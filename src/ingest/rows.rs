//! A batch of items taken apart into the rows of each table, one row per id (an item may repeat
//! what another one says: the same unit under several deals, the same client in several deals).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::item::{
    CustomValue, Deal, House, Item, Organization, Participant, Payment, Titled, Unit,
};

/// An item with where it was in its document (`$.data[3]`).
pub struct Located {
    pub index: usize,
    pub path: String,
    pub item: Item,
}

/// The rows of every table a batch writes, each with the path of the first item that gave it
/// (for a problem the database finds with it).
#[derive(Default)]
pub struct Rows {
    pub projects: BTreeMap<i64, (Titled, String)>,
    pub houses: BTreeMap<i64, (House, i64, String)>,
    pub sections: BTreeMap<i64, (Titled, i64, String)>,
    pub organizations: BTreeMap<i64, (Organization, String)>,
    pub unit_params: BTreeMap<i64, (String, &'static str, String)>,
    pub units: BTreeMap<i64, (Unit, String)>,
    pub stages: BTreeMap<i64, (String, bool, String)>,
    pub managers: BTreeMap<i64, (String, String)>,
    pub deal_fields: BTreeMap<i64, (String, &'static str, String)>,
    pub clients: BTreeMap<i64, (Participant, String)>,
    /// Deals with their unit.
    pub deals: BTreeMap<i64, (Deal, i64, String)>,
    /// Where each item is, by its id (a deal's in the deals feed, a unit's in the units feed).
    pub items: BTreeMap<i64, (usize, String)>,
}

impl Rows {
    pub fn add(&mut self, located: Located) {
        let Located { index, path, item } = located;
        self.items.entry(item.id()).or_insert((index, path.clone()));
        match item {
            Item::Deal { deal, unit } => {
                let unit_id = unit.id;
                self.add_unit(unit, &format!("{path}.flat"));
                self.add_deal(deal, unit_id, &path);
            }
            Item::Unit { unit, deal } => {
                let unit_id = unit.id;
                self.add_unit(unit, &path);
                if let Some(deal) = deal {
                    self.add_deal(deal, unit_id, &format!("{path}.deal"));
                }
            }
        }
    }

    fn add_unit(&mut self, unit: Unit, path: &str) {
        self.projects
            .entry(unit.project.id)
            .or_insert_with(|| (unit.project.clone(), format!("{path}.project")));
        self.houses
            .entry(unit.house.id)
            .or_insert_with(|| (unit.house.clone(), unit.project.id, format!("{path}.house")));
        if let Some(section) = &unit.section {
            self.sections
                .entry(section.id)
                .or_insert_with(|| (section.clone(), unit.house.id, format!("{path}.section")));
        }
        if let Some(org) = &unit.organization {
            self.organizations
                .entry(org.id)
                .or_insert_with(|| (org.clone(), format!("{path}.organization")));
        }
        for (i, param) in unit.params.iter().enumerate() {
            self.unit_params.entry(param.id).or_insert_with(|| {
                (
                    param.title.clone(),
                    param.kind,
                    format!("{path}.params[{i}]"),
                )
            });
        }
        self.units
            .entry(unit.id)
            .or_insert_with(|| (unit, path.to_owned()));
    }

    fn add_deal(&mut self, deal: Deal, unit_id: i64, path: &str) {
        self.stages.entry(deal.status_id).or_insert_with(|| {
            (
                deal.status_title.clone(),
                deal.is_active,
                format!("{path}.status_id"),
            )
        });
        if let Some(manager) = &deal.manager {
            self.managers
                .entry(manager.id)
                .or_insert_with(|| (manager.title.clone(), format!("{path}.manager")));
        }
        for (i, field) in deal.fields.iter().enumerate() {
            self.deal_fields.entry(field.id).or_insert_with(|| {
                (
                    field.title.clone(),
                    field.kind,
                    format!("{path}.fields[{i}]"),
                )
            });
        }
        for (i, client) in deal.participants.iter().enumerate() {
            self.clients
                .entry(client.id)
                .or_insert_with(|| (client.clone(), format!("{path}.participants[{i}]")));
        }
        self.deals
            .entry(deal.id)
            .or_insert_with(|| (deal, unit_id, path.to_owned()));
    }

    /// Ids of `map`, in order.
    pub fn ids<V>(map: &BTreeMap<i64, V>) -> Vec<i64> {
        map.keys().copied().collect()
    }

    /// Whether two items disagree about a stage: one of its deals active, another failed.
    pub fn stage_conflicts(&self) -> Vec<(i64, String)> {
        let mut seen: BTreeMap<i64, bool> = BTreeMap::new();
        let mut conflicts = Vec::new();
        for (deal, _, path) in self.deals.values() {
            match seen.get(&deal.status_id) {
                Some(&active) if active != deal.is_active => {
                    conflicts.push((deal.status_id, format!("{path}.is_active")));
                }
                _ => {
                    seen.insert(deal.status_id, deal.is_active);
                }
            }
        }
        conflicts
    }
}

/// The columns of a set of custom values (unit params or deal fields) of several owners.
#[derive(Default)]
pub struct ValueColumns {
    pub owner: Vec<i64>,
    pub id: Vec<i64>,
    pub kind: Vec<&'static str>,
    pub string: Vec<Option<String>>,
    pub number: Vec<Option<String>>,
    pub date: Vec<Option<NaiveDate>>,
    pub boolean: Vec<Option<bool>>,
}

impl ValueColumns {
    pub fn push(&mut self, owner: i64, value: &CustomValue) {
        self.owner.push(owner);
        self.id.push(value.id);
        self.kind.push(value.kind);
        self.string.push(value.value_string.clone());
        self.number.push(value.value_number.clone());
        self.date.push(value.value_date);
        self.boolean.push(value.value_bool);
    }

    pub fn kinds(&self) -> Vec<String> {
        self.kind.iter().map(|k| (*k).to_owned()).collect()
    }
}

/// The columns of payments of several deals.
#[derive(Default)]
pub struct PaymentColumns {
    pub id: Vec<i64>,
    pub deal: Vec<i64>,
    pub kind: Vec<String>,
    pub day: Vec<NaiveDate>,
    pub sum: Vec<String>,
    pub comment: Vec<Option<String>>,
    pub dt_created: Vec<Option<DateTime<Utc>>>,
}

impl PaymentColumns {
    pub fn push(&mut self, deal: i64, payment: &Payment) {
        self.id.push(payment.id);
        self.deal.push(deal);
        self.kind.push(payment.kind.to_owned());
        self.day.push(payment.day);
        self.sum.push(payment.sum.clone());
        self.comment.push(payment.comment.clone());
        self.dt_created.push(payment.dt_created);
    }
}
