use std::{fmt, io::Write, path::Path};

use aes_gcm::{
    aead::{Aead, KeyInit},
    Aes256Gcm, Nonce,
};
use rand::{distributions::Alphanumeric, rngs::OsRng, Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Error, Result};

/// Length of a token: 64 characters of `[A-Za-z0-9]`, about 381 bits.
pub const TOKEN_LEN: usize = 64;
const NONCE_LEN: usize = 12;

/// A secret random token: the secret part of a feed URL (and of a settings-page session cookie).
/// `Debug` never shows it; `expose` does, for the places that hand it to its owner.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A fresh token from the operating system's CSPRNG.
    pub fn generate() -> Token {
        Token(
            OsRng
                .sample_iter(&Alphanumeric)
                .take(TOKEN_LEN)
                .map(char::from)
                .collect(),
        )
    }

    /// Accepts text that has the shape of a token; anything else cannot match a feed.
    pub fn parse(text: &str) -> Option<Token> {
        (text.len() == TOKEN_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Token(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    /// Compares the token's digest with a stored one in constant time.
    pub fn matches(&self, stored_sha256: &[u8]) -> bool {
        bool::from(self.sha256().as_slice().ct_eq(stored_sha256))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The server's AES-256-GCM key, used to keep a sealed copy of each token so that an admin can see
/// a link again. It lives outside the database: losing it loses only the "show link" button.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn from_hex(text: &str) -> Option<SecretKey> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut key).ok()?;
        Some(SecretKey(key))
    }

    pub fn generate() -> SecretKey {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        SecretKey(key)
    }

    /// Reads the key file, or creates it (mode 0600) with a warning when it does not exist. A
    /// file that other users may read or write is used, with a warning.
    pub fn load_or_create(path: &Path) -> Result<SecretKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                warn_if_others_may_access(path);
                SecretKey::from_hex(&text).ok_or_else(|| {
                    Error::Config(format!(
                        "DOMOFEED_SECRET_KEY_FILE: {} must hold 64 hexadecimal digits (32 bytes)",
                        path.display()
                    ))
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                write_new_key(path, &key)?;
                tracing::warn!(
                    path = %path.display(),
                    "created a new secret key; keep it (and back it up): without it the settings page cannot show existing feed links again"
                );
                Ok(key)
            }
            Err(e) => Err(Error::io(
                format!("DOMOFEED_SECRET_KEY_FILE: cannot read {}", path.display()),
                e,
            )),
        }
    }

    /// `nonce || ciphertext` of the token.
    pub fn seal(&self, token: &Token) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new((&self.0).into());
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), token.0.as_bytes())
            .expect("AES-GCM encryption of a 64-byte message cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    /// The token back from `seal`'s output, or `None` when it was sealed with another key.
    pub fn open(&self, sealed: &[u8]) -> Option<Token> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new((&self.0).into());
        let plain = cipher.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
        Token::parse(std::str::from_utf8(&plain).ok()?)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// The key opens every feed link: a file that the group or others may read (or replace) is
/// worth a warning at start. (It is still used: refusing would stop the feeds.)
#[cfg(unix)]
fn warn_if_others_may_access(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:04o}"),
            "the secret key file may be read or written by other users: chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_others_may_access(_path: &Path) {}

fn write_new_key(path: &Path, key: &SecretKey) -> Result<()> {
    let context = || format!("DOMOFEED_SECRET_KEY_FILE: cannot create {}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(context(), e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| Error::io(context(), e))?;
    writeln!(file, "{}", hex::encode(key.0)).map_err(|e| Error::io(context(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_alphanumerics_and_differ() {
        let (a, b) = (Token::generate(), Token::generate());
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Token(***)");
    }

    #[test]
    fn seal_opens_with_the_same_key_only() {
        let token = Token::generate();
        let key = SecretKey::generate();
        let sealed = key.seal(&token);
        assert!(!sealed
            .windows(8)
            .any(|w| token.expose().as_bytes().windows(8).any(|t| t == w)));
        assert_eq!(key.open(&sealed), Some(token.clone()));
        assert_eq!(SecretKey::generate().open(&sealed), None);
        assert_eq!(key.open(&sealed[..5]), None);
    }

    #[test]
    fn digest_comparison() {
        let token = Token::generate();
        assert!(token.matches(&token.sha256()));
        assert!(!token.matches(&Token::generate().sha256()));
        assert!(!token.matches(&[0u8; 3]));
    }

    #[test]
    fn parse_rejects_wrong_shapes() {
        assert!(Token::parse(&"a".repeat(63)).is_none());
        assert!(Token::parse(&"a".repeat(65)).is_none());
        assert!(Token::parse(&format!("{}-", "a".repeat(63))).is_none());
        assert!(Token::parse(&"Ab1".repeat(21).chars().chain(['z']).collect::<String>()).is_some());
    }
}
