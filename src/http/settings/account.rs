//! «Настройки аккаунта»: the form that renames the account and moves it to another time zone.
//! A new zone moves every `dt_*` of every feed of the account at once, so the form must carry
//! the confirmation the page asks for before it is saved.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use chrono::Utc;
use serde::Deserialize;

use super::{csrf_rejected, page_error, view, PageAdmin, ACCOUNT_PATH};
use crate::{
    accounts::{self, AccountChange, Owner, Zone},
    admin::sessions::Session,
    http::AppState,
    Error, Result,
};

/// What the redirect after a save says was done (`?done=timezone`); anything else is ignored.
#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    timezone: String,
    /// `1` when the admin ticked «Понимаю: даты-время … сдвинутся».
    #[serde(default)]
    confirm_timezone: String,
}

pub async fn page(
    State(state): State<AppState>,
    PageAdmin(session): PageAdmin,
    Query(done): Query<Done>,
) -> Response {
    let notice = match done.done.as_deref() {
        Some("saved") => Some("Сохранено.".to_owned()),
        Some("timezone") => Some(format!(
            "Часовой пояс изменён: все фиды уже показывают даты-время в поясе {}. \
             Сделайте в 1С полную загрузку фидов.",
            session.timezone
        )),
        _ => None,
    };
    render(&state, &session, None, notice, None, StatusCode::OK).await
}

/// The page; `typed` is what a refused form held (name, zone), shown again instead of the
/// account's values.
async fn render(
    state: &AppState,
    session: &Session,
    typed: Option<&AccountForm>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let id = session.account_id;
        let account = accounts::find(&state.db, Owner::Account(id), id).await?;
        let zones = accounts::zones(&state.db).await?;
        Ok::<_, Error>((account, zones))
    }
    .await;
    match loaded {
        Ok((account, zones)) => {
            let (name, timezone) = match typed {
                Some(form) => (form.name.clone(), form.timezone.clone()),
                None => (account.name.clone(), account.timezone.clone()),
            };
            let page = view::AccountPage {
                session,
                account,
                zones,
                now: Utc::now(),
                name,
                timezone,
                notice,
                error,
            };
            (status, view::account(&page)).into_response()
        }
        Err(e) => page_error(e),
    }
}

pub async fn save(
    State(state): State<AppState>,
    PageAdmin(session): PageAdmin,
    Form(form): Form<AccountForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return page_error(csrf_rejected());
    }
    match apply(&state, &session, &form).await {
        Ok(changed) => {
            let moved = changed.previous_timezone != changed.account.timezone;
            tracing::info!(
                admin = session.admin_id,
                account = session.account_id,
                timezone = changed.account.timezone,
                previous_timezone = changed.previous_timezone,
                "account changed"
            );
            let done = if moved { "timezone" } else { "saved" };
            Redirect::to(&format!("{ACCOUNT_PATH}?done={done}")).into_response()
        }
        Err(Error::BadRequest { text, .. }) => {
            render(
                &state,
                &session,
                Some(&form),
                None,
                Some(text),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => page_error(e),
    }
}

/// Checks the form and saves it: a new zone needs the confirmation.
async fn apply(
    state: &AppState,
    session: &Session,
    form: &AccountForm,
) -> Result<accounts::Changed> {
    let (db, id) = (&state.db, session.account_id);
    let owner = Owner::Account(id);
    let zone = Zone::parse(db, "timezone", &form.timezone).await?;
    let account = accounts::find(db, owner, id).await?;
    if zone.name() != account.timezone && form.confirm_timezone != "1" {
        // Said to a person on the page: no parameter name in front.
        return Err(Error::BadRequest {
            parameter: "confirm_timezone".into(),
            text: "Подтвердите смену часового пояса: отметьте, что даты-время во всех фидах \
                   сдвинутся."
                .into(),
        });
    }
    let change = AccountChange {
        name: Some(&form.name),
        zone: Some(zone),
    };
    accounts::set(db, owner, id, change).await
}
