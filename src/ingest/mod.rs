//! Real data in: items in the feeds' own shape written back into the database. What you read is
//! what you write (docs/feeds.md): a deals-feed item or a units-feed item is the whole state of
//! that deal or unit, upserted by its id with everything it embeds (project, house, section,
//! organization, stage, manager, clients, field and param definitions), its children replaced
//! as sets.
//!
//! One implementation serves both ways in: `domofeed import` (`import`: feed files, their own
//! timestamps kept) and the CRM write API (`http::api`: the database stamps what changes).
//!
//! - `read`: JSON text → values with their paths, every problem collected;
//! - `item`: the items of both feeds, read back;
//! - `rows`: a batch of items taken apart into the rows of each table;
//! - `store`: the SQL that writes those rows.

pub mod import;
pub mod item;
pub mod read;
mod rows;
mod store;

use std::collections::BTreeSet;

use sqlx::PgConnection;

pub use item::{read_item, DateRules, Item, Shape};
pub use read::{At, Problem, Problems};
pub use rows::Located;
pub use store::Stamps;

use crate::{Error, Result};

/// A problem of one item: which (its index in the request or file) and where in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemProblem {
    pub index: usize,
    pub path: String,
    pub text: String,
}

/// How a batch went, item by item: new, changed, or equal to what was stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// Writes `items` (of the feed `shape`) for `account_id` in the caller's transaction. `Ok(Err)`
/// when an item cannot be written (another account's id, a stage that is both failed and not,
/// a value the database refuses): the caller rolls back; nothing of the batch may stay.
pub async fn write_batch(
    conn: &mut PgConnection,
    account_id: i64,
    shape: Shape,
    stamps: Stamps,
    items: Vec<Located>,
) -> Result<std::result::Result<Counts, Vec<ItemProblem>>> {
    let ids: Vec<i64> = items.iter().map(|l| l.item.id()).collect();
    let mut rows = rows::Rows::default();
    for item in items {
        rows.add(item);
    }
    let mut problems = Vec::new();
    for (stage, path) in rows.stage_conflicts() {
        problems.push(problem_at(
            &rows,
            &path,
            format!("deal stage {stage} has active and failed deals in this batch"),
        ));
    }
    for foreign in store::foreign_ids(conn, account_id, &rows).await? {
        let path = where_is(&rows, &foreign.what, foreign.id);
        problems.push(problem_at(
            &rows,
            &path,
            format!("{} {} belongs to another account", foreign.what, foreign.id),
        ));
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let before = existing(conn, shape, &ids).await?;
    if let Err(e) = store::write(conn, account_id, stamps, &mut rows).await {
        return match refused(&e) {
            Some(text) => Ok(Err(vec![ItemProblem {
                index: rows.items.values().map(|(i, _)| *i).min().unwrap_or(0),
                path: "$".into(),
                text,
            }])),
            None => Err(e),
        };
    }
    let changed = stamped_now(conn, shape, &ids).await?;
    let mut counts = Counts::default();
    let unique: BTreeSet<i64> = ids.into_iter().collect();
    for id in unique {
        if !before.contains(&id) {
            counts.created += 1;
        } else if changed.contains(&id) {
            counts.updated += 1;
        } else {
            counts.unchanged += 1;
        }
    }
    Ok(Ok(counts))
}

/// The item ids of `shape` that exist now.
async fn existing(conn: &mut PgConnection, shape: Shape, ids: &[i64]) -> Result<BTreeSet<i64>> {
    let found = match shape {
        Shape::Deals => {
            sqlx::query_scalar!("select id from deals where id = any($1)", ids)
                .fetch_all(&mut *conn)
                .await?
        }
        Shape::Units => {
            sqlx::query_scalar!("select id from units where id = any($1)", ids)
                .fetch_all(&mut *conn)
                .await?
        }
    };
    Ok(found.into_iter().collect())
}

/// The item ids of `shape` whose item time is this transaction's: changed by it.
async fn stamped_now(conn: &mut PgConnection, shape: Shape, ids: &[i64]) -> Result<BTreeSet<i64>> {
    let found = match shape {
        Shape::Deals => {
            sqlx::query_scalar!(
                "select id from deals where id = any($1) and dt_updated = now()",
                ids
            )
            .fetch_all(&mut *conn)
            .await?
        }
        Shape::Units => {
            sqlx::query_scalar!(
                "select id from units where id = any($1) and dt_item_updated = now()",
                ids
            )
            .fetch_all(&mut *conn)
            .await?
        }
    };
    Ok(found.into_iter().collect())
}

/// The path, in the batch, of the first row that named `what` `id`.
fn where_is(rows: &rows::Rows, what: &str, id: i64) -> String {
    let found = match what {
        "project" => rows.projects.get(&id).map(|r| r.1.clone()),
        "house" => rows.houses.get(&id).map(|r| r.2.clone()),
        "section" => rows.sections.get(&id).map(|r| r.2.clone()),
        "organization" => rows.organizations.get(&id).map(|r| r.1.clone()),
        "unit param" => rows.unit_params.get(&id).map(|r| r.2.clone()),
        "unit" => rows.units.get(&id).map(|r| r.1.clone()),
        "deal stage" => rows.stages.get(&id).map(|r| r.2.clone()),
        "manager" => rows.managers.get(&id).map(|r| r.1.clone()),
        "deal field" => rows.deal_fields.get(&id).map(|r| r.2.clone()),
        "client" => rows.clients.get(&id).map(|r| r.1.clone()),
        "deal" => rows.deals.get(&id).map(|r| r.2.clone()),
        "payment" => rows.deals.values().find_map(|(deal, _, path)| {
            deal.payments
                .iter()
                .position(|p| p.id == id)
                .map(|i| format!("{path}.payments[{i}]"))
        }),
        _ => None,
    };
    found.unwrap_or_else(|| "$".into())
}

/// A problem at `path` (`$.data[3]…`), with the index of its item.
fn problem_at(rows: &rows::Rows, path: &str, text: String) -> ItemProblem {
    let index = path
        .strip_prefix("$.data[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse().ok())
        .or_else(|| rows.items.values().map(|(i, _)| *i).min())
        .unwrap_or(0);
    ItemProblem {
        index,
        path: path.to_owned(),
        text,
    }
}

/// The database's refusal of a value (a duplicate `sid`, two active deals of one unit, a number
/// too large), as a text for the client; `None` for any other failure (a server-side one).
fn refused(error: &Error) -> Option<String> {
    let Error::Database(sqlx::Error::Database(db)) = error else {
        return None;
    };
    let code = db.code()?;
    let class = &code[..2.min(code.len())];
    matches!(class, "22" | "23").then(|| match db.constraint() {
        Some("deals_one_active_per_unit") => {
            "a unit would have two active deals (its other active deal must fail first)".into()
        }
        Some("units_account_id_sid_key") => "another unit of the account has this sid".into(),
        _ => format!("the database refused a value: {}", db.message()),
    })
}
