//! The settings pages: Settings → Integrations → Data export (feed links), → API keys (the keys a
//! CRM writes with), Settings → Account (name and time zone); the login in front of them and
//! the JSON API behind them.
//!
//! - Sessions live in the database (`admin::sessions`), so any instance serves any admin. The
//!   cookies are HttpOnly and SameSite=Strict; when `DOMOFEED_PUBLIC_URL` is https they are
//!   Secure and carry the `__Host-` prefix (`Cookies`).
//! - Every form post carries the session's CSRF token (the login form: a token also set as a
//!   cookie); every API call that changes something carries it in `X-CSRF-Token`.
//! - An admin reaches only their own account's feeds and keys: another account's id is a 404.

mod account;
mod api;
mod api_account;
mod api_keys;
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
pub const API_KEYS_PATH: &str = "/settings/integrations/api-keys";
pub const ACCOUNT_PATH: &str = "/settings/account";
pub const LOGIN_PATH: &str = "/settings/login";
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
        .route(API_KEYS_PATH, get(api_keys::page).post(api_keys::create))
        .route(
            "/settings/integrations/api-keys/{id}/revoke",
            post(api_keys::revoke),
        )
        .route(ACCOUNT_PATH, get(account::page).post(account::save))
        .route("/settings/api/session", get(api::session))
        .route("/settings/api/catalog", get(api::catalog))
        .route("/settings/api/feeds", get(api::list).post(api::create))
        .route("/settings/api/feeds/{id}/check", get(api::check))
        .route("/settings/api/feeds/{id}/{action}", post(api::change))
        .route(
            "/settings/api/account",
            get(api_account::account).post(api_account::change_account),
        )
        .route("/settings/api/timezones", get(api_account::timezones))
        .route(
            "/settings/api/keys",
            get(api_account::keys).post(api_account::create_key),
        )
        .route(
            "/settings/api/keys/{id}/revoke",
            post(api_account::revoke_key),
        )
        .route("/settings/assets/settings.css", get(css))
        .route("/settings/assets/settings.js", get(js))
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
        include_str!("assets/settings.js"),
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
    let Some(token) = Cookies::of(state).token(&jar, Cookies::SESSION) else {
        return Ok(None);
    };
    sessions::find(&state.db, &token).await
}

/// The page's cookies: the session, the login form's CSRF token, the device (`admin::devices`).
/// All HttpOnly and SameSite=Strict. Behind https (`DOMOFEED_PUBLIC_URL`) they are Secure and
/// their names carry the `__Host-` prefix, which a browser accepts only from a secure page, with
/// Path=/ and no Domain: a sibling subdomain or a plain-http page cannot set or shadow them.
/// Over plain http each keeps to its own path.
#[derive(Debug, Clone, Copy)]
struct Cookies {
    https: bool,
}

/// A cookie's name and the path it keeps to over plain http.
type CookieKind = (&'static str, &'static str);

impl Cookies {
    /// No Max-Age: it ends with the browser, and the server ends it after `SESSION_HOURS` anyway.
    const SESSION: CookieKind = ("domofeed_session", "/settings");
    const LOGIN_CSRF: CookieKind = ("domofeed_login_csrf", LOGIN_PATH);
    /// Kept for `DEVICE_DAYS`.
    const DEVICE: CookieKind = ("domofeed_device", LOGIN_PATH);

    fn of(state: &AppState) -> Cookies {
        Cookies {
            https: state.settings.public_url.scheme() == "https",
        }
    }

    fn name(self, (name, _): CookieKind) -> String {
        if self.https {
            format!("__Host-{name}")
        } else {
            name.to_owned()
        }
    }

    fn path(self, (_, path): CookieKind) -> &'static str {
        if self.https {
            "/"
        } else {
            path
        }
    }

    fn make(self, kind: CookieKind, value: String) -> Cookie<'static> {
        Cookie::build((self.name(kind), value))
            .path(self.path(kind))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.https)
            .build()
    }

    /// The cookie that removes `kind` from the browser.
    fn removal(self, kind: CookieKind) -> Cookie<'static> {
        Cookie::build(self.name(kind)).path(self.path(kind)).build()
    }

    fn value(self, jar: &CookieJar, kind: CookieKind) -> Option<&str> {
        jar.get(&self.name(kind)).map(|c| c.value())
    }

    /// A cookie's value when it has the shape of a token.
    fn token(self, jar: &CookieJar, kind: CookieKind) -> Option<Token> {
        self.value(jar, kind).and_then(Token::parse)
    }
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

/// An error of the export page as an HTML page.
fn page_error(error: Error) -> Response {
    page_error_of(error, "Такого фида нет в вашем аккаунте.")
}

/// An error as an HTML page (the JSON body is for API clients, not for people); a 404 says
/// `not_found`.
fn page_error_of(error: Error, not_found: &str) -> Response {
    let (status, title, text) = match &error {
        Error::NotFound { .. } => (StatusCode::NOT_FOUND, "Не найдено", not_found.to_owned()),
        Error::BadRequest { text, .. } => {
            (StatusCode::BAD_REQUEST, "Неверный запрос", text.clone())
        }
        Error::Forbidden(_) => (
            StatusCode::FORBIDDEN,
            "Форма устарела",
            "Обновите страницу и повторите действие.".to_owned(),
        ),
        _ => {
            // The JSON answer logs the cause and picks 500 or 503 (with Retry-After); the page
            // keeps them.
            let json = error.into_response();
            let mut page = (
                json.status(),
                view::error_page(
                    "Ошибка сервера",
                    "Не удалось выполнить действие. Повторите позже.",
                ),
            )
                .into_response();
            if let Some(retry_after) = json.headers().get(header::RETRY_AFTER) {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after.clone());
            }
            return page;
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
    path_id(text, "feed")
}

/// An id from a path: anything but a positive number is `what` that does not exist.
fn path_id(text: &str, what: &str) -> crate::Result<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| Error::not_found(what))
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
