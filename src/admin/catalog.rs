//! What the settings page offers to pick from: the account's houses and deal stages.

use sqlx::PgPool;

use crate::Result;

/// A house (дом / корпус) with its residential complex, for the house checkboxes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct House {
    pub id: i64,
    pub title: String,
    pub project: String,
}

/// A deal stage, for picking `deal_status` by name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stage {
    pub id: i64,
    pub title: String,
    /// open, success or failed
    pub kind: String,
}

/// Unit statuses (`flat_status` of docs/feeds.md), by value.
pub const UNIT_STATUSES: [(i16, &str); 4] = [
    (0, "Свободно"),
    (1, "Бронь"),
    (2, "Оформление"),
    (3, "Продано"),
];

pub async fn houses(db: &PgPool, account_id: i64) -> Result<Vec<House>> {
    Ok(sqlx::query_as!(
        House,
        "select h.id, h.title, p.title as project
           from houses h
           join projects p on p.id = h.project_id
          where h.account_id = $1
          order by p.title, h.title, h.id",
        account_id,
    )
    .fetch_all(db)
    .await?)
}

pub async fn stages(db: &PgPool, account_id: i64) -> Result<Vec<Stage>> {
    Ok(sqlx::query_as!(
        Stage,
        "select id, title, kind from deal_stages where account_id = $1 order by sort, id",
        account_id,
    )
    .fetch_all(db)
    .await?)
}
