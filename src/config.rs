//! Settings, merged in this order (later wins): built-in defaults, the TOML file
//! (`config/domofeed.toml` when present, or `--config PATH`), environment variables, CLI flags.
//!
//! Every value arrives as text and is parsed here, so a wrong one is a single line that names the
//! setting, whichever of the three places it came from.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use ipnet::IpNet;
use serde::Deserialize;
use url::Url;

use crate::{links::SecretKey, Error, Result};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/domofeed";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_CONFIG_FILE: &str = "config/domofeed.toml";
pub const DEFAULT_SECRET_KEY_FILE: &str = "config/secret.key";

/// The raw settings as the TOML file, the environment and the CLI give them: all optional text.
/// The file fills this struct directly (and may hold any setting); the command line fills it
/// from the argument groups below, each command taking only the groups it uses.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub database_url: Option<String>,
    pub read_database_url: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub max_replica_lag: Option<String>,
    pub bind: Option<String>,
    pub public_url: Option<String>,
    pub secret_key: Option<String>,
    pub secret_key_file: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub pool_size: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub acquire_timeout: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub statement_timeout: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub max_feed_builds: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub feed_rate_per_minute: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub send_timeout: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub shutdown_grace: Option<String>,
    pub trusted_proxies: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub tombstone_days: Option<String>,
    pub data_dir: Option<String>,
    pub pg_bindir: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub header_read_timeout: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub idle_timeout: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub max_connections: Option<String>,
    pub metrics_bind: Option<String>,
    #[serde(default, deserialize_with = "text_or_number")]
    pub max_password_checks: Option<String>,
}

/// The database: every command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL [default: postgres://postgres@127.0.0.1:5432/domofeed]
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
}

/// Where the server listens: the server, the probe, and the default of the public URL.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BindArgs {
    /// Address the server listens on [default: 127.0.0.1:8080]
    #[arg(long, env = "DOMOFEED_BIND", global = true)]
    pub bind: Option<String>,
}

/// The base of the URLs a command prints.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PublicUrlArgs {
    /// Base of printed links, e.g. https://feeds.example.ru [default: http://BIND]
    #[arg(long, env = "DOMOFEED_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
}

/// The key that seals feed tokens: commands that make or show feed links, and the server.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// Key that seals feed tokens, 64 hex digits (32 bytes); overrides the key file
    #[arg(
        long,
        env = "DOMOFEED_SECRET_KEY",
        global = true,
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// File holding the key; created with a warning when missing [default: config/secret.key]
    #[arg(long, env = "DOMOFEED_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<String>,
}

/// What making and printing a feed link needs: where the server is, the base of its URLs, the
/// key that seals tokens. `feed …` commands and the server.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LinkArgs {
    #[command(flatten)]
    pub bind: BindArgs,
    #[command(flatten)]
    pub public_url: PublicUrlArgs,
    #[command(flatten)]
    pub key: KeyArgs,
}

impl LinkArgs {
    pub fn onto(&self, raw: RawSettings) -> RawSettings {
        self.key.onto(self.public_url.onto(self.bind.onto(raw)))
    }
}

/// The server's own settings: `serve` and `demo`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServerArgs {
    /// PostgreSQL read replicas for feed requests, URLs joined by commas [default: none: the primary]
    #[arg(long, env = "DOMOFEED_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,
    /// Seconds a replica may lag behind the primary before feeds leave it [default: 30]
    #[arg(long, env = "DOMOFEED_MAX_REPLICA_LAG")]
    pub max_replica_lag: Option<String>,
    /// Maximum database connections of the server [default: 10]
    #[arg(long, env = "DOMOFEED_POOL_SIZE")]
    pub pool_size: Option<String>,
    /// Seconds to wait for a free database connection before answering 503 [default: 5]
    #[arg(long, env = "DOMOFEED_ACQUIRE_TIMEOUT")]
    pub acquire_timeout: Option<String>,
    /// Seconds one feed query may run before it is cancelled [default: 300]
    #[arg(long, env = "DOMOFEED_STATEMENT_TIMEOUT")]
    pub statement_timeout: Option<String>,
    /// Feed bodies built at once; more get a fast 503 [default: 8]
    #[arg(long, env = "DOMOFEED_MAX_FEED_BUILDS")]
    pub max_feed_builds: Option<String>,
    /// Requests per minute one feed may make (bursts of 10 allowed); more get 429 [default: 60]
    #[arg(long, env = "DOMOFEED_FEED_RATE_PER_MINUTE")]
    pub feed_rate_per_minute: Option<String>,
    /// Seconds a client may stop reading a feed body before the transfer is cut [default: 60]
    #[arg(long, env = "DOMOFEED_SEND_TIMEOUT")]
    pub send_timeout: Option<String>,
    /// Seconds running feeds may take to finish after SIGTERM or Ctrl-C [default: 30]
    #[arg(long, env = "DOMOFEED_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<String>,
    /// Proxies whose X-Forwarded-For is believed, CIDRs joined by commas [default: none]
    #[arg(long, env = "DOMOFEED_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Days the server keeps deletions for the feeds' `deleted` lists [default: 400]
    #[arg(long, env = "DOMOFEED_TOMBSTONE_DAYS")]
    pub tombstone_days: Option<String>,
    /// Seconds a client has to send a whole request head once it has begun one, and the longest
    /// pause inside a request body that is read [default: 10]
    #[arg(long, env = "DOMOFEED_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<String>,
    /// Seconds a connection may wait for its next request before it is closed [default: 75]
    #[arg(long, env = "DOMOFEED_IDLE_TIMEOUT")]
    pub idle_timeout: Option<String>,
    /// Connections open at once; one more is closed at once [default: 512]
    #[arg(long, env = "DOMOFEED_MAX_CONNECTIONS")]
    pub max_connections: Option<String>,
    /// A second address that serves only /metrics (then the main one does not) [default: none]
    #[arg(long, env = "DOMOFEED_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Login passwords checked at once; more get a fast 503 [default: the number of cores]
    #[arg(long, env = "DOMOFEED_MAX_PASSWORD_CHECKS")]
    pub max_password_checks: Option<String>,
}

/// `demo`'s own PostgreSQL cluster, for when there is no database to use (`db::cluster`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClusterArgs {
    /// Directory of demo's own PostgreSQL cluster [default: ~/.local/share/domofeed/pg; as root: /var/lib/domofeed/pg]
    #[arg(long, env = "DOMOFEED_DATA_DIR")]
    pub data_dir: Option<String>,
    /// Directory of the PostgreSQL programs (initdb, pg_ctl, postgres) for that cluster [default: pg_config --bindir, then the usual places]
    #[arg(long, env = "DOMOFEED_PG_BINDIR")]
    pub pg_bindir: Option<String>,
}

/// Sets each field of `raw` that the group gives (flags and environment win over the file).
macro_rules! onto {
    ($group:ty: $($field:ident),+) => {
        impl $group {
            pub fn onto(&self, mut raw: RawSettings) -> RawSettings {
                $(if self.$field.is_some() {
                    raw.$field = self.$field.clone();
                })+
                raw
            }
        }
    };
}

onto!(DatabaseArgs: database_url);
onto!(BindArgs: bind);
onto!(PublicUrlArgs: public_url);
onto!(KeyArgs: secret_key, secret_key_file);
onto!(ServerArgs: read_database_url, max_replica_lag, pool_size, acquire_timeout,
      statement_timeout, max_feed_builds, feed_rate_per_minute, send_timeout, shutdown_grace,
      trusted_proxies, tombstone_days, header_read_timeout, idle_timeout, max_connections,
      metrics_bind, max_password_checks);
onto!(ClusterArgs: data_dir, pg_bindir);

/// Validated settings.
#[derive(Clone)]
pub struct Settings {
    pub database_url: Url,
    /// Whether `DATABASE_URL` came from the file, the environment or a flag. When it did not,
    /// and the default does not answer, `demo` brings its own PostgreSQL.
    pub database_url_given: bool,
    /// Hot standbys that feed requests read from; empty: the primary serves them.
    pub read_database_urls: Vec<Url>,
    /// A replica further behind the primary than this is left until it catches up.
    pub max_replica_lag: Duration,
    pub bind: SocketAddr,
    pub public_url: Url,
    secret_key: Option<SecretKey>,
    pub secret_key_file: PathBuf,
    pub pool_size: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
    pub max_feed_builds: u32,
    pub feed_rate_per_minute: u32,
    pub send_timeout: Duration,
    pub shutdown_grace: Duration,
    /// Peers whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Vec<IpNet>,
    /// Tombstones older than this many days are pruned.
    pub tombstone_days: u32,
    /// Where `demo`'s own PostgreSQL cluster lives; `None`: the default of `db::cluster`, which
    /// depends on the user it runs as.
    pub data_dir: Option<PathBuf>,
    /// Where that cluster's programs are; `None`: searched (`db::cluster`).
    pub pg_bindir: Option<PathBuf>,
    /// Once a client has sent the first byte of a request, the rest of its head must follow
    /// within this time; a request body that is read may not pause for longer.
    pub header_read_timeout: Duration,
    /// A connection with no request in progress is closed after this long.
    pub idle_timeout: Duration,
    /// Connections open at once, on the main listener.
    pub max_connections: u32,
    /// Where `/metrics` is served when not on `bind`.
    pub metrics_bind: Option<SocketAddr>,
    /// argon2 password checks at once.
    pub max_password_checks: u32,
}

impl Settings {
    /// The TOML file's settings with `cli` (what a command's flags and the environment gave,
    /// see the `onto` of each argument group) over them. `config_file` is the `--config` flag;
    /// without it the default file is read when present.
    pub fn load(
        config_file: Option<&Path>,
        cli: impl FnOnce(RawSettings) -> RawSettings,
    ) -> Result<Self> {
        let file = match config_file {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                read_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => RawSettings::default(),
        };
        Self::from_raw(cli(file))
    }

    pub fn from_raw(raw: RawSettings) -> Result<Self> {
        let database_url_given = raw.database_url.is_some();
        let database_url = raw.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL);
        let database_url = Url::parse(database_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
            .ok_or_else(|| {
                Error::Config(format!(
                    "DATABASE_URL: expected postgres://user@host:port/database, got {:?}",
                    redact_url_text(database_url)
                ))
            })?;
        let read_database_urls = parse_read_urls(raw.read_database_url.as_deref().unwrap_or(""))?;
        let bind_text = raw.bind.as_deref().unwrap_or(DEFAULT_BIND);
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            Error::Config(format!(
                "DOMOFEED_BIND: expected an address like 127.0.0.1:8080, got {bind_text:?}"
            ))
        })?;
        let public_url = match raw.public_url.as_deref() {
            Some(text) => Url::parse(text)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "DOMOFEED_PUBLIC_URL: expected a URL like https://feeds.example.ru, got {text:?}"
                    ))
                })?,
            None => default_public_url(bind)?,
        };
        let secret_key = raw
            .secret_key
            .as_deref()
            .map(|text| {
                SecretKey::from_hex(text).ok_or_else(|| {
                    Error::Config(
                        "DOMOFEED_SECRET_KEY: expected 64 hexadecimal digits (32 bytes)".into(),
                    )
                })
            })
            .transpose()?;
        Ok(Settings {
            database_url,
            database_url_given,
            read_database_urls,
            max_replica_lag: seconds("DOMOFEED_MAX_REPLICA_LAG", raw.max_replica_lag, 30)?,
            bind,
            public_url,
            secret_key,
            secret_key_file: raw
                .secret_key_file
                .unwrap_or_else(|| DEFAULT_SECRET_KEY_FILE.into())
                .into(),
            pool_size: parse_number("DOMOFEED_POOL_SIZE", raw.pool_size.as_deref(), 10, 1..=1000)?,
            acquire_timeout: seconds("DOMOFEED_ACQUIRE_TIMEOUT", raw.acquire_timeout, 5)?,
            statement_timeout: seconds("DOMOFEED_STATEMENT_TIMEOUT", raw.statement_timeout, 300)?,
            max_feed_builds: parse_number(
                "DOMOFEED_MAX_FEED_BUILDS",
                raw.max_feed_builds.as_deref(),
                8,
                1..=10_000,
            )?,
            feed_rate_per_minute: parse_number(
                "DOMOFEED_FEED_RATE_PER_MINUTE",
                raw.feed_rate_per_minute.as_deref(),
                60,
                1..=1_000_000,
            )?,
            send_timeout: seconds("DOMOFEED_SEND_TIMEOUT", raw.send_timeout, 60)?,
            shutdown_grace: seconds("DOMOFEED_SHUTDOWN_GRACE", raw.shutdown_grace, 30)?,
            trusted_proxies: parse_networks(
                "DOMOFEED_TRUSTED_PROXIES",
                raw.trusted_proxies.as_deref().unwrap_or(""),
            )?,
            tombstone_days: parse_number(
                "DOMOFEED_TOMBSTONE_DAYS",
                raw.tombstone_days.as_deref(),
                400,
                1..=36_500,
            )?,
            data_dir: directory("DOMOFEED_DATA_DIR", raw.data_dir)?,
            pg_bindir: directory("DOMOFEED_PG_BINDIR", raw.pg_bindir)?,
            header_read_timeout: seconds(
                "DOMOFEED_HEADER_READ_TIMEOUT",
                raw.header_read_timeout,
                10,
            )?,
            idle_timeout: seconds("DOMOFEED_IDLE_TIMEOUT", raw.idle_timeout, 75)?,
            max_connections: parse_number(
                "DOMOFEED_MAX_CONNECTIONS",
                raw.max_connections.as_deref(),
                512,
                1..=1_000_000,
            )?,
            metrics_bind: raw
                .metrics_bind
                .as_deref()
                .map(|text| {
                    text.parse::<SocketAddr>().map_err(|_| {
                        Error::Config(format!(
                            "DOMOFEED_METRICS_BIND: expected an address like 127.0.0.1:9090, got {text:?}"
                        ))
                    })
                })
                .transpose()?,
            max_password_checks: parse_number(
                "DOMOFEED_MAX_PASSWORD_CHECKS",
                raw.max_password_checks.as_deref(),
                std::thread::available_parallelism().map_or(2, |n| n.get() as u32),
                1..=1024,
            )?,
        })
    }

    /// The key that seals feed tokens: `DOMOFEED_SECRET_KEY`, else the key file, which is created
    /// (with a warning, since links sealed with a lost key cannot be shown again) when missing.
    pub fn secret_key(&self) -> Result<SecretKey> {
        if let Some(key) = &self.secret_key {
            return Ok(key.clone());
        }
        SecretKey::load_or_create(&self.secret_key_file)
    }
}

/// TOML numbers are welcome where a setting is a number: `pool_size = 10` as well as `"10"`.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Text(String),
        Number(i64),
    }
    Ok(Option::<Value>::deserialize(d)?.map(|v| match v {
        Value::Text(text) => text,
        Value::Number(n) => n.to_string(),
    }))
}

fn read_file(path: &Path) -> Result<RawSettings> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("config file {}", path.display()), e))?;
    toml::from_str(&text).map_err(|e| {
        let message = e.message().replace('\n', " ");
        Error::Config(format!("config file {}: {message}", path.display()))
    })
}

fn default_public_url(bind: SocketAddr) -> Result<Url> {
    let host = if bind.ip().is_unspecified() {
        format!("127.0.0.1:{}", bind.port())
    } else {
        bind.to_string()
    };
    Url::parse(&format!("http://{host}"))
        .map_err(|e| Error::Config(format!("DOMOFEED_PUBLIC_URL: cannot derive from bind: {e}")))
}

fn parse_number<T>(
    name: &str,
    text: Option<&str>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(text) = text else { return Ok(default) };
    match text.trim().parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(Error::Config(format!(
            "{name}: expected a whole number from {} to {}, got {text:?}",
            range.start(),
            range.end()
        ))),
    }
}

/// `DOMOFEED_READ_DATABASE_URL`: PostgreSQL URLs joined by commas.
fn parse_read_urls(text: &str) -> Result<Vec<Url>> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            Url::parse(part)
                .ok()
                .filter(|u| matches!(u.scheme(), "postgres" | "postgresql"))
                .ok_or_else(|| {
                    Error::Config(format!(
                        "DOMOFEED_READ_DATABASE_URL: expected postgres://user@host:port/database, several joined by commas; got {:?}",
                        redact_url_text(part)
                    ))
                })
        })
        .collect()
}

/// CIDRs (or single addresses) joined by commas.
pub fn parse_networks(name: &str, text: &str) -> Result<Vec<IpNet>> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    Error::Config(format!(
                        "{name}: expected addresses or CIDRs joined by commas, like 10.0.0.0/8,192.168.1.5; got {part:?}"
                    ))
                })
        })
        .collect()
}

/// A directory path; an empty one is a mistake (it would mean the current directory).
fn directory(name: &str, text: Option<String>) -> Result<Option<PathBuf>> {
    match text {
        Some(text) if text.trim().is_empty() => Err(Error::Config(format!(
            "{name}: expected a directory, got an empty value"
        ))),
        text => Ok(text.map(PathBuf::from)),
    }
}

fn seconds(name: &str, text: Option<String>, default: u64) -> Result<Duration> {
    parse_number(name, text.as_deref(), default, 1..=86_400).map(Duration::from_secs)
}

/// The URL with its password replaced by `***`, for logs and errors.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    shown.to_string()
}

/// As `redact_url`, for text that did not even parse: keep only what cannot be a password.
fn redact_url_text(text: &str) -> String {
    match text.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => text.to_string(),
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(&self.database_url))
            .field("database_url_given", &self.database_url_given)
            .field(
                "read_database_urls",
                &self
                    .read_database_urls
                    .iter()
                    .map(redact_url)
                    .collect::<Vec<_>>(),
            )
            .field("max_replica_lag", &self.max_replica_lag)
            .field("bind", &self.bind)
            .field("public_url", &self.public_url.as_str())
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("secret_key_file", &self.secret_key_file)
            .field("pool_size", &self.pool_size)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("max_feed_builds", &self.max_feed_builds)
            .field("feed_rate_per_minute", &self.feed_rate_per_minute)
            .field("send_timeout", &self.send_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("tombstone_days", &self.tombstone_days)
            .field("data_dir", &self.data_dir)
            .field("pg_bindir", &self.pg_bindir)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("metrics_bind", &self.metrics_bind)
            .field("max_password_checks", &self.max_password_checks)
            .finish()
    }
}

impl fmt::Debug for RawSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSettings").finish_non_exhaustive()
    }
}
