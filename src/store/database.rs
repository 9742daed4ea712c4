//! Which database a `DATABASE_URL` names, read without connecting: a SQLite file, or a
//! PostgreSQL server with libpq's connection settings. For PostgreSQL the URL becomes the
//! driver's connect options; okta-agent itself reads only what the driver cannot take as
//! libpq means it (`sslrootcert=system`, `connect_timeout`), checks `sslrootcert` so a bad
//! file is named, and refuses what it does not support (client certificates) or does not know.
//! Nothing here ever shows a password: messages print `postgres://user@host:port/database`.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use super::StoreError;
use crate::secret::Secret;

/// The default `DATABASE_URL`: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://okta-agent.db";

/// How long connecting to PostgreSQL may take, unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a `DATABASE_URL` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite(PathBuf),
    /// PostgreSQL, shown without its password.
    Postgres(String),
}

impl DatabaseKind {
    /// The file, or the URL without its password.
    pub fn shown(&self) -> String {
        match self {
            DatabaseKind::Sqlite(path) => path.display().to_string(),
            DatabaseKind::Postgres(shown) => shown.clone(),
        }
    }
}

/// Checks a `DATABASE_URL` and says what it names, without connecting.
pub fn database_kind(url: &str) -> Result<DatabaseKind, StoreError> {
    if is_postgres_url(url) {
        return Ok(DatabaseKind::Postgres(postgres_target(url, None)?.shown));
    }
    sqlite_path(url).map(DatabaseKind::Sqlite)
}

/// Whether a `DATABASE_URL` names PostgreSQL.
pub(super) fn is_postgres_url(url: &str) -> bool {
    let url = url.trim();
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Whether a PostgreSQL `DATABASE_URL` carries a password of its own.
pub fn url_has_password(url: &str) -> bool {
    is_postgres_url(url) && url::Url::parse(url.trim()).is_ok_and(|u| u.password().is_some())
}

/// The file a `sqlite:` `DATABASE_URL` names.
pub fn sqlite_path(url: &str) -> Result<PathBuf, StoreError> {
    let url = url.trim();
    if let Some(path) = url.strip_prefix("sqlite://") {
        if !path.is_empty() {
            return Ok(PathBuf::from(path));
        }
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        if !path.is_empty() && !path.starts_with(':') {
            return Ok(PathBuf::from(path));
        }
    } else if !url.contains("://") && !url.is_empty() {
        return Ok(PathBuf::from(url));
    }
    Err(StoreError::UnsupportedUrl(url.to_string()))
}

/// Which database: a `DATABASE_URL` and, for PostgreSQL, perhaps a password kept apart from
/// it (a credential file). Neither is ever shown: `Debug` prints what `database_kind` shows.
#[derive(Clone)]
pub struct Database {
    url: Secret<String>,
    password: Option<Secret<String>>,
}

impl Database {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: Secret::new(url.into()),
            password: None,
        }
    }

    /// The PostgreSQL password, from somewhere other than the URL.
    pub fn with_password(mut self, password: Secret<String>) -> Self {
        self.password = Some(password);
        self
    }

    pub fn url(&self) -> &str {
        self.url.expose()
    }

    pub(super) fn password(&self) -> Option<&str> {
        self.password.as_ref().map(|p| p.expose().as_str())
    }

    pub fn kind(&self) -> Result<DatabaseKind, StoreError> {
        database_kind(self.url())
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind() {
            Ok(kind) => write!(f, "Database({})", kind.shown()),
            Err(_) => write!(f, "Database(unparsable URL)"),
        }
    }
}

/// libpq's `sslmode`, by the names libpq gives them (the driver's own type has no equality
/// and no names to print).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    const ALL: [SslMode; 6] = [
        Self::Disable,
        Self::Allow,
        Self::Prefer,
        Self::Require,
        Self::VerifyCa,
        Self::VerifyFull,
    ];

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

    fn parse(value: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.name() == value)
            .ok_or_else(|| {
                StoreError::BadPostgresUrl(format!(
                    "sslmode={value} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ))
            })
    }

    fn driver(self) -> PgSslMode {
        match self {
            Self::Disable => PgSslMode::Disable,
            Self::Allow => PgSslMode::Allow,
            Self::Prefer => PgSslMode::Prefer,
            Self::Require => PgSslMode::Require,
            Self::VerifyCa => PgSslMode::VerifyCa,
            Self::VerifyFull => PgSslMode::VerifyFull,
        }
    }

    fn of_driver(mode: PgSslMode) -> Self {
        match mode {
            PgSslMode::Disable => Self::Disable,
            PgSslMode::Allow => Self::Allow,
            PgSslMode::Prefer => Self::Prefer,
            PgSslMode::Require => Self::Require,
            PgSslMode::VerifyCa => Self::VerifyCa,
            PgSslMode::VerifyFull => Self::VerifyFull,
        }
    }

    /// How a connection under this mode is protected, in words (`check` prints it).
    pub(super) fn describe(self, encrypted: bool) -> String {
        let mode = self.name();
        match (encrypted, self) {
            (false, _) => format!("not encrypted (sslmode={mode})"),
            (true, Self::VerifyFull) => {
                format!("TLS, certificate and host name verified (sslmode={mode})")
            }
            (true, Self::VerifyCa) => format!(
                "TLS, certificate verified but not the host name (sslmode={mode}); verify-full checks both"
            ),
            (true, Self::Disable | Self::Allow | Self::Prefer | Self::Require) => format!(
                "TLS, certificate not verified (sslmode={mode}); verify-full checks it"
            ),
        }
    }
}

/// A PostgreSQL database to connect to: the driver's options, and what okta-agent keeps.
pub(super) struct PgTarget {
    pub options: PgConnectOptions,
    pub ssl_mode: SslMode,
    pub connect_timeout: Duration,
    /// `postgres://user@host:port/database`.
    pub shown: String,
}

/// Reads a PostgreSQL URL into connect options; the error never repeats the URL (it may hold
/// a password).
pub(super) fn postgres_target(url: &str, password: Option<&str>) -> Result<PgTarget, StoreError> {
    let bad = |why: String| StoreError::BadPostgresUrl(why);
    let mut parsed = url::Url::parse(url.trim()).map_err(|e| bad(e.to_string()))?;
    let mut ssl_mode = None;
    let mut root_cert = None;
    let mut connect_timeout = CONNECT_TIMEOUT;
    let mut passed = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in parsed.query_pairs() {
        match key.as_ref() {
            "sslmode" => ssl_mode = Some(SslMode::parse(&value)?),
            // libpq's name for "the system's roots", which the driver uses anyway.
            "sslrootcert" if value == "system" => root_cert = None,
            "sslrootcert" => root_cert = Some(PathBuf::from(value.as_ref())),
            "sslcert" | "sslkey" | "sslpassword" => {
                return Err(bad(format!(
                    "{key}: client certificates are not supported; authenticate with a password"
                )))
            }
            "connect_timeout" => {
                let seconds: u64 = value.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    bad(format!(
                        "connect_timeout={value} is not a whole number of seconds above 0"
                    ))
                })?;
                connect_timeout = Duration::from_secs(seconds);
            }
            "application_name" | "options" | "host" | "hostaddr" | "port" | "dbname"
            | "user" | "password" => {
                passed.append_pair(&key, &value);
            }
            other => {
                return Err(bad(format!(
                    "{other}= is not a setting okta-agent knows; it reads sslmode, sslrootcert, connect_timeout, application_name, options, host, hostaddr, port, dbname, user and password"
                )))
            }
        }
    }
    let passed = passed.finish();
    parsed.set_query(if passed.is_empty() {
        None
    } else {
        Some(&passed)
    });
    let mut options: PgConnectOptions = parsed
        .as_str()
        .parse()
        .map_err(|e: sqlx::Error| bad(e.to_string()))?;
    if options.get_database().is_none() {
        return Err(bad("it names no database; end it with /DATABASE".into()));
    }
    if let Some(mode) = ssl_mode {
        options = options.ssl_mode(mode.driver());
    }
    if let Some(path) = root_cert {
        options = options.ssl_root_cert_from_pem(root_certificates(&path)?);
    }
    if options.get_application_name().is_none() {
        options = options.application_name("okta-agent");
    }
    if let Some(password) = password {
        options = options.password(password);
    }
    let shown = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    );
    Ok(PgTarget {
        ssl_mode: SslMode::of_driver(options.get_ssl_mode()),
        options,
        connect_timeout,
        shown,
    })
}

/// The PEM file `sslrootcert` names, checked here so a missing or wrong file is named.
fn root_certificates(path: &std::path::Path) -> Result<Vec<u8>, StoreError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let unreadable = |why: String| {
        StoreError::Tls(format!(
            "sslrootcert {}: {why}; give a PEM file of the CA certificates that signed the server's",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(format!("not PEM ({e})")))?;
    if certificates.is_empty() {
        return Err(unreadable("it holds no certificate".into()));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            sqlite_path("sqlite://a/b.db").unwrap(),
            PathBuf::from("a/b.db")
        );
        assert_eq!(sqlite_path("sqlite:x.db").unwrap(), PathBuf::from("x.db"));
        assert_eq!(sqlite_path("x.db").unwrap(), PathBuf::from("x.db"));
        assert!(sqlite_path("postgres://db/okta").is_err());
        assert!(sqlite_path("sqlite::memory:").is_err());
        assert_eq!(
            database_kind("postgresql://okta:s3cret@db.internal/okta?sslmode=require").unwrap(),
            DatabaseKind::Postgres("postgres://okta@db.internal:5432/okta".into())
        );
        let err = database_kind("postgres://okta:s3cret@db.internal").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(database_kind("mysql://db/okta").is_err());
        assert!(url_has_password("postgres://okta:s3cret@db/okta"));
        assert!(!url_has_password("postgres://okta@db/okta"));
        assert!(!url_has_password("sqlite://okta-agent.db"));
    }

    #[test]
    fn libpq_settings_are_read_and_the_rest_refused_by_name() {
        let target = postgres_target(
            "postgres://u:p@db/okta?sslmode=verify-full&sslrootcert=system&connect_timeout=3&application_name=ops",
            None,
        )
        .unwrap();
        assert_eq!(target.ssl_mode, SslMode::VerifyFull);
        assert_eq!(target.connect_timeout, Duration::from_secs(3));
        assert_eq!(target.options.get_application_name(), Some("ops"));
        assert_eq!(target.shown, "postgres://u@db:5432/okta");
        let target = postgres_target("postgres://u@db/okta", Some("from-a-file")).unwrap();
        assert_eq!(target.connect_timeout, CONNECT_TIMEOUT);
        assert_eq!(target.options.get_application_name(), Some("okta-agent"));
        for (query, said) in [
            ("sslmode=verify", "verify-full"),
            ("sslcert=c.pem", "client certificates"),
            ("connect_timeout=soon", "whole number of seconds"),
            (
                "target_session_attrs=any",
                "target_session_attrs= is not a setting",
            ),
        ] {
            let err = postgres_target(&format!("postgres://u:hunter2@db/okta?{query}"), None)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(said), "{query}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn an_unreadable_root_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let url = format!(
            "postgres://u@db/okta?sslmode=verify-full&sslrootcert={}",
            path.display()
        );
        let err = postgres_target(&url, None).err().unwrap().to_string();
        assert!(err.contains("ca.pem"), "{err}");
        assert!(err.contains("no certificate"), "{err}");
    }
}
