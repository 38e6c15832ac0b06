//! The CRM write API: `POST /api/v1/deals` and `POST /api/v1/units` with `{"data": [ITEM, …]}` in
//! the feeds' own item shape, `DELETE /api/v1/deals/{id}` and `DELETE /api/v1/units/{id}`,
//! authorised by an account's API key (`Authorization: Bearer dfk_…`).
//!
//! A request is one transaction: every item is read first, and any problem (of any item) is a
//! `422` listing them all by item index and JSON path, with nothing written. The items are then
//! written by the same code as `domofeed import` (`ingest`), but the database stamps what
//! changes: an item equal to what is stored changes nothing and moves no timestamp.

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, DefaultBodyLimit, Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, post},
    Json, Router,
};
use chrono_tz::Tz;
use serde_json::{json, value::RawValue};

use super::AppState;
use crate::{
    apikeys::{self, Caller},
    feeds::dates::DateFormat,
    ingest::{self, At, DateRules, ItemProblem, Located, Problems, Shape, Stamps},
    Error, Result,
};

/// The most items one request may carry.
pub const MAX_ITEMS: usize = 10_000;
/// The largest body one request may carry.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/deals", post(post_deals))
        .route("/api/v1/units", post(post_units))
        .route("/api/v1/deals/{id}", delete(delete_deal))
        .route("/api/v1/units/{id}", delete(delete_unit))
        // One byte over the limit is enough to tell a body that is too large.
        .layer(DefaultBodyLimit::max(MAX_BODY + 1))
}

async fn post_deals(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    write(&state, &headers, body, Shape::Deals).await
}

async fn post_units(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    write(&state, &headers, body, Shape::Units).await
}

/// The body of a write: `{"data": [ITEM, …]}`.
#[derive(serde::Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
}

async fn write(
    state: &AppState,
    headers: &HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
    shape: Shape,
) -> Result<Response> {
    let caller = caller(state, headers).await?;
    let body = body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            too_large()
        }
        other => Error::bad_request("body", other.body_text()),
    })?;
    if body.len() > MAX_BODY {
        return Err(too_large());
    }
    let body: Body = serde_json::from_slice(&body).map_err(|e| {
        Error::bad_request(
            "body",
            format!("expected {{\"data\": [item, …]}} in JSON: {e}"),
        )
    })?;
    if body.data.len() > MAX_ITEMS {
        return Err(Error::TooLarge(format!(
            "body: at most {MAX_ITEMS} items a request, got {}",
            body.data.len()
        )));
    }
    let dates = rules(state, caller.account_id).await?;
    let mut problems = Vec::new();
    let mut items = Vec::with_capacity(body.data.len());
    let mut seen = std::collections::BTreeMap::new();
    for (index, raw) in body.data.iter().enumerate() {
        let path = format!("$.data[{index}]");
        let mut found = Problems::default();
        match ingest::read_item(&At::new(raw, path.clone()), shape, &dates, &mut found) {
            Some(item) => {
                if let Some(first) = seen.insert(item.id(), index) {
                    problems.push(ItemProblem {
                        index,
                        path: format!("{path}.id"),
                        text: format!("item {} has the same id {}", first, item.id()),
                    });
                }
                items.push(Located { index, path, item });
            }
            None => problems.extend(found.0.into_iter().map(|p| ItemProblem {
                index,
                path: p.path,
                text: p.text,
            })),
        }
    }
    if !problems.is_empty() {
        return Ok(unprocessable(problems));
    }
    let mut tx = state.db.begin().await?;
    match ingest::write_batch(&mut tx, caller.account_id, shape, Stamps::Database, items).await? {
        Ok(counts) => {
            tx.commit().await?;
            Ok(Json(counts).into_response())
        }
        Err(problems) => {
            tx.rollback().await?;
            Ok(unprocessable(problems))
        }
    }
}

async fn delete_deal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let caller = caller(&state, &headers).await?;
    let id = item_id(&id, "deal")?;
    let deleted = sqlx::query_scalar!(
        "delete from deals where id = $1 and account_id = $2 returning id",
        id,
        caller.account_id
    )
    .fetch_optional(&state.db)
    .await?;
    deleted_or_not_found(deleted, "deal", id)
}

async fn delete_unit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let caller = caller(&state, &headers).await?;
    let id = item_id(&id, "unit")?;
    // The unit's deals go with it (and are listed as deleted too).
    let deleted = sqlx::query_scalar!(
        "delete from units where id = $1 and account_id = $2 returning id",
        id,
        caller.account_id
    )
    .fetch_optional(&state.db)
    .await?;
    deleted_or_not_found(deleted, "unit", id)
}

fn deleted_or_not_found(deleted: Option<i64>, what: &str, id: i64) -> Result<Response> {
    match deleted {
        Some(id) => Ok(Json(json!({"deleted": {"id": id}})).into_response()),
        None => Err(Error::not_found(format!("{what} {id}"))),
    }
}

/// A path id; anything but a positive number is as unknown as another account's id.
fn item_id(text: &str, what: &str) -> Result<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| Error::not_found(what))
}

/// The account behind the request's key, within its rate.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let caller = apikeys::authenticate(&state.db, authorization).await?;
    state.limits.admit_key(caller.key_id)?;
    Ok(caller)
}

/// How a written item's dates may be written: date-only fields as `DD.MM.YYYY` or `YYYY-MM-DD`,
/// date-times as `YYYY-MM-DD HH:mm:ss` in the account's zone or RFC 3339 with an offset.
async fn rules(state: &AppState, account_id: i64) -> Result<DateRules> {
    let zone = sqlx::query_scalar!("select timezone from accounts where id = $1", account_id)
        .fetch_one(&state.db)
        .await?;
    let tz = zone
        .parse::<Tz>()
        .map_err(|e| Error::internal(format!("account {account_id}'s time zone {zone:?}"), e))?;
    let iso = DateFormat::parse("YYYY-MM-DD").map_err(|e| Error::internal("a date format", e))?;
    Ok(DateRules {
        date_formats: vec![DateFormat::default(), iso],
        tz,
        rfc3339: true,
        stamps: false,
    })
}

fn too_large() -> Error {
    Error::TooLarge(format!(
        "body: at most {} MB a request",
        MAX_BODY / (1024 * 1024)
    ))
}

/// `422`: every problem of every item, nothing written.
fn unprocessable(problems: Vec<ItemProblem>) -> Response {
    let text = match problems.len() {
        1 => "1 problem: nothing was written".to_owned(),
        n => format!("{n} problems: nothing was written"),
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"status": "error", "parameter": null, "text": text, "problems": problems})),
    )
        .into_response()
}
