//! `demo`'s own PostgreSQL: a private cluster made with the PostgreSQL programs installed on the
//! machine, so a first run needs no server set up (nor one that lets `postgres` in without a
//! password). Everything it has lives in one directory (`DOMOFEED_DATA_DIR`): the data, where it
//! listens (`domofeed.conf`, rewritten at each start), its log (`postgresql.log`) and its unix
//! socket. It listens on 127.0.0.1 only and trusts local connections only (`initdb
//! --auth=trust`). Started for one `demo` run and stopped at its end; the data stays.

mod owner;
mod programs;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

use sqlx::{postgres::PgConnectOptions, Connection, PgConnection};
use url::Url;

use self::{owner::Owner, programs::Programs};
use crate::{config::Settings, Error, Result};

/// The default directory when `demo` runs as root: one the `postgres` user can reach.
pub const ROOT_DATA_DIR: &str = "/var/lib/domofeed/pg";
/// The first port tried when the cluster has none yet, and how many after it.
const FIRST_PORT: u16 = 54329;
const PORTS: u16 = 100;
/// Where the cluster listens: included from `postgresql.conf`, rewritten at each start.
const CONF: &str = "domofeed.conf";
const LOG: &str = "postgresql.log";
/// The advisory lock a `demo` holds on its cluster for as long as it uses it: "domofeed".
const LOCK_KEY: i64 = 0x646f_6d6f_6665_6564;

/// A running private cluster; stopped by `stop`, or when dropped (an early error, a panic).
pub struct PrivateCluster {
    control: Control,
    port: u16,
    created: bool,
    /// A session holding `LOCK_KEY`: another `demo` on the same directory finds it taken.
    lock: Option<PgConnection>,
    running: bool,
}

impl PrivateCluster {
    /// Makes the cluster when the directory has none (`initdb`), starts it on a free loopback
    /// port (the one it had when that is free), or takes over one that a `demo` which died
    /// left running. Fails with one line: no programs, an unusable directory, a cluster in use
    /// by another `demo`, a server that would not start (the line from its log).
    pub async fn start(settings: &Settings) -> Result<PrivateCluster> {
        let data_dir = settings.data_dir.clone();
        let bindir = settings.pg_bindir.clone();
        let (control, created) = blocking(move || Control::prepare(data_dir, bindir)).await?;
        let left_running = blocking({
            let control = control.clone();
            move || Ok(control.is_running())
        })
        .await?;
        let port = if left_running {
            control.running_port()?
        } else {
            blocking({
                let control = control.clone();
                move || control.start_on_free_port()
            })
            .await?
        };
        let mut cluster = PrivateCluster {
            control,
            port,
            created,
            lock: None,
            running: true,
        };
        match take_lock(port).await? {
            Some(lock) => cluster.lock = Some(lock),
            None => {
                // Another demo uses it: it is theirs to stop.
                cluster.running = false;
                return Err(cluster.control.in_use(port));
            }
        }
        if left_running {
            tracing::info!(port, "took over the cluster a demo that died left running");
        }
        Ok(cluster)
    }

    pub fn dir(&self) -> &Path {
        &self.control.dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this run made the cluster (else it had been made by an earlier one).
    pub fn created(&self) -> bool {
        self.created
    }

    /// The URL of `database` on the cluster.
    pub fn url(&self, database: &str) -> Result<Url> {
        let text = format!("postgres://postgres@127.0.0.1:{}/{database}", self.port);
        Url::parse(&text).map_err(|e| Error::internal(format!("the URL {text}"), e))
    }

    /// Stops the server (fast: sessions are ended, nothing is lost) and waits until it has.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(lock) = self.lock.take() {
            let _ = lock.close().await;
        }
        self.running = false;
        let control = self.control.clone();
        blocking(move || control.stop()).await
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if self.running {
            self.lock = None;
            if let Err(e) = self.control.stop() {
                tracing::error!(error = %e, "could not stop the private PostgreSQL cluster");
            }
        }
    }
}

/// The directory, the programs and their owner: all it takes to run `pg_ctl`.
#[derive(Debug, Clone)]
struct Control {
    dir: PathBuf,
    /// `dir` as a `postgresql.conf` string: quoted, `'` and `\` escaped.
    dir_quoted: String,
    programs: Programs,
    owner: Owner,
}

impl Control {
    /// Finds the programs, makes the directory usable by the cluster's owner, and `initdb`s it
    /// when it holds no cluster yet (`true`: it was made now).
    fn prepare(data_dir: Option<PathBuf>, bindir: Option<PathBuf>) -> Result<(Control, bool)> {
        let root = owner::running_as_root();
        let dir = match data_dir {
            Some(dir) => std::path::absolute(&dir)
                .map_err(|e| Error::Config(format!("DOMOFEED_DATA_DIR: {}: {e}", dir.display())))?,
            None => default_dir(root)?,
        };
        let dir_text = dir.to_str().ok_or_else(|| {
            Error::Config(format!(
                "DOMOFEED_DATA_DIR: expected a UTF-8 path, got {}",
                dir.display()
            ))
        })?;
        let dir_quoted = format!("'{}'", dir_text.replace('\\', "\\\\").replace('\'', "''"));
        let major = fs::read_to_string(dir.join("PG_VERSION"))
            .ok()
            .map(|text| text.trim().to_string());
        let programs = Programs::find(bindir.as_deref(), major.as_deref())?;
        // After the programs: their package makes the postgres user.
        let owner = if root { Owner::postgres()? } else { Owner::Me };
        let control = Control {
            dir,
            dir_quoted,
            programs,
            owner,
        };
        control.make_dir(major.is_some())?;
        if major.is_none() {
            control.initdb()?;
        }
        Ok((control, major.is_none()))
    }

    /// A one-line error about the directory.
    fn problem(&self, what: impl std::fmt::Display) -> Error {
        Error::Config(format!("DOMOFEED_DATA_DIR: {}: {what}", self.dir.display()))
    }

    /// Creates the directory, hands it to the `postgres` user when that runs the cluster, and
    /// checks that user can work in it. A directory with other things in it is left alone.
    fn make_dir(&self, holds_cluster: bool) -> Result<()> {
        if self.dir.exists() && !self.dir.is_dir() {
            return Err(self.problem("not a directory"));
        }
        fs::create_dir_all(&self.dir)
            .map_err(|e| self.problem(format!("cannot create it: {e}")))?;
        let empty = fs::read_dir(&self.dir)
            .map_err(|e| self.problem(format!("cannot read it: {e}")))?
            .next()
            .is_none();
        if !holds_cluster && !empty {
            return Err(self.problem(
                "neither empty nor a PostgreSQL cluster; give a new or an empty directory",
            ));
        }
        if matches!(self.owner, Owner::Me) {
            return Ok(());
        }
        // initdb itself makes it private (0700).
        self.owner
            .take(&self.dir)
            .map_err(|e| self.problem(format!("cannot hand it to the postgres user: {e}")))?;
        let usable = self
            .owner
            .command("test")
            .arg("-w")
            .arg(&self.dir)
            .arg("-a")
            .arg("-x")
            .arg(&self.dir)
            .status()
            .is_ok_and(|status| status.success());
        if !usable {
            return Err(self.problem(format!(
                "the postgres user, which runs the cluster (PostgreSQL refuses root), cannot \
                 reach it: let it through the directories above (chmod o+x), or pick another \
                 directory (for root the default is {ROOT_DATA_DIR})"
            )));
        }
        Ok(())
    }

    /// A new cluster: trust for local connections only, UTF-8, and the include of `CONF`.
    fn initdb(&self) -> Result<()> {
        let output = self
            .owner
            .command(self.programs.program("initdb"))
            .arg("-D")
            .arg(&self.dir)
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .output();
        let output = Self::ran("initdb", output)?;
        if !output.status.success() {
            return Err(Error::Unavailable(format!(
                "initdb into {} failed: {}",
                self.dir.display(),
                last_line(&output.stderr)
            )));
        }
        let conf = self.dir.join("postgresql.conf");
        let mut text = fs::read_to_string(&conf)
            .map_err(|e| Error::io(format!("reading {}", conf.display()), e))?;
        text.push_str(&format!(
            "\n# domofeed demo: where this cluster listens, rewritten at each start.\ninclude_if_exists = '{CONF}'\n"
        ));
        fs::write(&conf, text).map_err(|e| Error::io(format!("writing {}", conf.display()), e))
    }

    /// Writes `CONF`: 127.0.0.1 and `port`, the unix socket in the directory (when its path
    /// fits the 103 bytes a socket path may have).
    fn configure(&self, port: u16) -> Result<()> {
        let socket_fits = self.dir.as_os_str().len() + "/.s.PGSQL.65535".len() <= 103;
        let sockets = if socket_fits {
            self.dir_quoted.as_str()
        } else {
            "''"
        };
        let path = self.dir.join(CONF);
        fs::write(
            &path,
            format!(
                "# Written by domofeed demo at each start: a cluster for this machine only.\n\
                 listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = {sockets}\n"
            ),
        )
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        self.owner
            .take(&path)
            .map_err(|e| Error::io(format!("handing {} to postgres", path.display()), e))
    }

    /// The port of the last start, from `CONF`.
    fn remembered_port(&self) -> Option<u16> {
        let text = fs::read_to_string(self.dir.join(CONF)).ok()?;
        text.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            (name.trim() == "port")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
    }

    /// Starts the server on the remembered port when it is free, else on the first free one
    /// from `FIRST_PORT`; a port taken between the check and the start is passed over too.
    fn start_on_free_port(&self) -> Result<u16> {
        let candidates = self
            .remembered_port()
            .into_iter()
            .chain(FIRST_PORT..FIRST_PORT + PORTS);
        for port in candidates {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                continue;
            }
            self.configure(port)?;
            match self.pg_ctl_start() {
                Ok(()) => return Ok(port),
                Err(why) if why.contains("Address already in use") => continue,
                Err(why) => {
                    return Err(Error::Unavailable(format!(
                        "demo's own PostgreSQL in {} did not start: {why} (its log: {})",
                        self.dir.display(),
                        self.dir.join(LOG).display()
                    )))
                }
            }
        }
        Err(Error::Unavailable(format!(
            "demo's own PostgreSQL found no free port from {FIRST_PORT} to {}",
            FIRST_PORT + PORTS - 1
        )))
    }

    /// `pg_ctl start`, waiting until the server takes connections; the error is the first
    /// FATAL (or ERROR) line the server logged, else what `pg_ctl` said.
    fn pg_ctl_start(&self) -> std::result::Result<(), String> {
        let log = self.dir.join(LOG);
        let logged_before = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let output = self
            .owner
            .command(self.programs.program("pg_ctl"))
            .arg("start")
            .arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-s"])
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        let logged = fs::read(&log).unwrap_or_default();
        let new = String::from_utf8_lossy(logged.get(logged_before as usize..).unwrap_or(&[]))
            .into_owned();
        let line = new
            .lines()
            .find(|line| line.contains("FATAL") || line.contains("ERROR"))
            .map(|line| line.trim().to_string());
        Err(line.unwrap_or_else(|| last_line(&output.stderr)))
    }

    fn is_running(&self) -> bool {
        self.pg_ctl(&["status"])
            .is_ok_and(|output| output.status.success())
    }

    /// The port of the running server, from its `postmaster.pid` (the fourth line).
    fn running_port(&self) -> Result<u16> {
        let pid_file = self.dir.join("postmaster.pid");
        fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.lines().nth(3)?.trim().parse().ok())
            .ok_or_else(|| {
                self.problem("a server runs on it, but its postmaster.pid names no port")
            })
    }

    fn stop(&self) -> Result<()> {
        let output = self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60", "-s"]);
        let output = Self::ran("pg_ctl stop", output)?;
        if output.status.success() || !self.is_running() {
            return Ok(());
        }
        Err(Error::Unavailable(format!(
            "demo's own PostgreSQL in {} did not stop: {}",
            self.dir.display(),
            last_line(&output.stderr)
        )))
    }

    fn pg_ctl(&self, args: &[&str]) -> std::io::Result<Output> {
        self.owner
            .command(self.programs.program("pg_ctl"))
            .args(args)
            .arg("-D")
            .arg(&self.dir)
            .output()
    }

    /// The output of a program that ran, or an error naming it.
    fn ran(what: &str, output: std::io::Result<Output>) -> Result<Output> {
        output.map_err(|e| Error::io(what.to_string(), e))
    }

    fn in_use(&self, port: u16) -> Error {
        self.problem(format!(
            "its PostgreSQL (port {port}) is in use by another domofeed demo; stop that one, or \
             pick another directory"
        ))
    }
}

/// `~/.local/share/domofeed/pg` (or under `XDG_DATA_HOME`; `~/Library/Application Support` on
/// macOS); `ROOT_DATA_DIR` for root, whose home the `postgres` user cannot enter.
fn default_dir(root: bool) -> Result<PathBuf> {
    if root {
        return Ok(ROOT_DATA_DIR.into());
    }
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let base = if let Some(data) = absolute("XDG_DATA_HOME") {
        data
    } else if let Some(home) = absolute("HOME") {
        if cfg!(target_os = "macos") {
            home.join("Library/Application Support")
        } else {
            home.join(".local/share")
        }
    } else {
        return Err(Error::Config(
            "DOMOFEED_DATA_DIR: not set, and there is no HOME to put demo's own database under"
                .into(),
        ));
    };
    Ok(base.join("domofeed").join("pg"))
}

/// A session on the cluster that holds `LOCK_KEY`, or `None` when another one does. (A runtime
/// query: it runs on the cluster's `postgres` database, which has none of our schema.)
async fn take_lock(port: u16) -> Result<Option<PgConnection>> {
    let options = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("postgres")
        .database("postgres")
        .application_name("domofeed demo");
    let unreachable = |e: &dyn std::fmt::Display| {
        Error::Unavailable(format!(
            "demo's own PostgreSQL on port {port} does not answer: {e}"
        ))
    };
    let mut conn = tokio::time::timeout(
        Duration::from_secs(10),
        PgConnection::connect_with(&options),
    )
    .await
    .map_err(|e| unreachable(&e))?
    .map_err(|e| unreachable(&e))?;
    let taken: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut conn)
        .await?;
    Ok(taken.then_some(conn))
}

/// Runs `work` (programs that take seconds) off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal("demo's own PostgreSQL", e))?
}

/// The last non-empty line a program wrote: its reason, for a one-line error.
fn last_line(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("no message")
        .to_string()
}
