//! Logging. Everything goes to stderr so that stdout carries only what a command prints on
//! purpose (a feed URL, a list).
//!
//! `DOMOFEED_LOG_FORMAT` picks the shape of a line: `text` (the default, for people) or `json`
//! (one object per line, for a log collector). It is read here rather than in `config` because
//! logging starts before the settings are loaded, so that their errors can be logged.

use tracing_subscriber::{fmt, EnvFilter};

use crate::{Error, Result};

/// The environment variable that picks the log format.
pub const LOG_FORMAT_VAR: &str = "DOMOFEED_LOG_FORMAT";

/// The shape of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-11-29T12:00:00Z  INFO request{request_id=… route=/dc-api/feeds/{feed}/}: answered`
    Text,
    /// `{"timestamp":…,"level":"INFO","fields":{…},"spans":[{"request_id":…,"route":…}]}`
    Json,
}

impl LogFormat {
    /// The value of `DOMOFEED_LOG_FORMAT`: absent or empty is `text`.
    pub fn parse(value: Option<&str>) -> Result<LogFormat> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(Error::Config(format!(
                "{LOG_FORMAT_VAR}: expected text or json, got {other:?}"
            ))),
        }
    }

    /// From the environment.
    pub fn from_env() -> Result<LogFormat> {
        match std::env::var(LOG_FORMAT_VAR) {
            Ok(value) => LogFormat::parse(Some(&value)),
            Err(std::env::VarError::NotPresent) => Ok(LogFormat::Text),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::Config(format!(
                "{LOG_FORMAT_VAR}: expected text or json, got a value that is not UTF-8"
            ))),
        }
    }
}

/// `RUST_LOG` when set, else `info` for domofeed and warnings for everything else; the format
/// of `DOMOFEED_LOG_FORMAT`. A wrong format is an error, before anything is logged.
pub fn init() -> Result<()> {
    let format = LogFormat::from_env()?;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,domofeed=info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second `init` (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_format_is_text_or_json() {
        assert_eq!(LogFormat::parse(None).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("")).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("text")).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("json")).unwrap(), LogFormat::Json);
        let error = LogFormat::parse(Some("xml")).unwrap_err().to_string();
        assert_eq!(
            error,
            "DOMOFEED_LOG_FORMAT: expected text or json, got \"xml\""
        );
    }
}
