//! «API-ключи»: create a key (shown once, on the answer to the form), list, revoke. Revoking
//! answers with a redirect back to the page naming what was done; creating answers with the page
//! itself, since the key may not travel in a URL.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::Form;
use chrono_tz::Tz;
use serde::Deserialize;

use super::{csrf_rejected, page_error_of, path_id, view, PageAdmin, API_KEYS_PATH};
use crate::{
    accounts::Owner,
    admin::sessions::Session,
    apikeys::{self, ApiKey},
    http::AppState,
    Error,
};

/// What a 404 of this page says.
const NOT_FOUND: &str = "Такого действующего API-ключа нет в вашем аккаунте.";

/// What the redirect after a revocation says (`?done=revoked&key=5`): a known word and a number.
#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
    key: Option<String>,
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
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
    let key = done
        .key
        .as_deref()
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|&id| id > 0);
    let notice = match (done.done.as_deref(), key) {
        (Some("revoked"), Some(key)) => Some(format!(
            "Ключ {key} отозван: запросы с ним получают ответ 401."
        )),
        _ => None,
    };
    render(&state, &session, None, notice, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    session: &Session,
    created: Option<(ApiKey, String)>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    match apikeys::list(&state.db, Some(session.account_id)).await {
        Ok(mut keys) => {
            keys.reverse();
            let page = view::ApiKeysPage {
                session,
                tz: session.timezone.parse::<Tz>().unwrap_or(Tz::UTC),
                keys,
                created,
                notice,
                error,
            };
            (status, view::api_keys(&page)).into_response()
        }
        Err(e) => page_error_of(e, NOT_FOUND),
    }
}

pub async fn create(
    State(state): State<AppState>,
    PageAdmin(session): PageAdmin,
    Form(form): Form<CreateForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return page_error_of(csrf_rejected(), NOT_FOUND);
    }
    match apikeys::create(&state.db, session.account_id, Some(&form.name)).await {
        Ok((key, secret)) => {
            tracing::info!(admin = session.admin_id, key = key.id, "API key created");
            let created = Some((key, secret.expose()));
            render(&state, &session, created, None, None, StatusCode::OK).await
        }
        Err(Error::BadRequest { text, .. }) => {
            render(
                &state,
                &session,
                None,
                None,
                Some(text),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => page_error_of(e, NOT_FOUND),
    }
}

/// Revokes one of the account's active keys; another account's, a revoked or a missing one is
/// a 404.
pub async fn revoke(
    State(state): State<AppState>,
    PageAdmin(session): PageAdmin,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !session.csrf_matches(&form.csrf) {
        return page_error_of(csrf_rejected(), NOT_FOUND);
    }
    let revoked = async {
        let id = path_id(&id, "API key")?;
        apikeys::revoke(&state.db, Owner::Account(session.account_id), id).await
    }
    .await;
    match revoked {
        Ok(key) => {
            tracing::info!(admin = session.admin_id, key = key.id, "API key revoked");
            Redirect::to(&format!(
                "{API_KEYS_PATH}?done=revoked&key={id}#key-{id}",
                id = key.id
            ))
            .into_response()
        }
        Err(e) => page_error_of(e, NOT_FOUND),
    }
}
