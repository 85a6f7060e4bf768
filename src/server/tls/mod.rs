//! HTTPS for `site-addr`: the rustls configuration made from the `tls-cert` and `tls-key` files,
//! the TLS side of accepting a connection, and self-signed certificates for local use.
//!
//! rustls (with the ring provider) does the TLS, tokio-rustls puts it on tokio's sockets, hyper
//! (through hyper-util) speaks HTTP/2. ALPN offers `h2` and `http/1.1`: an `h2` connection is
//! served by hyper's HTTP/2 server with the same router, any other goes through the same routing
//! as plain HTTP (the direct path for a first event-stream request, hyper for the rest), only over
//! the TLS stream. We accept and route connections ourselves rather than take axum-server's TLS
//! acceptor: axum-server hands each connection straight to hyper, and the direct stream path
//! (about 2.7 KiB per idle stream instead of hyper's 18 KiB) needs to read the first request head
//! before anyone else does.
//!
//! Invariants: the files are read and checked once, at startup and off the async runtime; an
//! error names the file and says what is wrong with it. A certificate and a key that do not
//! belong together are refused then too, not at the first handshake.

mod accept;
pub mod self_signed;
mod settings;

pub use accept::{TlsTransport, HANDSHAKE_TIMEOUT};
pub use settings::TlsSettings;

use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    ServerConfig,
};
use std::{io, path::Path, sync::Arc};

/// ALPN protocols offered, most preferred first.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Reads and checks the certificate chain and key files and makes the server's TLS configuration.
/// Blocking (file reads): call it from `spawn_blocking`.
pub fn load_server_config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let bad =
        |path: &Path, what: String| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", path.display()));
    let read = |path: &Path, setting: &str| {
        std::fs::read(path).map_err(|err| {
            io::Error::new(err.kind(), format!("cannot read the {setting} file {}: {err}", path.display()))
        })
    };
    let cert_pem = read(cert, "tls-cert")?;
    let key_pem = read(key, "tls-key")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| bad(cert, format!("not a PEM certificate file (tls-cert): {err}")))?;
    if chain.is_empty() {
        return Err(bad(cert, "no `BEGIN CERTIFICATE` block found (tls-cert wants a PEM certificate chain)".into()));
    }
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|err| bad(key, format!("no PEM private key found (tls-key wants PKCS#8, PKCS#1 or SEC1): {err}")))?;
    server_config(chain, private_key).map_err(|err| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the key {} does not fit the certificate {}: {err}", key.display(), cert.display()),
        )
    })
}

/// The configuration for one certificate chain and key: ring's safe defaults (TLS 1.2 and 1.3),
/// no client certificates, ALPN `h2` then `http/1.1`.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let written = self_signed::write_self_signed(dir).unwrap();
        (written.cert, written.key)
    }

    #[test]
    fn a_generated_pair_loads_and_offers_h2_first() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write_pair(dir.path());
        let config = load_server_config(&cert, &key).unwrap();
        assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[test]
    fn each_bad_file_is_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write_pair(dir.path());
        let missing = dir.path().join("nope.pem");
        let message = load_server_config(&missing, &key).unwrap_err().to_string();
        assert!(message.contains("tls-cert") && message.contains("nope.pem"), "{message}");
        let message = load_server_config(&cert, &missing).unwrap_err().to_string();
        assert!(message.contains("tls-key") && message.contains("nope.pem"), "{message}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "hello\n").unwrap();
        let message = load_server_config(&garbage, &key).unwrap_err().to_string();
        assert!(message.contains("garbage.pem") && message.contains("BEGIN CERTIFICATE"), "{message}");
        let message = load_server_config(&cert, &garbage).unwrap_err().to_string();
        assert!(message.contains("garbage.pem") && message.contains("private key"), "{message}");
        // The key where the certificate belongs and the other way round.
        let message = load_server_config(&key, &cert).unwrap_err().to_string();
        assert!(message.contains("key.pem") || message.contains("cert.pem"), "{message}");

        // A key of another certificate.
        let other = tempfile::tempdir().unwrap();
        let (_, other_key) = write_pair(other.path());
        let message = load_server_config(&cert, &other_key).unwrap_err().to_string();
        assert!(message.contains("does not fit") && message.contains("cert.pem"), "{message}");
    }
}
