use std::fmt;

/// The crate's one error type. Each variant says what kind of failure it is, so that the HTTP
/// layer (`http::error`) can pick the status and the CLI can print one line: the client's own
/// mistakes carry a text meant for the client; server-side causes keep their source for the log
/// and are never shown to a client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting has a wrong value; the text names the setting.
    #[error("{0}")]
    Config(String),
    /// A request or command asked for something malformed; `parameter` names the culprit.
    #[error("{text}")]
    BadRequest { parameter: String, text: String },
    /// `what` does not exist, or is not visible to the caller (another account's feed is as
    /// unknown as a missing one). The text is safe to show: it names only what was asked for.
    #[error("{what} not found")]
    NotFound { what: String },
    /// The caller did not prove who it is (no API key, or a wrong or revoked one).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this (an address not on a feed's allow-list, a stale CSRF token).
    #[error("{0}")]
    Forbidden(String),
    /// The request is larger than the server takes; the text says the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The feed was asked for too often; try again after this many seconds.
    #[error("too many requests, retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// Every feed build slot is taken: shed the load instead of queueing it.
    #[error("the server is busy, retry later")]
    Busy,
    /// Something the server needs is not there right now (the server it probes, a shutdown).
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A failure of the server itself: a background task that panicked, password hashing that
    /// failed, rows that break an invariant the schema should have kept. A bug or a broken
    /// environment, never the client's doing.
    #[error("{context}: {source}")]
    Internal {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad_request(parameter: impl Into<String>, text: impl fmt::Display) -> Self {
        let parameter = parameter.into();
        Error::BadRequest {
            text: format!("{parameter}: {text}"),
            parameter,
        }
    }

    /// `what` (e.g. `feed 12`, `account 3`) does not exist or is not the caller's.
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A server-side failure with what was being done when it happened.
    pub fn internal(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Internal {
            context: context.into(),
            source: source.into(),
        }
    }
}
