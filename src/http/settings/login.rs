//! Login and logout. The login form is protected against cross-site posts by a token that is both
//! a cookie and a hidden field (a page of another site can set neither). A successful login
//! leaves a device cookie (`admin::devices`): that browser is not locked out by wrong passwords
//! typed elsewhere.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{csrf_rejected, page_error, session_of, view, Cookies, EXPORT_PATH, LOGIN_PATH};
use crate::{
    admin::{
        admins::{self, Credentials, LoginOutcome},
        devices, sessions,
    },
    http::{client::client_addr, AppState},
    links::Token,
};

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
    let cookie = Cookies::of(state).make(Cookies::LOGIN_CSRF, csrf.expose().to_owned());
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
    let cookies = Cookies::of(&state);
    let expected = cookies.value(&jar, Cookies::LOGIN_CSRF).unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes())) {
        return page_error(csrf_rejected());
    }
    let client = client_addr(peer, &headers, &state.settings.trusted_proxies);
    let device = cookies.token(&jar, Cookies::DEVICE);
    let credentials = Credentials {
        login: &form.login,
        password: &form.password,
        client,
        device: device.as_ref(),
    };
    let outcome = match admins::log_in(&state.db, &state.password_checks, credentials).await {
        Ok(outcome) => outcome,
        Err(e) => return page_error(e),
    };
    match outcome {
        LoginOutcome::Admin {
            admin,
            known_device,
        } => match logged_in(&state, cookies, admin.id, known_device).await {
            Ok(new_cookies) => {
                tracing::info!(
                    admin = admin.id,
                    account = admin.account_id,
                    "admin logged in"
                );
                let mut jar = jar.remove(cookies.removal(Cookies::LOGIN_CSRF));
                for cookie in new_cookies {
                    jar = jar.add(cookie);
                }
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

/// The session cookie, and a device cookie unless the browser brought a known one (which is
/// kept another `DEVICE_DAYS`).
async fn logged_in(
    state: &AppState,
    cookies: Cookies,
    admin_id: i64,
    known_device: Option<[u8; 32]>,
) -> crate::Result<Vec<Cookie<'static>>> {
    let session = sessions::start(&state.db, admin_id).await?;
    let mut set = vec![cookies.make(Cookies::SESSION, session.expose().to_owned())];
    match known_device {
        Some(digest) => devices::renew(&state.db, &digest).await?,
        None => {
            let device = devices::remember(&state.db, admin_id).await?;
            let mut cookie = cookies.make(Cookies::DEVICE, device.expose().to_owned());
            cookie.set_max_age(cookie::time::Duration::days(devices::DEVICE_DAYS));
            set.push(cookie);
        }
    }
    Ok(set)
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
    let cookies = Cookies::of(&state);
    if let Some(token) = cookies.token(&jar, Cookies::SESSION) {
        if let Err(e) = sessions::end(&state.db, &token).await {
            return page_error(e);
        }
    }
    let jar = jar.remove(cookies.removal(Cookies::SESSION));
    (jar, Redirect::to(LOGIN_PATH)).into_response()
}
