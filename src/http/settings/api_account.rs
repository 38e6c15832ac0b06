//! The JSON API of «Настройки аккаунта» and «API-ключи», for tools: the same session cookie and
//! `X-CSRF-Token` as the rest of `/settings/api`. A new zone is saved without the page's
//! confirmation: a tool is told what it does here, in the README.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{check_csrf_header, path_id, ApiAdmin};
use crate::{
    accounts::{self, Account, AccountChange, Owner, Zone},
    apikeys::{self, ApiKey},
    http::AppState,
    Error, Result,
};

/// The account as the API shows it, with its zone's offset now.
#[derive(Serialize)]
pub struct AccountJson {
    id: i64,
    name: String,
    timezone: String,
    /// `UTC+03:00`, or `null` for a zone this build does not know.
    utc_offset: Option<String>,
    dt_created: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountChangeJson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

/// A key as the API shows it; `key` only in the answer that made it.
#[derive(Serialize)]
pub struct KeyJson {
    id: i64,
    name: String,
    active: bool,
    dt_created: DateTime<Utc>,
    dt_last_used: Option<DateTime<Utc>>,
    dt_revoked: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyCreateJson {
    #[serde(default)]
    name: Option<String>,
}

/// `GET /settings/api/account`.
pub async fn account(
    State(state): State<AppState>,
    ApiAdmin(session): ApiAdmin,
) -> Result<Response> {
    let id = session.account_id;
    let account = accounts::find(&state.db, Owner::Account(id), id).await?;
    Ok(Json(account_json(account)).into_response())
}

/// `POST /settings/api/account` `{"name"?, "timezone"?}`: every feed shows the new zone at once.
pub async fn change_account(
    State(state): State<AppState>,
    ApiAdmin(session): ApiAdmin,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    check_csrf_header(&headers, &session)?;
    let change: AccountChangeJson = serde_json::from_slice(&body).map_err(|e| {
        Error::bad_request(
            "body",
            format!("expected {{\"name\", \"timezone\"}}, both optional: {e}"),
        )
    })?;
    let zone = match &change.timezone {
        Some(text) => Some(Zone::parse(&state.db, "timezone", text).await?),
        None => None,
    };
    let id = session.account_id;
    let changed = accounts::set(
        &state.db,
        Owner::Account(id),
        id,
        AccountChange {
            name: change.name.as_deref(),
            zone,
        },
    )
    .await?;
    tracing::info!(
        admin = session.admin_id,
        account = id,
        timezone = changed.account.timezone,
        previous_timezone = changed.previous_timezone,
        "account changed"
    );
    Ok(Json(account_json(changed.account)).into_response())
}

/// `GET /settings/api/timezones`: every zone an account may have, with its offset now.
pub async fn timezones(State(state): State<AppState>, ApiAdmin(_): ApiAdmin) -> Result<Response> {
    let now = Utc::now();
    let zones: Vec<serde_json::Value> = accounts::zones(&state.db)
        .await?
        .into_iter()
        .map(|tz| {
            let offset = accounts::utc_offset_text(accounts::utc_offset_minutes(tz, now));
            serde_json::json!({"name": tz.name(), "utc_offset": offset})
        })
        .collect();
    Ok(Json(zones).into_response())
}

/// `GET /settings/api/keys`: the account's keys, oldest first, never a key itself.
pub async fn keys(State(state): State<AppState>, ApiAdmin(session): ApiAdmin) -> Result<Response> {
    let keys: Vec<KeyJson> = apikeys::list(&state.db, Some(session.account_id))
        .await?
        .into_iter()
        .map(|key| key_json(key, None))
        .collect();
    Ok(Json(keys).into_response())
}

/// `POST /settings/api/keys` `{"name"?}`: `201` with the key, this once.
pub async fn create_key(
    State(state): State<AppState>,
    ApiAdmin(session): ApiAdmin,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    check_csrf_header(&headers, &session)?;
    let new: KeyCreateJson = if body.is_empty() {
        KeyCreateJson { name: None }
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Error::bad_request("body", format!("expected {{\"name\"}}, optional: {e}"))
        })?
    };
    let (key, secret) = apikeys::create(&state.db, session.account_id, new.name.as_deref()).await?;
    tracing::info!(admin = session.admin_id, key = key.id, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(key_json(key, Some(secret.expose()))),
    )
        .into_response())
}

/// `POST /settings/api/keys/{id}/revoke`: another account's, a revoked or a missing key is 404.
pub async fn revoke_key(
    State(state): State<AppState>,
    ApiAdmin(session): ApiAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    check_csrf_header(&headers, &session)?;
    let id = path_id(&id, "API key")?;
    let key = apikeys::revoke(&state.db, Owner::Account(session.account_id), id).await?;
    tracing::info!(admin = session.admin_id, key = key.id, "API key revoked");
    Ok(Json(key_json(key, None)).into_response())
}

fn account_json(account: Account) -> AccountJson {
    let utc_offset = account
        .tz()
        .map(|tz| accounts::utc_offset_text(accounts::utc_offset_minutes(tz, Utc::now())));
    AccountJson {
        id: account.id,
        name: account.name,
        timezone: account.timezone,
        utc_offset,
        dt_created: account.dt_created,
    }
}

fn key_json(key: ApiKey, secret: Option<String>) -> KeyJson {
    KeyJson {
        active: key.is_active(),
        id: key.id,
        name: key.name,
        dt_created: key.dt_created,
        dt_last_used: key.dt_last_used,
        dt_revoked: key.dt_revoked,
        key: secret,
    }
}
