//! `demo` on a PostgreSQL cluster of its own (`db::cluster`): made on first use, serving both
//! feeds, stopped when `demo` ends, and reused with its data by the next run; one line saying
//! what to install when there are no PostgreSQL programs.

use std::{
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use crate::binary::{Running, BIN};

/// `BIN ARGS` with nothing of the test's environment but `PATH` (no `DATABASE_URL`: the CI's
/// would otherwise be used), `dir` as its working directory (no `config/domofeed.toml`), and its
/// cluster in `dir/pg`.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DOMOFEED_DATA_DIR", dir.join("pg"))
        .env("DOMOFEED_SECRET_KEY_FILE", dir.join("secret.key"))
        .env("DOMOFEED_BIND", "127.0.0.1:0");
    command
}

/// A `demo --private-db` that has printed its feed URLs and serves them.
struct Demo {
    running: Running,
    /// The path of each printed feed URL (it names port 0: the server's port is `running`'s).
    feeds: Vec<String>,
    /// The cluster's port, from the line that says what `demo` did.
    pg_port: u16,
}

impl Demo {
    fn start(dir: &Path) -> Demo {
        let running = Running::start_within(
            command(dir, &["demo", "--private-db"]),
            None,
            Duration::from_secs(180),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while running.stdout().lines().count() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let feeds: Vec<String> = running
            .stdout()
            .lines()
            .map(|url| {
                let url = url::Url::parse(url).unwrap_or_else(|e| panic!("{url:?}: {e}"));
                url.path().to_string()
            })
            .collect();
        assert_eq!(
            feeds.len(),
            2,
            "stdout is the two feed URLs:\n{}",
            running.stdout()
        );
        let stderr = running.stderr();
        let said = format!("своя база PostgreSQL: {}, порт ", dir.join("pg").display());
        let line = stderr
            .lines()
            .find(|line| line.starts_with(&said))
            .unwrap_or_else(|| panic!("no line saying what demo did:\n{stderr}"));
        let pg_port = line[said.len()..]
            .split(' ')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        assert!(
            stderr.contains(&format!(
                "DATABASE_URL=postgres://postgres@127.0.0.1:{pg_port}/postgres"
            )),
            "the URL for the tests:\n{stderr}"
        );
        Demo {
            running,
            feeds,
            pg_port,
        }
    }

    /// Each feed's `meta.feed_id`, after checking it answers a whole document.
    async fn feed_ids(&self) -> Vec<i64> {
        let mut ids = Vec::new();
        for path in &self.feeds {
            let response = reqwest::get(format!("http://{}{path}", self.running.address))
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let body: serde_json::Value = response.json().await.unwrap();
            let count = body["meta"]["count"].as_u64().unwrap();
            assert!(count > 0);
            assert_eq!(body["data"].as_array().unwrap().len() as u64, count);
            ids.push(body["meta"]["feed_id"].as_i64().unwrap());
        }
        ids
    }

    /// SIGTERM; `demo` exits 0 and its cluster has stopped: no `postmaster.pid`, no process, the
    /// port refuses.
    fn stop(mut self, cluster: &Path) {
        let pid = postmaster(cluster).expect("the cluster runs while demo does");
        self.running.signal("TERM");
        let status = self.running.wait_for_exit(Duration::from_secs(90));
        let stderr = self.running.stderr();
        assert!(status.is_some_and(|s| s.success()), "{status:?}:\n{stderr}");
        assert_eq!(
            postmaster(cluster),
            None,
            "postmaster.pid is left:\n{stderr}"
        );
        assert!(!alive(pid), "the postmaster {pid} still runs");
        let address = SocketAddr::from(([127, 0, 0, 1], self.pg_port));
        assert!(
            TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err(),
            "port {} still answers",
            self.pg_port
        );
    }
}

/// The postmaster's pid, while `postmaster.pid` is there.
fn postmaster(cluster: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(cluster.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Whether `pid` runs (a zombie waiting for a reaper has ended).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.starts_with(" Z"))
    })
}

/// Stops a cluster a failed test left running (immediate shutdown), so it never outlives the test.
struct StopsCluster(PathBuf);

impl Drop for StopsCluster {
    fn drop(&mut self) {
        if let Some(pid) = postmaster(&self.0) {
            let _ = Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
        }
    }
}

/// A directory the cluster's owner can reach: as root that is the `postgres` user, and a
/// temporary directory is private to its maker.
fn reachable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn demo_brings_its_own_postgresql_stops_it_and_reuses_its_data() {
    let dir = reachable_tempdir();
    let cluster = dir.path().join("pg");
    let _cleanup = StopsCluster(cluster.clone());

    let first = Demo::start(dir.path());
    assert!(
        first.running.stderr().contains("(новая;"),
        "{}",
        first.running.stderr()
    );
    let ids = first.feed_ids().await;
    let feeds = first.feeds.clone();
    first.stop(&cluster);

    let second = Demo::start(dir.path());
    assert!(
        second.running.stderr().contains("(прежняя;"),
        "{}",
        second.running.stderr()
    );
    assert!(
        !second.running.stderr().contains("seeding"),
        "the data stayed:\n{}",
        second.running.stderr()
    );
    assert_eq!(second.feeds, feeds, "the same feed links are printed again");
    assert_eq!(second.feed_ids().await, ids);
    second.stop(&cluster);
}

#[test]
fn without_postgresql_programs_demo_says_what_to_install() {
    let dir = reachable_tempdir();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = command(dir.path(), &["demo", "--private-db"])
        .env("DOMOFEED_PG_BINDIR", &empty)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for said in [
        "apt-get install postgresql",
        "dnf install postgresql-server",
        "brew install postgresql",
        "DATABASE_URL",
    ] {
        assert!(stderr.contains(said), "{said:?} in {stderr}");
    }
    assert!(!dir.path().join("pg").exists(), "nothing was made");
}

#[test]
fn with_database_url_demo_uses_that_database_only() {
    let dir = reachable_tempdir();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    // Nothing listens on port 1: the error is about that database, not about a cluster.
    let output = command(dir.path(), &["demo"])
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/domofeed")
        .env("DOMOFEED_PG_BINDIR", &empty)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("DATABASE_URL: cannot reach PostgreSQL"),
        "{stderr}"
    );
    assert!(!stderr.contains("своя база"), "{stderr}");
    assert!(!dir.path().join("pg").exists());
}
