//! Who the cluster's programs run as: the user who runs `demo`, or, when that is root (which
//! `initdb` and `postgres` refuse), the `postgres` system user the server packages create.

use std::{
    ffi::OsStr,
    path::Path,
    process::{Command, Stdio},
};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub enum Owner {
    /// This process's user.
    Me,
    /// The `postgres` system user, for a `demo` run as root.
    Postgres { uid: u32, gid: u32 },
}

impl Owner {
    /// The `postgres` system user, for a `demo` run as root.
    pub fn postgres() -> Result<Owner> {
        match (id(&["-u", "postgres"]), id(&["-g", "postgres"])) {
            (Some(uid), Some(gid)) => Ok(Owner::Postgres { uid, gid }),
            _ => Err(Error::Unavailable(
                "demo runs as root, which PostgreSQL refuses, and there is no postgres system user \
                 to run its own database as: run demo as a regular user, or set DATABASE_URL"
                    .into(),
            )),
        }
    }

    /// `program` to be run as this owner: no input, English messages (they are read back), and
    /// none of the libpq variables that would point it elsewhere.
    pub fn command(self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir("/")
            .stdin(Stdio::null())
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST");
        #[cfg(unix)]
        if let Owner::Postgres { uid, gid } = self {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Makes `path` (which this process made) the owner's.
    pub fn take(self, path: &Path) -> std::io::Result<()> {
        #[cfg(unix)]
        if let Owner::Postgres { uid, gid } = self {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
        }
        Ok(())
    }
}

/// Root's cluster runs as `Owner::postgres`.
pub fn running_as_root() -> bool {
    id(&["-u"]) == Some(0)
}

/// A number `id ARGS` prints (`id` asks the system's user database, as everything else does).
fn id(args: &[&str]) -> Option<u32> {
    let output = Command::new("id").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}
