//! The account's small tables, rendered once per response: every project, house, section,
//! organization, stage, manager and custom field or param definition that the response's items
//! refer to, as the JSON it is shown as. The item queries then return ids and values only: a
//! 100,000-unit feed no longer joins, sends, decodes and escapes the same titles and addresses a
//! million times (bench/README.md, issue 18).
//!
//! Stages, managers and definitions are few per account and read whole with the first batch.
//! Places (houses with their projects, sections, organizations) grow with the account (850
//! sections at L), so each batch reads only the ones it refers to that earlier batches did not:
//! a request for one deal reads one house, not the account's 273.

// foldhash rather than std's SipHash: ids from our own database need no protection against
// chosen collisions, and the lookups run for every item (≈3 % of a feed's server instructions).
use foldhash::{HashMap, HashSet};

use sqlx::PgConnection;

use super::{
    dates::DateFormat,
    json::{json_string, Object},
    load::col,
    rows::Row,
};
use crate::Result;

/// A custom unit param or deal field definition: its type and the start of its object,
/// `{"id":…,"title":…,"type":…,"value":`, to which the value and `}` are added.
pub struct Definition {
    pub kind: CustomType,
    pub prefix: Box<[u8]>,
}

/// The type of a custom value, which says which column holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomType {
    String,
    Number,
    Date,
    Bool,
}

/// A house: its project, and the house object as shown.
pub struct House {
    pub project_id: i64,
    pub json: Box<[u8]>,
}

/// Everything small an item refers to, as rendered JSON, by id.
#[derive(Default)]
pub struct Catalog {
    /// `{"id":…,"title":…}`
    pub projects: HashMap<i64, Box<[u8]>>,
    pub houses: HashMap<i64, House>,
    /// `{"id":…,"title":…}`
    pub sections: HashMap<i64, Box<[u8]>>,
    /// `{"id":…,"name":…,"inn":…,"kpp":…,"ogrn":…,"address":…}`
    pub organizations: HashMap<i64, Box<[u8]>>,
    /// The stage's title as a JSON string.
    pub stages: HashMap<i64, Box<[u8]>>,
    /// `{"id":…,"name":…}`
    pub managers: HashMap<i64, Box<[u8]>>,
    pub unit_params: HashMap<i64, Definition>,
    pub deal_fields: HashMap<i64, Definition>,
}

impl Catalog {
    /// Adds the entries of `more` (read for a later batch).
    pub fn extend(&mut self, more: Catalog) {
        self.projects.extend(more.projects);
        self.houses.extend(more.houses);
        self.sections.extend(more.sections);
        self.organizations.extend(more.organizations);
        self.stages.extend(more.stages);
        self.managers.extend(more.managers);
        self.unit_params.extend(more.unit_params);
        self.deal_fields.extend(more.deal_fields);
    }
}

/// The places a batch's units refer to, collected from their rows.
#[derive(Default)]
pub struct Places {
    houses: Vec<i64>,
    sections: Vec<i64>,
    organizations: Vec<i64>,
}

impl Places {
    /// Notes the places of a unit, from its row of unit columns (`col::unit`).
    pub fn add_unit(&mut self, row: Row<'_>) -> Result<()> {
        self.houses.push(row.int8(col::unit::HOUSE_ID)?);
        self.sections.extend(row.opt_int8(col::unit::SECTION_ID)?);
        self.organizations
            .extend(row.opt_int8(col::unit::ORGANIZATION_ID)?);
        Ok(())
    }
}

/// The loader's side of a response's catalog: what it has read so far, so that each batch reads
/// only what is new to it.
pub struct CatalogReader<'a> {
    account_id: i64,
    date_format: &'a DateFormat,
    started: bool,
    houses: HashSet<i64>,
    projects: HashSet<i64>,
    sections: HashSet<i64>,
    organizations: HashSet<i64>,
}

impl<'a> CatalogReader<'a> {
    /// For the account's items, with house deadlines in `date_format`.
    pub fn new(account_id: i64, date_format: &'a DateFormat) -> CatalogReader<'a> {
        CatalogReader {
            account_id,
            date_format,
            started: false,
            houses: HashSet::default(),
            projects: HashSet::default(),
            sections: HashSet::default(),
            organizations: HashSet::default(),
        }
    }

    /// The entries a batch referring to `places` needs and earlier batches did not get; the first
    /// call also reads the stages, managers and definitions.
    pub async fn read(&mut self, conn: &mut PgConnection, places: Places) -> Result<Catalog> {
        let mut catalog = Catalog::default();
        if !self.started {
            self.read_fixed(conn, &mut catalog).await?;
            self.started = true;
        }
        let houses = new_ids(&mut self.houses, places.houses);
        if !houses.is_empty() {
            for h in sqlx::query!(
                r#"select h.id, h.project_id, h.title, h.address, h.deadline,
                          p.title as project_title
                     from houses h join projects p on p.id = h.project_id
                    where h.account_id = $1 and h.id = any($2)"#,
                self.account_id,
                &houses,
            )
            .fetch_all(&mut *conn)
            .await?
            {
                if self.projects.insert(h.project_id) {
                    catalog.projects.insert(
                        h.project_id,
                        titled(h.project_id, "title", &h.project_title),
                    );
                }
                let mut json = Vec::new();
                let mut o = Object::open(&mut json);
                o.int("id", h.id);
                o.str("title", &h.title);
                o.opt_str("address", h.address.as_deref());
                o.date("deadline", h.deadline, self.date_format);
                o.close();
                catalog.houses.insert(
                    h.id,
                    House {
                        project_id: h.project_id,
                        json: json.into(),
                    },
                );
            }
        }
        let sections = new_ids(&mut self.sections, places.sections);
        if !sections.is_empty() {
            for s in sqlx::query!(
                "select id, title from sections where account_id = $1 and id = any($2)",
                self.account_id,
                &sections,
            )
            .fetch_all(&mut *conn)
            .await?
            {
                catalog
                    .sections
                    .insert(s.id, titled(s.id, "title", &s.title));
            }
        }
        let organizations = new_ids(&mut self.organizations, places.organizations);
        if !organizations.is_empty() {
            for org in sqlx::query!(
                "select id, name, inn, kpp, ogrn, address from organizations
                  where account_id = $1 and id = any($2)",
                self.account_id,
                &organizations,
            )
            .fetch_all(&mut *conn)
            .await?
            {
                let mut json = Vec::new();
                let mut o = Object::open(&mut json);
                o.int("id", org.id);
                o.str("name", &org.name);
                o.opt_str("inn", org.inn.as_deref());
                o.opt_str("kpp", org.kpp.as_deref());
                o.opt_str("ogrn", org.ogrn.as_deref());
                o.opt_str("address", org.address.as_deref());
                o.close();
                catalog.organizations.insert(org.id, json.into());
            }
        }
        Ok(catalog)
    }

    /// The account's stages, managers and custom definitions, whole.
    async fn read_fixed(&self, conn: &mut PgConnection, catalog: &mut Catalog) -> Result<()> {
        let account_id = self.account_id;
        for s in sqlx::query!(
            "select id, title from deal_stages where account_id = $1",
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        {
            let mut json = Vec::new();
            json_string(&mut json, s.title.as_bytes());
            catalog.stages.insert(s.id, json.into());
        }
        for m in sqlx::query!(
            "select id, name from managers where account_id = $1",
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        {
            catalog.managers.insert(m.id, titled(m.id, "name", &m.name));
        }
        for d in sqlx::query!(
            "select id, title, type from unit_params where account_id = $1",
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        {
            catalog
                .unit_params
                .insert(d.id, definition(d.id, &d.title, &d.r#type));
        }
        for d in sqlx::query!(
            "select id, title, type from deal_fields where account_id = $1",
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        {
            catalog
                .deal_fields
                .insert(d.id, definition(d.id, &d.title, &d.r#type));
        }
        Ok(())
    }
}

/// The ids of `ids` not in `known`, sorted, each once; they are in `known` afterwards.
fn new_ids(known: &mut HashSet<i64>, mut ids: Vec<i64>) -> Vec<i64> {
    ids.retain(|id| known.insert(*id));
    ids.sort_unstable();
    ids
}

/// `{"id":…,"<key>":…}`.
fn titled(id: i64, key: &str, title: &str) -> Box<[u8]> {
    let mut json = Vec::new();
    let mut o = Object::open(&mut json);
    o.int("id", id);
    o.str(key, title);
    o.close();
    json.into()
}

fn definition(id: i64, title: &str, kind: &str) -> Definition {
    let kind = match kind {
        "number" => CustomType::Number,
        "date" => CustomType::Date,
        "bool" => CustomType::Bool,
        _ => CustomType::String,
    };
    let mut prefix = Vec::new();
    let mut o = Object::open(&mut prefix);
    o.int("id", id);
    o.str("title", title);
    o.str(
        "type",
        match kind {
            CustomType::String => "string",
            CustomType::Number => "number",
            CustomType::Date => "date",
            CustomType::Bool => "bool",
        },
    );
    o.key("value");
    Definition {
        kind,
        prefix: prefix.into(),
    }
}
