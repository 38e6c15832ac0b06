//! How the crate's error becomes an HTTP answer: the contract's body
//! `{"status": "error", "parameter": …, "text": …}`. Server-side causes are logged here and
//! hidden from the client.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::Error;

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: &'static str,
    parameter: Option<&'a str>,
    text: &'a str,
}

/// A JSON error answer.
pub fn error_response(status: StatusCode, parameter: Option<&str>, text: &str) -> Response {
    let body = ErrorBody {
        status: "error",
        parameter,
        text,
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if matches!(self, Error::Database(sqlx::Error::PoolTimedOut)) {
            crate::metrics::pool_timed_out();
        }
        match &self {
            Error::BadRequest { parameter, text } => {
                error_response(StatusCode::BAD_REQUEST, Some(parameter), text)
            }
            Error::NotFound { .. } => {
                error_response(StatusCode::NOT_FOUND, None, &self.to_string())
            }
            Error::Forbidden(text) => error_response(StatusCode::FORBIDDEN, None, text),
            Error::TooLarge(text) => error_response(StatusCode::PAYLOAD_TOO_LARGE, None, text),
            Error::Unauthorized(text) => {
                let mut response = error_response(StatusCode::UNAUTHORIZED, None, text);
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"domofeed\""),
                );
                response
            }
            Error::TooManyRequests { retry_after } => with_retry_after(
                error_response(StatusCode::TOO_MANY_REQUESTS, None, &self.to_string()),
                *retry_after,
            ),
            Error::Busy => with_retry_after(
                error_response(StatusCode::SERVICE_UNAVAILABLE, None, &self.to_string()),
                1,
            ),
            Error::Unavailable(text) => with_retry_after(
                error_response(StatusCode::SERVICE_UNAVAILABLE, None, text),
                5,
            ),
            Error::Database(e) if is_unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                with_retry_after(
                    error_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        None,
                        "the database is unavailable, retry later",
                    ),
                    5,
                )
            }
            _ => {
                tracing::error!(error = %self, "request failed");
                error_response(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
            }
        }
    }
}

fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

/// Errors that say "no database right now" rather than "this request is wrong": no connection,
/// a server shutting down (57P…), a lost connection (08…), or a statement cancelled by
/// `DOMOFEED_STATEMENT_TIMEOUT` (57014: the database was too busy to answer in time).
fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
    ) || matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| {
        c.starts_with("57P") || c.starts_with("08") || c == "57014"
    }))
}
