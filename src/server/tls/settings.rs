//! The TLS settings (`tls-cert`, `tls-key`), part of the server's settings.
//!
//! Both are PEM file paths; both set turns TLS on for `site-addr`, neither keeps plain HTTP, one
//! alone is refused. An empty value (the default in Leptos.toml) is unset: TOML has no null, and
//! every key must serialise for the configuration to know it (`config::known_keys`). Whether the
//! files can be read and parsed is checked as the server starts ([`super::load_server_config`]),
//! where file work runs off the async runtime.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsSettings {
    /// PEM file with the certificate chain, leaf first.
    #[serde(rename = "tls-cert", with = "optional_path")]
    pub cert: Option<PathBuf>,
    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(rename = "tls-key", with = "optional_path")]
    pub key: Option<PathBuf>,
}

impl TlsSettings {
    /// The certificate and key files when TLS is on.
    pub fn files(&self) -> Option<(&PathBuf, &PathBuf)> {
        self.cert.as_ref().zip(self.key.as_ref())
    }

    /// One message per problem, naming the keys.
    pub fn validate(&self) -> Vec<String> {
        let (set, missing, variable, path) = match (&self.cert, &self.key) {
            (Some(cert), None) => ("tls-cert", "tls-key", "PULSEBOARD_TLS_KEY", cert),
            (None, Some(key)) => ("tls-key", "tls-cert", "PULSEBOARD_TLS_CERT", key),
            _ => return Vec::new(),
        };
        vec![format!(
            "key `pulseboard.{set}` is set ({}) but `pulseboard.{missing}` is not: TLS needs both \
             (set {missing} or {variable}), plain HTTP neither",
            path.display()
        )]
    }
}

mod optional_path {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::path::PathBuf;

    pub fn serialize<S: Serializer>(path: &Option<PathBuf>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&path.as_ref().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<PathBuf>, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok((!text.trim().is_empty()).then(|| PathBuf::from(text)))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use crate::config::load;
    use figment::Jail;
    use std::path::Path;

    #[test]
    fn tls_is_off_by_default_and_needs_both_files() {
        Jail::expect_with(|jail| {
            let server = load(None).unwrap().pulseboard.server;
            assert!(!server.tls_enabled());
            assert_eq!(server.tls.files(), None);
            jail.set_env("PULSEBOARD_TLS_CERT", "/etc/pb/cert.pem");
            let message = load(None).unwrap_err().to_string();
            assert!(
                message.contains("`pulseboard.tls-key` is not") && message.contains("/etc/pb/cert.pem"),
                "{message}"
            );
            jail.set_env("PULSEBOARD_TLS_KEY", "/etc/pb/key.pem");
            let server = load(None).unwrap().pulseboard.server;
            assert!(server.tls_enabled());
            assert_eq!(server.tls.key.as_deref(), Some(Path::new("/etc/pb/key.pem")));
            jail.set_env("PULSEBOARD_TLS_CERT", "");
            let message = load(None).unwrap_err().to_string();
            assert!(
                message.contains("`pulseboard.tls-cert` is not") && message.contains("/etc/pb/key.pem"),
                "{message}"
            );
            // From a file, as documented in Leptos.toml.
            jail.clear_env();
            jail.create_file("tls.toml", "[pulseboard]\ntls-cert = \"c.pem\"\ntls-key = \"k.pem\"\n")?;
            let server = load(Some(Path::new("tls.toml"))).unwrap().pulseboard.server;
            assert_eq!(
                server.tls.files().map(|(c, k)| (c.as_path(), k.as_path())),
                Some((Path::new("c.pem"), Path::new("k.pem")))
            );
            Ok(())
        });
    }
}
