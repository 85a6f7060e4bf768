//! Where the keys come from: the configured `jwt-secret`, a PEM public key file
//! (`jwt-public-key`), or, with neither, a secret generated in the data directory on first start
//! (`jwt.secret`, mode 0600) and read from there afterwards, so the server and
//! `pulseboard token` (same config, same data directory) agree without any setup.
//!
//! Everything here reads files: call it off the async runtime (`spawn_blocking`).

use super::{issuer::Issuer, settings::AuthSettings, verifier::Verifier};
use crate::private_file::write_private;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use std::{
    io,
    path::{Path, PathBuf},
};

/// The generated secret's file name in the data directory.
pub const SECRET_FILE: &str = "jwt.secret";

/// Where the verifying key came from (for the startup log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    ConfiguredSecret,
    GeneratedSecret(PathBuf),
    PublicKey(PathBuf),
}

pub struct Keys {
    pub verifier: Verifier,
    /// Only with a secret: a public key cannot sign.
    pub issuer: Option<Issuer>,
    pub origin: KeyOrigin,
}

/// Loads (or, for the generated secret, creates) the keys `settings` name. `settings` passed
/// [`AuthSettings::validate`].
pub fn load(settings: &AuthSettings, data_dir: &Path) -> io::Result<Keys> {
    let algorithm = settings.algorithm().map_err(io::Error::other)?;
    let audience = Some(settings.jwt_audience.trim()).filter(|s| !s.is_empty());
    let issuer = Some(settings.jwt_issuer.trim()).filter(|s| !s.is_empty());
    let verifier = |key| Verifier::new(key, algorithm, audience, issuer, settings.jwt_leeway_secs);
    if let Some(path) = settings.public_key_path() {
        let pem = std::fs::read(&path)
            .map_err(|err| io::Error::other(format!("cannot read jwt-public-key {}: {err}", path.display())))?;
        let key = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(&pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(&pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(&pem),
            // Refused by `validate` already; said again rather than assumed.
            AlgorithmFamily::Hmac => {
                return Err(io::Error::other("jwt-public-key needs an RS/PS/ES/EdDSA jwt-algorithm"));
            }
        }
        .map_err(|err| {
            io::Error::other(format!("jwt-public-key {} is not a {algorithm:?} PEM public key: {err}", path.display()))
        })?;
        return Ok(Keys { verifier: verifier(key), issuer: None, origin: KeyOrigin::PublicKey(path) });
    }
    let (secret, origin) = match settings.secret() {
        Some(secret) => (secret.as_bytes().to_vec(), KeyOrigin::ConfiguredSecret),
        None => {
            let path = data_dir.join(SECRET_FILE);
            (load_or_create_secret(&path)?, KeyOrigin::GeneratedSecret(path))
        }
    };
    Ok(Keys {
        verifier: verifier(DecodingKey::from_secret(&secret)),
        issuer: Some(Issuer::new(EncodingKey::from_secret(&secret), algorithm, audience, issuer)),
        origin,
    })
}

/// 32 random bytes, hex: 64 ASCII characters, used as they are as the HMAC key.
fn load_or_create_secret(path: &Path) -> io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => check_secret(path, bytes),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let secret = hex::encode(rand::random::<[u8; 32]>());
            match write_private(path, secret.as_bytes()) {
                Ok(()) => Ok(secret.into_bytes()),
                // Another process (the server, `pulseboard token`) made it meanwhile: use theirs.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => check_secret(path, std::fs::read(path)?),
                Err(err) => Err(io::Error::other(format!("cannot create {}: {err}", path.display()))),
            }
        }
        Err(err) => Err(io::Error::other(format!("cannot read {}: {err}", path.display()))),
    }
}

fn check_secret(path: &Path, bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    let trimmed = bytes.trim_ascii().to_vec();
    if trimmed.len() < super::settings::MIN_SECRET_LEN {
        return Err(io::Error::other(format!(
            "{} is too short to be a token secret; delete it to make a new one",
            path.display()
        )));
    }
    Ok(trimmed)
}

/// The algorithm names the CLI and log use.
pub fn describe(algorithm: Algorithm, origin: &KeyOrigin) -> String {
    match origin {
        KeyOrigin::ConfiguredSecret => format!("{algorithm:?} with the configured jwt-secret"),
        KeyOrigin::GeneratedSecret(path) => format!("{algorithm:?} with the secret generated in {}", path.display()),
        KeyOrigin::PublicKey(path) => format!("{algorithm:?} with the public key {}", path.display()),
    }
}
