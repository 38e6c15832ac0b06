use std::fmt;

/// The crate's one error type. Server-side causes (database, I/O) keep their source for the log;
/// what a client of the HTTP API sees is decided in `http::error`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting has a wrong value; the text names the setting.
    #[error("{0}")]
    Config(String),
    /// A request or command asked for something malformed; `parameter` names the culprit.
    #[error("{text}")]
    BadRequest { parameter: String, text: String },
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// The caller may read the feed, but not from this address.
    #[error("{0}")]
    Forbidden(String),
    /// The feed was asked for too often; try again after this many seconds.
    #[error("too many requests for this feed, retry in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// Every feed build slot is taken: shed the load instead of queueing it.
    #[error("the server is busy, retry later")]
    Busy,
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

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
