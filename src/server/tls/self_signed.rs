//! `pulseboard cert --self-signed DIR`: a certificate for local use, made by rcgen, valid for
//! `localhost`, `127.0.0.1` and `::1`. Browsers and clients must be told to trust it
//! (`curl -k`, or `--cacert DIR/cert.pem`, since the certificate signs itself).
//!
//! Existing files are never overwritten (a real key could be lost); the key file is created
//! with mode 0600 on Unix, before any key byte is written to it.

use std::{
    fs::OpenOptions,
    io::{self, Write},
    path::{Path, PathBuf},
};

/// Where the pair went.
#[derive(Debug)]
pub struct Written {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Generates a self-signed certificate and its key into `DIR/cert.pem` and `DIR/key.pem`
/// (creating `DIR` if needed).
pub fn write_self_signed(dir: &Path) -> io::Result<Written> {
    let names = ["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|err| io::Error::other(format!("cannot generate a certificate: {err}")))?;
    std::fs::create_dir_all(dir)
        .map_err(|err| io::Error::new(err.kind(), format!("cannot create {}: {err}", dir.display())))?;
    let written = Written { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    for path in [&written.cert, &written.key] {
        if path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists; move it away (or choose another directory) first", path.display()),
            ));
        }
    }
    create(&written.key, 0o600, generated.signing_key.serialize_pem().as_bytes())?;
    create(&written.cert, 0o644, generated.cert.pem().as_bytes())?;
    Ok(written)
}

fn create(path: &Path, mode: u32, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let fail = |err: io::Error| io::Error::new(err.kind(), format!("cannot write {}: {err}", path.display()));
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents).and_then(|()| file.sync_all()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pair_once_with_a_private_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_self_signed(&dir.path().join("certs")).unwrap();
        let cert = std::fs::read_to_string(&written.cert).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(std::fs::read_to_string(&written.key).unwrap().contains("PRIVATE KEY-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&written.key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{mode:o}");
        }
        let again = write_self_signed(&dir.path().join("certs")).unwrap_err().to_string();
        assert!(again.contains("already exists"), "{again}");
        assert_eq!(std::fs::read_to_string(&written.cert).unwrap(), cert, "left as it was");
    }
}
