//! Settings → Integrations → Data export: the page where admins make feed links, the login in
//! front of it and the JSON API behind it.
//!
//! - Sessions live in the database (`admin::sessions`), so any instance serves any admin. The
//!   cookie is HttpOnly, SameSite=Strict, and Secure when `DOMOFEED_PUBLIC_URL` is https.
//! - Every form post carries the session's CSRF token (the login form: a token also set as a
//!   cookie); every API call that changes something carries it in `X-CSRF-Token`.
//! - An admin reaches only their own account's feeds: another account's feed id is a 404.

mod api;
mod builder;
mod export;
mod login;
mod view;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tower_http::set_header::SetResponseHeaderLayer;

use super::{error_response, AppState};
use crate::{
    admin::{sessions, sessions::Session},
    links::{self, FeedInfo, Owner, SecretKey, Token},
    Error,
};

pub const EXPORT_PATH: &str = "/settings/integrations/export";
pub const LOGIN_PATH: &str = "/settings/login";
const SESSION_COOKIE: &str = "domofeed_session";
const CSRF_HEADER: &str = "x-csrf-token";

/// Scripts, styles and forms from this server only; never inside a frame.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(|| async { Redirect::to(EXPORT_PATH) }))
        .route(LOGIN_PATH, get(login::page).post(login::submit))
        .route("/settings/logout", post(login::logout))
        .route(EXPORT_PATH, get(export::page))
        .route("/settings/integrations/export/feeds", post(export::create))
        .route(
            "/settings/integrations/export/feeds/{id}/{action}",
            post(export::change),
        )
        .route("/settings/api/session", get(api::session))
        .route("/settings/api/catalog", get(api::catalog))
        .route("/settings/api/feeds", get(api::list).post(api::create))
        .route("/settings/api/feeds/{id}/check", get(api::check))
        .route("/settings/api/feeds/{id}/{action}", post(api::change))
        .route("/settings/assets/settings.css", get(css))
        .route("/settings/assets/export.js", get(js))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/settings.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/export.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The admin behind a page request. Without a live session the browser goes to the login page.
pub struct PageAdmin(pub Session);

/// The admin behind an API request. Without a live session: `401`.
pub struct ApiAdmin(pub Session);

impl FromRequestParts<AppState> for PageAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(&parts.headers, state).await {
            Ok(Some(session)) => Ok(PageAdmin(session)),
            Ok(None) => Err(Redirect::to(LOGIN_PATH).into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl FromRequestParts<AppState> for ApiAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(&parts.headers, state).await {
            Ok(Some(session)) => Ok(ApiAdmin(session)),
            Ok(None) => Err(error_response(
                StatusCode::UNAUTHORIZED,
                None,
                "log in first: POST /settings/login",
            )),
            Err(e) => Err(e.into_response()),
        }
    }
}

async fn session_of(headers: &HeaderMap, state: &AppState) -> crate::Result<Option<Session>> {
    let jar = CookieJar::from_headers(headers);
    let Some(token) = jar
        .get(SESSION_COOKIE)
        .and_then(|c| Token::parse(c.value()))
    else {
        return Ok(None);
    };
    sessions::find(&state.db, &token).await
}

/// The session cookie: HttpOnly, SameSite=Strict, for `/settings` only, Secure behind https. It
/// has no Max-Age: it ends with the browser, and the server ends it after `SESSION_HOURS` anyway.
fn session_cookie(state: &AppState, token: &Token) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token.expose().to_owned()))
        .path("/settings")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(is_https(state))
        .build()
}

fn is_https(state: &AppState) -> bool {
    state.settings.public_url.scheme() == "https"
}

/// A form post whose CSRF token does not match the session's.
fn csrf_rejected() -> Error {
    Error::Forbidden("the form is out of date (CSRF token mismatch): reload the page".into())
}

/// The `X-CSRF-Token` header of an API call, checked against the session.
fn check_csrf_header(headers: &HeaderMap, session: &Session) -> crate::Result<()> {
    let posted = headers
        .get(HeaderName::from_static(CSRF_HEADER))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if session.csrf_matches(posted) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "{CSRF_HEADER}: missing or wrong; take it from GET /settings/api/session"
        )))
    }
}

/// An error as an HTML page (the JSON body is for API clients, not for people).
fn page_error(error: Error) -> Response {
    let (status, title, text) = match &error {
        Error::NotFound { .. } => (
            StatusCode::NOT_FOUND,
            "Не найдено",
            "Такого фида нет в вашем аккаунте.".to_owned(),
        ),
        Error::BadRequest { text, .. } => {
            (StatusCode::BAD_REQUEST, "Неверный запрос", text.clone())
        }
        Error::Forbidden(_) => (
            StatusCode::FORBIDDEN,
            "Форма устарела",
            "Обновите страницу и повторите действие.".to_owned(),
        ),
        _ => {
            // The JSON answer logs the cause and picks 500 or 503; the page keeps that status.
            let status = error.into_response().status();
            return (
                status,
                view::error_page(
                    "Ошибка сервера",
                    "Не удалось выполнить действие. Повторите позже.",
                ),
            )
                .into_response();
        }
    };
    (status, view::error_page(title, &text)).into_response()
}

/// The account's feeds, oldest first, each with its URL while it is active and can be shown.
/// Without a usable secret key the feeds are still listed; only their links stay hidden.
async fn feeds_with_urls(
    state: &AppState,
    account_id: i64,
) -> crate::Result<Vec<(FeedInfo, Option<String>)>> {
    links::list_with_urls(
        &state.db,
        state.key.as_ref(),
        &state.settings.public_url,
        account_id,
    )
    .await
}

/// What an admin may do to one of their feeds, by the name its route and form use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// A new token: the old URL stops working at once.
    Rotate,
    /// The URL stops working for good.
    Revoke,
}

impl Change {
    /// `rotate` or `revoke`; anything else is as unknown as a missing feed.
    fn parse(action: &str) -> crate::Result<Change> {
        match action {
            "rotate" => Ok(Change::Rotate),
            "revoke" => Ok(Change::Revoke),
            _ => Err(Error::not_found("action")),
        }
    }

    /// Applies the change to the account's feed `id` (a path segment) in one statement; a
    /// rotated feed comes back with its new URL.
    async fn apply(
        self,
        state: &AppState,
        account_id: i64,
        id: &str,
    ) -> crate::Result<(FeedInfo, Option<String>)> {
        let id = feed_id(id)?;
        let owner = Owner::Account(account_id);
        let changed = match self {
            Change::Rotate => {
                let (info, token) = links::rotate(&state.db, key(state)?, owner, id).await?;
                let url = links::feed_url(&state.settings.public_url, id, &token);
                (info, Some(url))
            }
            Change::Revoke => (links::revoke(&state.db, owner, id).await?, None),
        };
        Ok(changed)
    }

    /// The word the page's notice and the log use.
    fn done(self) -> &'static str {
        match self {
            Change::Rotate => "rotated",
            Change::Revoke => "revoked",
        }
    }
}

/// A feed id from a path: anything but a positive number is a feed that does not exist.
fn feed_id(text: &str) -> crate::Result<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| Error::not_found("feed"))
}

/// The key that seals new links; loaded once when the server starts.
fn key(state: &AppState) -> crate::Result<&SecretKey> {
    state.key.as_ref().ok_or_else(|| {
        Error::Config(
            "no secret key: it could not be loaded when the server started \
             (DOMOFEED_SECRET_KEY / DOMOFEED_SECRET_KEY_FILE, see the log)"
                .into(),
        )
    })
}
