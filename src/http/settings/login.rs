//! Login and logout. The login form is protected against cross-site posts by a token that is both
//! a cookie and a hidden field (a page of another site can set neither).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{
    csrf_rejected, is_https, page_error, session_cookie, session_of, view, EXPORT_PATH, LOGIN_PATH,
    SESSION_COOKIE,
};
use crate::{
    admin::{
        admins::{self, LoginOutcome},
        sessions,
    },
    http::{client::client_addr, AppState},
    links::Token,
};

const LOGIN_CSRF_COOKIE: &str = "domofeed_login_csrf";

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// The login form; a logged-in admin goes straight to the export page.
pub async fn page(State(state): State<AppState>, headers: HeaderMap, jar: CookieJar) -> Response {
    match session_of(&headers, &state).await {
        Ok(Some(_)) => return Redirect::to(EXPORT_PATH).into_response(),
        Ok(None) => {}
        Err(e) => return page_error(e),
    }
    login_form(&state, jar, "", None, StatusCode::OK)
}

/// Renders the form with a fresh login CSRF token (cookie and hidden field).
fn login_form(
    state: &AppState,
    jar: CookieJar,
    login: &str,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = Token::generate();
    let cookie = Cookie::build((LOGIN_CSRF_COOKIE, csrf.expose().to_owned()))
        .path(LOGIN_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(is_https(state))
        .build();
    (
        status,
        jar.add(cookie),
        view::login(csrf.expose(), login, message),
    )
        .into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes())) {
        return page_error(csrf_rejected());
    }
    let client = client_addr(peer, &headers, &state.settings.trusted_proxies);
    let outcome = match admins::log_in(&state.db, &form.login, &form.password, client).await {
        Ok(outcome) => outcome,
        Err(e) => return page_error(e),
    };
    match outcome {
        LoginOutcome::Admin(admin) => match sessions::start(&state.db, admin.id).await {
            Ok(token) => {
                tracing::info!(
                    admin = admin.id,
                    account = admin.account_id,
                    "admin logged in"
                );
                let jar = jar
                    .remove(Cookie::build(LOGIN_CSRF_COOKIE).path(LOGIN_PATH))
                    .add(session_cookie(&state, &token));
                (jar, Redirect::to(EXPORT_PATH)).into_response()
            }
            Err(e) => page_error(e),
        },
        LoginOutcome::Wrong => {
            tracing::info!(client = %client, "wrong login or password");
            login_form(
                &state,
                jar,
                &form.login,
                Some("Неверный логин или пароль."),
                StatusCode::UNAUTHORIZED,
            )
        }
        LoginOutcome::Locked { retry_after } => {
            tracing::warn!(client = %client, "login locked after repeated wrong passwords");
            let minutes = retry_after.div_ceil(60);
            let mut response = login_form(
                &state,
                jar,
                &form.login,
                Some(&format!(
                    "Слишком много неудачных попыток входа. Повторите через {minutes} мин."
                )),
                StatusCode::TOO_MANY_REQUESTS,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
    }
}

/// Ends the session and goes back to the login form.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LogoutForm>,
) -> Response {
    let session = match session_of(&headers, &state).await {
        Ok(Some(session)) => session,
        Ok(None) => return Redirect::to(LOGIN_PATH).into_response(),
        Err(e) => return page_error(e),
    };
    if !session.csrf_matches(&form.csrf) {
        return page_error(csrf_rejected());
    }
    if let Some(token) = jar
        .get(SESSION_COOKIE)
        .and_then(|c| Token::parse(c.value()))
    {
        if let Err(e) = sessions::end(&state.db, &token).await {
            return page_error(e);
        }
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/settings"));
    (jar, Redirect::to(LOGIN_PATH)).into_response()
}
