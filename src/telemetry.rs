//! Logging. Everything goes to stderr so that stdout carries only what a command prints on
//! purpose (a feed URL, a list).

use tracing_subscriber::{fmt, EnvFilter};

/// `RUST_LOG` when set, else `info` for domofeed and warnings for everything else.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,domofeed=info"));
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
