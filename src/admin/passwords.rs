//! argon2id password hashes, and a bound on the work of checking them.
//!
//! One check costs tens of milliseconds of CPU and 19 MiB of memory by design. Unbounded, 200
//! parallel login posts (no account needed) took the server from 14 MB to 5 GB, and glibc kept
//! it: each blocking thread's arena held on to its 19 MiB. So at most
//! `DOMOFEED_MAX_PASSWORD_CHECKS` checks run at once (the number of cores: more would only
//! queue for the CPU); one more is refused at once (`Error::Busy`, a `503` with `Retry-After`),
//! and each running check uses one of as many memory buffers, allocated once and kept. The
//! memory for checks is then fixed: that many times 19 MiB, whatever the load.

use std::sync::{Arc, Mutex};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Error, Result};

/// What an unknown login's password is checked against: a hash with the default parameters of
/// a password nobody knows (and the answer is no whatever it says), made once, off-line.
const NO_ADMIN: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$00YeO3phD/FANe+FQLHLGg$4puQfKHrPnYdfWqWJB7XrY1Ke0I0pp8Q9xjWldlEPeA";

/// The slots for password checks, each with its memory.
#[derive(Clone)]
pub struct PasswordChecks {
    slots: Arc<Semaphore>,
    /// Memory left by finished checks, for the next ones; never more buffers than slots.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl PasswordChecks {
    pub fn new(max_at_once: u32) -> PasswordChecks {
        PasswordChecks {
            slots: Arc::new(Semaphore::new(max_at_once.max(1) as usize)),
            memory: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A slot for one check now, or `Error::Busy` when all are taken (never waits).
    pub fn slot(&self) -> Result<CheckSlot> {
        let permit = self.slots.clone().try_acquire_owned().map_err(|_| {
            crate::metrics::password_check_refused();
            Error::Busy
        })?;
        Ok(CheckSlot {
            _permit: permit,
            memory: self.memory.clone(),
        })
    }
}

/// The right to check one password.
pub struct CheckSlot {
    _permit: OwnedSemaphorePermit,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl CheckSlot {
    /// Whether `password` matches `stored`. With nothing stored, a hash of the same parameters
    /// is checked anyway and the answer is no, so that an unknown login costs one check, as a
    /// known one does.
    pub async fn verify(self, password: String, stored: Option<String>) -> Result<bool> {
        tokio::task::spawn_blocking(move || {
            let known = stored.is_some();
            let stored = stored.as_deref().unwrap_or(NO_ADMIN);
            let mut memory = self.take_memory();
            let matches = matches(&mut memory, password.as_bytes(), stored);
            self.give_back(memory);
            known && matches
        })
        .await
        .map_err(|e| Error::internal("checking a password", e))
    }

    fn take_memory(&self) -> Vec<Block> {
        self.memory
            .lock()
            .map(|mut buffers| buffers.pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn give_back(&self, memory: Vec<Block>) {
        if let Ok(mut buffers) = self.memory.lock() {
            buffers.push(memory);
        }
    }
}

/// argon2 of `password` with the parameters and salt of the PHC string `stored`, computed in
/// `memory` (grown to what the parameters need), compared in constant time.
fn matches(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        &mut computed,
        &mut memory[..blocks],
    );
    // `Output`'s equality is constant-time.
    hashed.is_ok()
        && argon2::password_hash::Output::new(&computed).is_ok_and(|computed| computed == expected)
}

/// Hashes a new password (adding an admin: the command line, not the server). Tens of
/// milliseconds of CPU by design: it runs off the async threads.
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| Error::internal("hashing a password", e))?
}

fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::internal("hashing a password", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_matches_and_memory_is_reused() {
        let checks = PasswordChecks::new(1);
        let stored = hash("correct horse".into()).await.unwrap();
        let slot = checks.slot().unwrap();
        assert!(
            matches!(checks.slot(), Err(Error::Busy)),
            "one check at a time"
        );
        assert!(slot
            .verify("correct horse".into(), Some(stored.clone()))
            .await
            .unwrap());
        let slot = checks.slot().unwrap();
        assert!(!slot
            .verify("wrong horse".into(), Some(stored.clone()))
            .await
            .unwrap());
        let slot = checks.slot().unwrap();
        assert!(!slot.verify("correct horse".into(), None).await.unwrap());
        // The unknown login's hash has the parameters of a new one: the same work.
        assert_eq!(
            PasswordHash::new(NO_ADMIN).unwrap().params,
            PasswordHash::new(&stored).unwrap().params
        );
        let slot = checks.slot().unwrap();
        assert!(!slot
            .verify("x".into(), Some("not a hash".into()))
            .await
            .unwrap());
        let buffers = checks.memory.lock().unwrap();
        assert_eq!(buffers.len(), 1, "one buffer for one slot");
        assert_eq!(buffers[0].len(), Params::DEFAULT_M_COST as usize);
    }
}
