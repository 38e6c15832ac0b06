//! The PostgreSQL programs a private cluster is made and run with, found where the packages of
//! the usual systems put them (none of them puts `initdb` on the `PATH` on Debian or Ubuntu).

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use crate::{Error, Result};

/// What a cluster needs; every package installs them side by side.
const NEEDED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// What to do when there are none: the package of each family of systems, or a server of one's own.
const INSTALL: &str = "install the PostgreSQL server package (Debian/Ubuntu: sudo apt-get install \
     postgresql; Fedora: sudo dnf install postgresql-server; macOS: brew install postgresql@17), \
     or set DATABASE_URL to a PostgreSQL you can use";

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug, Clone)]
pub struct Programs {
    bindir: PathBuf,
}

impl Programs {
    /// `given` (`DOMOFEED_PG_BINDIR`) alone when set; else `pg_config --bindir`, the `PATH`, and
    /// the directories of the Debian/Ubuntu, Fedora (and PGDG), Homebrew and Postgres.app
    /// packages, newest version first. `major` is the version of an existing cluster, which only
    /// that version's server can run.
    pub fn find(given: Option<&Path>, major: Option<&str>) -> Result<Programs> {
        let candidates = match given {
            Some(dir) => vec![dir.to_path_buf()],
            None => searched(),
        };
        let mut complete: Vec<PathBuf> = Vec::new();
        for dir in candidates {
            if !complete.contains(&dir) && NEEDED.iter().all(|name| executable(&dir.join(name))) {
                complete.push(dir);
            }
        }
        let Some(first) = complete.first() else {
            return Err(Error::Unavailable(match given {
                Some(dir) => format!(
                    "DOMOFEED_PG_BINDIR: no PostgreSQL programs ({}) in {}: {INSTALL}",
                    NEEDED.join(", "),
                    dir.display()
                ),
                None => format!(
                    "no PostgreSQL programs ({}) for demo's own database: {INSTALL}",
                    NEEDED.join(", ")
                ),
            }));
        };
        let Some(major) = major else {
            return Ok(Programs {
                bindir: first.clone(),
            });
        };
        if let Some(dir) = complete
            .iter()
            .find(|dir| version(dir).as_deref() == Some(major))
        {
            return Ok(Programs {
                bindir: dir.clone(),
            });
        }
        Err(Error::Unavailable(format!(
            "DOMOFEED_DATA_DIR holds a PostgreSQL {major} cluster, and the PostgreSQL programs \
             found are of another version ({} in {}): install PostgreSQL {major}'s server, point \
             DOMOFEED_PG_BINDIR at its programs, or DOMOFEED_DATA_DIR at another directory",
            version(first).unwrap_or_else(|| "unknown".into()),
            first.display()
        )))
    }

    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

/// Where the packages put the programs, in the order they are tried.
fn searched() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let text = String::from_utf8_lossy(&output.stdout);
        if output.status.success() && !text.trim().is_empty() {
            dirs.push(PathBuf::from(text.trim()));
        }
    }
    if let Some(path) = env::var_os("PATH") {
        dirs.extend(env::split_paths(&path));
    }
    // Debian and Ubuntu: /usr/lib/postgresql/16/bin.
    dirs.extend(versioned("/usr/lib/postgresql", ""));
    // Fedora's own package puts them in /usr/bin (on the PATH); the PGDG packages in /usr/pgsql-16/bin.
    dirs.push("/usr/bin".into());
    dirs.extend(versioned("/usr", "pgsql-"));
    // Homebrew (Apple silicon, then Intel): /opt/homebrew/opt/postgresql@16/bin.
    dirs.extend(versioned("/opt/homebrew/opt", "postgresql"));
    dirs.extend(versioned("/usr/local/opt", "postgresql"));
    dirs.push("/Applications/Postgres.app/Contents/Versions/latest/bin".into());
    dirs
}

/// `PARENT/PREFIX<version>/bin` for each version there, newest first.
fn versioned(parent: &str, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let rest = name.strip_prefix(prefix)?.trim_start_matches('@');
            let number = rest
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()
                .unwrap_or_default();
            (rest.is_empty() || !number.is_empty())
                .then(|| (number, Path::new(parent).join(&name).join("bin")))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

fn executable(path: &Path) -> bool {
    #[cfg(unix)]
    let runnable = |m: &std::fs::Metadata| {
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
    };
    #[cfg(not(unix))]
    let runnable = |_: &std::fs::Metadata| true;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && runnable(&m))
}

/// The major version of the programs in `dir`: `15` of "pg_ctl (PostgreSQL) 15.6 (Debian …)".
fn version(dir: &Path) -> Option<String> {
    let output = Command::new(dir.join("pg_ctl"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let (_, rest) = text.split_once("(PostgreSQL) ")?;
    let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!major.is_empty()).then_some(major)
}
