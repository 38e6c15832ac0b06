//! The export page and its forms: create a link, rotate it, revoke it. Each form post answers
//! with a redirect back to the page (so a reload never posts twice) naming what was done.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use chrono_tz::Tz;
use serde::Deserialize;

use super::{
    csrf_rejected, feeds_with_urls, key, page_error, view, Change, PageAdmin, EXPORT_PATH,
};
use crate::{
    admin::{catalog, sessions::Session},
    http::AppState,
    links::{self, FeedKind, NewFeed},
    Error, Result,
};

/// What the redirect after a form post says was done (`?done=created&feed=12`). Only a known
/// word and a number are shown: anything else in the URL is ignored.
#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
    feed: Option<String>,
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    /// Checked house ids; none means all houses.
    #[serde(default)]
    houses: Vec<String>,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn page(
    State(state): State<AppState>,
    PageAdmin(session): PageAdmin,
    Query(done): Query<Done>,
) -> Response {
    let feed = done
        .feed
        .as_deref()
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|&id| id > 0);
    let notice = feed.and_then(|feed| match done.done.as_deref() {
        Some("created") => Some(format!(
            "Ссылка {feed} создана. Скопируйте её и передайте в 1С."
        )),
        Some("rotated") => Some(format!(
            "Ссылка {feed} перевыпущена: старая больше не работает, замените её в 1С."
        )),
        Some("revoked") => Some(format!("Ссылка {feed} отозвана.")),
        _ => None,
    });
    render(&state, &session, notice, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    session: &Session,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    match load(state, session, notice, error).await {
        Ok(markup) => (status, markup).into_response(),
        Err(e) => page_error(e),
    }
}

async fn load(
    state: &AppState,
    session: &Session,
    notice: Option<String>,
    error: Option<String>,
) -> Result<maud::Markup> {
    let db = &state.db;
    let account = session.account_id;
    let feeds = feeds_with_urls(state, account)
        .await?
        .into_iter()
        .rev()
        .map(|(info, url)| view::FeedView { info, url })
        .collect();
    let page = view::ExportPage {
        session,
        tz: session.timezone.parse::<Tz>().unwrap_or(Tz::UTC),
        feeds,
        houses: catalog::houses(db, account).await?,
        stages: catalog::stages(db, account).await?,
        notice,
        error,
    };
    Ok(view::export(&page))
}

pub async fn create(
    State(state): State<AppState>,
    PageAdmin(session): PageAdmin,
    Form(form): Form<CreateForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return page_error(csrf_rejected());
    }
    let created = async {
        let new = new_feed(&session, &form)?;
        links::create(&state.db, key(&state)?, new).await
    }
    .await;
    match created {
        Ok((feed, _)) => done(feed.id, "created"),
        Err(Error::BadRequest { text, .. }) => {
            render(&state, &session, None, Some(text), StatusCode::BAD_REQUEST).await
        }
        Err(e) => page_error(e),
    }
}

fn new_feed(session: &Session, form: &CreateForm) -> Result<NewFeed> {
    let kind = match form.kind.as_str() {
        "deals" => FeedKind::Deals,
        "units" => FeedKind::Units,
        other => {
            return Err(Error::bad_request(
                "kind",
                format!("expected deals or units, got {other:?}"),
            ))
        }
    };
    let house_ids = form
        .houses
        .iter()
        .map(|h| {
            h.parse::<i64>()
                .ok()
                .filter(|&id| id > 0)
                .ok_or_else(|| Error::bad_request("houses", format!("not a house id: {h:?}")))
        })
        .collect::<Result<Vec<i64>>>()?;
    Ok(NewFeed {
        account_id: session.account_id,
        kind,
        name: Some(form.name.clone()),
        house_ids,
        allowed_networks: Vec::new(),
    })
}

/// `rotate` or `revoke` one of the admin's own feeds.
pub async fn change(
    State(state): State<AppState>,
    PageAdmin(session): PageAdmin,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return page_error(csrf_rejected());
    }
    let changed = async {
        let change = Change::parse(&action)?;
        let (feed, _) = change.apply(&state, session.account_id, &id).await?;
        Ok::<_, Error>((feed.id, change.done()))
    }
    .await;
    match changed {
        Ok((id, what)) => {
            tracing::info!(admin = session.admin_id, feed = id, what, "feed changed");
            done(id, what)
        }
        Err(e) => page_error(e),
    }
}

fn done(feed_id: i64, what: &str) -> Response {
    Redirect::to(&format!(
        "{EXPORT_PATH}?done={what}&feed={feed_id}#feed-{feed_id}"
    ))
    .into_response()
}
