//! The account's small tables, read once per response in its snapshot and rendered once: every
//! project, house, section, organization, stage, manager and custom field or param definition
//! as the JSON it is shown as. The item queries then return ids and values only: a 100,000-unit
//! feed no longer joins, sends, decodes and escapes the same titles and addresses a million
//! times (bench/README.md, issue 18).

use std::collections::HashMap;

use sqlx::PgConnection;

use super::{
    dates::DateFormat,
    json::{json_string, Object},
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
    /// Reads and renders the catalog of `account_id`; house deadlines follow `date_format`.
    pub async fn load(
        conn: &mut PgConnection,
        account_id: i64,
        date_format: &DateFormat,
    ) -> Result<Catalog> {
        let mut catalog = Catalog::default();
        for p in sqlx::query!(
            "select id, title from projects where account_id = $1",
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        {
            catalog
                .projects
                .insert(p.id, titled(p.id, "title", &p.title));
        }
        for h in sqlx::query!(
            "select id, project_id, title, address, deadline from houses where account_id = $1",
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        {
            let mut json = Vec::new();
            let mut o = Object::open(&mut json);
            o.int("id", h.id);
            o.str("title", &h.title);
            o.opt_str("address", h.address.as_deref());
            o.date("deadline", h.deadline, date_format);
            o.close();
            catalog.houses.insert(
                h.id,
                House {
                    project_id: h.project_id,
                    json: json.into(),
                },
            );
        }
        for s in sqlx::query!(
            "select id, title from sections where account_id = $1",
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        {
            catalog
                .sections
                .insert(s.id, titled(s.id, "title", &s.title));
        }
        for org in sqlx::query!(
            "select id, name, inn, kpp, ogrn, address from organizations where account_id = $1",
            account_id
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
        Ok(catalog)
    }
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
