//! TLS to PostgreSQL as libpq's `sslmode` means it, so a `DATABASE_URL` that works with `psql`
//! works here and protects the same way: `disable`; `allow` and `prefer` (the default: TLS
//! when the server offers it); `require` (TLS, certificate not checked); `verify-ca` (the
//! certificate chains to `sslrootcert`, or the system's roots); `verify-full` (and names the
//! host). The driver knows only the first three modes, so these settings are taken out of the
//! URL before it parses the rest.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::StoreError;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(StoreError::BadPostgresUrl(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )))
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// What the driver is told: whether TLS is tried, and whether it is required.
    pub fn driver_mode(self) -> postgres::config::SslMode {
        match self {
            Self::Disable => postgres::config::SslMode::Disable,
            Self::Allow | Self::Prefer => postgres::config::SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => postgres::config::SslMode::Require,
        }
    }
}

/// The TLS settings of a `DATABASE_URL`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// `sslrootcert`: the CA certificates to check the server's against (PEM); the system's
    /// roots when unset or `system`.
    pub root_cert: Option<PathBuf>,
}

impl TlsSettings {
    /// How a connection is protected, in words (`check` prints it).
    pub fn describe(&self, encrypted: bool) -> String {
        let mode = self.mode.name();
        match (encrypted, self.mode) {
            (false, _) => format!("not encrypted (sslmode={mode})"),
            (true, SslMode::VerifyFull) => format!("TLS, certificate and host name verified (sslmode={mode})"),
            (true, SslMode::VerifyCa) => format!("TLS, certificate verified but not the host name (sslmode={mode}); verify-full checks both"),
            (true, _) => format!("TLS, certificate not verified (sslmode={mode}); verify-full checks it"),
        }
    }
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query: the URL the driver can parse, and
/// the TLS settings. Client certificates (`sslcert`, `sslkey`) are refused by name.
pub fn split_url(url: &str) -> Result<(String, TlsSettings), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), TlsSettings::default()));
    };
    let mut settings = TlsSettings::default();
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "sslmode" => settings.mode = SslMode::parse(&value)?,
            "sslrootcert" if value == "system" => settings.root_cert = None,
            "sslrootcert" => settings.root_cert = Some(PathBuf::from(value.as_ref())),
            "sslcert" | "sslkey" | "sslpassword" => {
                return Err(StoreError::BadPostgresUrl(format!(
                    "{key}: client certificates are not supported; authenticate with a password"
                )))
            }
            _ => {
                rest.append_pair(&key, &value);
            }
        }
    }
    let rest = rest.finish();
    Ok((
        if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{rest}")
        },
        settings,
    ))
}

/// The TLS connector for these settings.
pub fn connector(settings: &TlsSettings) -> Result<MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Tls(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = match settings.mode {
        SslMode::Disable | SslMode::Allow | SslMode::Prefer | SslMode::Require => {
            Arc::new(EncryptOnly(provider))
        }
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = Arc::new(roots(settings)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| StoreError::Tls(e.to_string()))?;
            if settings.mode == SslMode::VerifyCa {
                Arc::new(AnyName(webpki))
            } else {
                webpki
            }
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn roots(settings: &TlsSettings) -> Result<rustls::RootCertStore, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match &settings.root_cert {
        Some(path) => {
            let unreadable = |why: String| {
                StoreError::Tls(format!(
                    "sslrootcert {}: {why}; give a PEM file of the CA certificates that signed the server's",
                    path.display()
                ))
            };
            let pem = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
            let certs: Vec<CertificateDer<'static>> = pem_certificates(&pem).map_err(unreadable)?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(unreadable("it holds no usable certificate".into()));
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    Ok(roots)
}

/// The certificates in a PEM file.
fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM ({e})"))
}

/// `require` and below, as libpq: the connection is encrypted, and the handshake's signatures
/// are checked, but the certificate is not (anyone in the path could present one).
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root, whatever name the certificate carries.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_tls_settings_are_taken_out_of_the_url() {
        let (rest, tls) = split_url(
            "postgres://u:p@db/okta?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u:p@db/okta?connect_timeout=3");
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        let (rest, tls) = split_url("postgres://db/okta").unwrap();
        assert_eq!(
            (rest.as_str(), tls),
            ("postgres://db/okta", TlsSettings::default())
        );
        let (_, tls) = split_url("postgres://db/okta?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!((tls.mode, tls.root_cert), (SslMode::Require, None));
        let err = split_url("postgres://db/okta?sslmode=verify")
            .unwrap_err()
            .to_string();
        assert!(err.contains("verify-full"), "{err}");
        let err = split_url("postgres://db/okta?sslcert=c.pem")
            .unwrap_err()
            .to_string();
        assert!(err.contains("client certificates"), "{err}");
    }

    #[test]
    fn an_unreadable_root_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let settings = TlsSettings {
            mode: SslMode::VerifyFull,
            root_cert: Some(path),
        };
        let err = connector(&settings).err().unwrap().to_string();
        assert!(err.contains("ca.pem"), "{err}");
        assert!(err.contains("no usable certificate"), "{err}");
    }
}
