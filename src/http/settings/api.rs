//! The JSON API behind the export page, for the page's script and for tools. Answers and errors
//! have the shapes of the feed API (`{"status": "error", "parameter", "text"}`).

use axum::{
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{check_csrf_header, feed_id, feeds_with_urls, key, ApiAdmin, Change};
use crate::{
    admin::catalog,
    feeds::filter,
    http::AppState,
    links::{self, FeedInfo, FeedKind, NewFeed},
    Error, Result,
};

/// A feed as the API shows it: with its URL while it is active and can be shown.
#[derive(Serialize)]
pub struct FeedJson {
    id: i64,
    kind: FeedKind,
    kind_title: &'static str,
    name: String,
    house_ids: Vec<i64>,
    active: bool,
    dt_created: DateTime<Utc>,
    dt_last_used: Option<DateTime<Utc>>,
    dt_revoked: Option<DateTime<Utc>>,
    url: Option<String>,
}

#[derive(Deserialize)]
pub struct CreateJson {
    kind: FeedKind,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    house_ids: Vec<i64>,
}

/// Who is logged in, and the CSRF token for calls that change something.
pub async fn session(ApiAdmin(session): ApiAdmin) -> Response {
    Json(json!({
        "login": session.login,
        "account_id": session.account_id,
        "account_name": session.account_name,
        "timezone": session.timezone,
        "csrf_token": session.csrf_token(),
    }))
    .into_response()
}

/// What filters can be picked from: houses, deal stages, unit statuses.
pub async fn catalog(
    State(state): State<AppState>,
    ApiAdmin(session): ApiAdmin,
) -> Result<Response> {
    let account = session.account_id;
    let statuses: Vec<_> = catalog::UNIT_STATUSES
        .iter()
        .map(|(value, title)| json!({"value": value, "title": title}))
        .collect();
    Ok(Json(json!({
        "houses": catalog::houses(&state.db, account).await?,
        "stages": catalog::stages(&state.db, account).await?,
        "unit_statuses": statuses,
    }))
    .into_response())
}

pub async fn list(State(state): State<AppState>, ApiAdmin(session): ApiAdmin) -> Result<Response> {
    let feeds: Vec<FeedJson> = feeds_with_urls(&state, session.account_id)
        .await?
        .into_iter()
        .map(|(info, url)| feed_json(info, url))
        .collect();
    Ok(Json(feeds).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    ApiAdmin(session): ApiAdmin,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    check_csrf_header(&headers, &session)?;
    let new: CreateJson = serde_json::from_slice(&body).map_err(|e| {
        Error::bad_request(
            "body",
            format!("expected {{\"kind\": \"deals\" or \"units\", \"name\", \"house_ids\"}}: {e}"),
        )
    })?;
    let (info, token) = links::create(
        &state.db,
        key(&state)?,
        NewFeed {
            account_id: session.account_id,
            kind: new.kind,
            name: new.name,
            house_ids: new.house_ids,
            allowed_networks: Vec::new(),
        },
    )
    .await?;
    let url = links::feed_url(&state.settings.public_url, info.id, &token);
    Ok((StatusCode::CREATED, Json(feed_json(info, Some(url)))).into_response())
}

/// `POST /settings/api/feeds/{id}/rotate` (the answer carries the new URL) or `…/revoke`.
pub async fn change(
    State(state): State<AppState>,
    ApiAdmin(session): ApiAdmin,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response> {
    check_csrf_header(&headers, &session)?;
    let change = Change::parse(&action)?;
    let (info, url) = change.apply(&state, session.account_id, &id).await?;
    Ok(Json(feed_json(info, url)).into_response())
}

/// Checks a feed query string with the feed's own parser: `200` with the query as the server
/// reads it and today's date in the asked `date_format`, or the `400` the feed would answer.
pub async fn check(
    State(state): State<AppState>,
    ApiAdmin(session): ApiAdmin,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let kind = links::kind_of(&state.db, session.account_id, feed_id(&id)?).await?;
    let query = query.unwrap_or_default();
    let (canonical, date_format, ignored) = match kind {
        FeedKind::Deals => {
            let q = filter::parse_deals(&query)?;
            (q.to_query(), q.date_format, q.ignored_params)
        }
        FeedKind::Units => {
            let q = filter::parse_units(&query)?;
            (q.to_query(), q.date_format, q.ignored_params)
        }
    };
    let tz = session.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let mut example = Vec::new();
    date_format.write(today, &mut example);
    Ok(Json(json!({
        "status": "ok",
        "query": canonical,
        "date_example": String::from_utf8_lossy(&example),
        "ignored_params": ignored,
    }))
    .into_response())
}

fn feed_json(info: FeedInfo, url: Option<String>) -> FeedJson {
    FeedJson {
        active: info.is_active(),
        id: info.id,
        kind: info.kind,
        kind_title: info.kind.title(),
        name: info.name,
        house_ids: info.house_ids,
        dt_created: info.dt_created,
        dt_last_used: info.dt_last_used,
        dt_revoked: info.dt_revoked,
        url,
    }
}
