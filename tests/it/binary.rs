//! The real binary as a child process: started on a port the OS picks (`DOMOFEED_BIND` ends in
//! `:0`), found by the "listening on ADDRESS" line the server logs once its socket is bound, so no
//! test races another for a port. Everything it writes to stderr is kept for the test to read
//! (and copied to a file when one is given).

use std::{
    io::{BufRead, BufReader, Write},
    net::SocketAddr,
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::{mpsc, Arc, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use sqlx::PgPool;

use crate::common::test_database_url;

pub const BIN: &str = env!("CARGO_BIN_EXE_domofeed");

/// `domofeed serve` against the test's database, with `env` on top (`RUST_LOG` and the log
/// format are the defaults unless `env` sets them); stderr copied to `log` when given.
pub fn serve(pool: &PgPool, env: &[(&str, &str)], log: Option<std::fs::File>) -> Running {
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .env("DATABASE_URL", test_database_url(pool))
        .env("DOMOFEED_BIND", "127.0.0.1:0")
        .env_remove("DOMOFEED_LOG_FORMAT")
        .env_remove("RUST_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    Running::start(command, log)
}

/// A child that serves; killed however the test ends (it holds the test's database open).
pub struct Running {
    child: Child,
    pub address: SocketAddr,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Starts `command` and waits (at most 60 s) until it logs where it listens.
    pub fn start(command: Command, log: Option<std::fs::File>) -> Running {
        Running::start_within(command, log, Duration::from_secs(60))
    }

    /// As `start`, waiting at most `limit` (a `demo` that makes its own PostgreSQL first).
    pub fn start_within(
        mut command: Command,
        log: Option<std::fs::File>,
        limit: Duration,
    ) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (found, address) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        let err_reader = {
            let pipe = child.stderr.take().expect("piped stderr");
            let text = stderr.clone();
            let mut log = log;
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if let Some(address) = listening_address(&line) {
                        let _ = found.send(address);
                    }
                    if let Some(file) = log.as_mut() {
                        let _ = writeln!(file, "{line}");
                    }
                    let mut text = text.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            })
        };
        let out_reader = {
            let pipe = child.stdout.take().expect("piped stdout");
            let text = stdout.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let mut text = text.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            })
        };
        let Ok(address) = address.recv_timeout(limit) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server never said where it listens:\n{}",
                stderr.lock().unwrap()
            );
        };
        Running {
            child,
            address,
            stdout,
            stderr,
            readers: vec![err_reader, out_reader],
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process has written to stdout and stderr so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Resident memory now, KiB.
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS:")
    }

    /// Sends a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to end by itself, at most `limit`; `None` if it did not.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.join_readers();
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills the process and returns everything it wrote.
    pub fn stop(mut self) -> Output {
        let _ = self.child.kill();
        let status = self.child.wait().unwrap();
        self.join_readers();
        Output {
            status,
            stdout: self.stdout().into_bytes(),
            stderr: self.stderr().into_bytes(),
        }
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ADDRESS` of a log line that says `listening on ADDRESS` (text or JSON format).
fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on ")?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A `kB` line of `/proc/PID/status` (`VmRSS:`, `VmHWM:`).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}
