//! PostgreSQL for several replicas on several hosts: two connections per process (the ack
//! path's and the rest), each checked after idling and reconnected when the server dropped it,
//! statements prepared once, session limits so a stalled replica cannot hold locks, TLS as
//! libpq's `sslmode` means it (`pg_tls`), and versioned migrations applied at start under an
//! advisory lock, so replicas starting together migrate once. The store's interface is
//! synchronous: a call made from the async runtime leaves it for the call (`block_in_place`,
//! or a thread of its own on a single-threaded runtime), since the synchronous client blocks
//! on a runtime of its own, which tokio forbids on its worker threads.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use postgres::GenericClient;

use super::pg_tls::TlsSettings;
use super::sql::{Cell, Dialect, Param, Row, Sql};
use super::StoreError;

/// Migration `n` (1-based) takes the PostgreSQL schema from version `n - 1` to `n`. The first
/// creates the schema SQLite reached in six steps.
const MIGRATIONS: &[&str] = &[include_str!("migrations/postgres/0001_initial.sql")];
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock every migrating process takes ("okta" in ASCII), so two replicas starting
/// at once do not both migrate.
const MIGRATION_LOCK: i64 = 0x6f6b_7461;

/// How long a connection attempt may take, unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Postgres {
    config: postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    tls_settings: TlsSettings,
    client: Mutex<Option<Connection>>,
    /// The ack path's own connection, so recording a delivery never queues behind other work.
    ack_client: Mutex<Option<Connection>>,
    /// The URL without its password, for messages.
    shown: String,
}

/// What `check` learns of a PostgreSQL database.
pub struct Probe {
    /// The URL without its password.
    pub shown: String,
    /// Its schema version; 0 when empty.
    pub schema: i64,
    /// How the connection is protected, in words.
    pub protection: String,
}

/// A connection and the statements prepared on it, by their SQL: the store's statements are
/// a fixed set, so each is parsed once per connection, and each later call is one round trip.
struct Connection {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    last_used: Instant,
}

impl Connection {
    /// Whether the connection can be used as it is. One that sat idle is asked first: a
    /// server restart, a failover or a firewall's idle timeout drops connections silently,
    /// and the driver only learns of it from the next statement, which would then fail.
    fn usable(&mut self) -> bool {
        if self.client.is_closed() {
            return false;
        }
        self.last_used.elapsed() < CHECK_AFTER_IDLE || self.client.is_valid(CHECK_TIMEOUT).is_ok()
    }
}

/// Set on every connection (after connecting, not as startup options, which PgBouncer
/// refuses). A replica that stops in the middle of a transaction (frozen, or cut off by the
/// network, which the server may not notice for hours) would otherwise hold its locks, the
/// audit table's among them, and every other replica would wait behind it: the server ends such
/// a session after 10 s. The store's transactions take milliseconds. Notices (such as "relation
/// already exists, skipping" at every start) would only be log noise.
const SESSION_LIMITS: &str = "SET idle_in_transaction_session_timeout = '10s'; SET statement_timeout = '30s'; SET lock_timeout = '20s'; SET client_min_messages = 'warning'";

/// The ack path's connection does not wait for the WAL flush: a delivery is recorded before
/// its ack with the durability SQLite's `synchronous=NORMAL` gives it there, surviving
/// okta-agent's crash but not the database host's within a moment of the ack. Waiting for the
/// flush would put the disk's fsync in every ack (p99 4.5 ms on this machine). Claims, outcomes
/// and audit records are on the other connection and wait for it.
const ACK_PATH_SESSION: &str = "SET synchronous_commit = off";

/// How long a connection may sit idle before it is checked with a round trip before use.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);
/// How long that check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("database", &self.shown)
            .finish()
    }
}

/// Whether a `DATABASE_URL` names PostgreSQL.
pub fn is_postgres_url(url: &str) -> bool {
    let url = url.trim();
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Parses a PostgreSQL URL, with libpq's TLS settings; the error never repeats the URL (it
/// may hold a password).
pub fn parse_url(url: &str) -> Result<(postgres::Config, TlsSettings), StoreError> {
    let (rest, tls) = super::pg_tls::split_url(url.trim())?;
    let mut config: postgres::Config = rest
        .parse()
        .map_err(|e: postgres::Error| StoreError::BadPostgresUrl(e.to_string()))?;
    config.ssl_mode(tls.mode.driver_mode());
    if config.get_dbname().is_none() {
        return Err(StoreError::BadPostgresUrl(
            "it names no database; end it with /DATABASE".into(),
        ));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("okta-agent");
    }
    Ok((config, tls))
}

/// `postgres://user@host:port/db`: what a message may show of a URL.
pub fn shown_url(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// What went wrong, in full: the driver's own message for a server error is just "db error",
/// with the server's words one level down.
pub fn detail(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// What to do about a failed connection, by what failed.
pub fn connect_hint(error: &postgres::Error) -> &'static str {
    use postgres::error::SqlState;
    match error.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            "check the user and password in DATABASE_URL"
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => {
            "create the database first (okta-agent creates its tables, not the database)"
        }
        Some(_) => "check the server's log for why it refused",
        None if detail(error).contains("certificate") => {
            "the server's certificate was not accepted: name the CA that signed it with sslrootcert=/path/to/ca.pem, or use sslmode=require to encrypt without checking it"
        }
        None => "check that PostgreSQL is running there and reachable from this host",
    }
}

impl Postgres {
    /// Connects and brings the schema up to date.
    pub fn open(url: &str, password: Option<&str>) -> Result<Self, StoreError> {
        let store = Self::unopened(url, password)?;
        let shown = store.shown.clone();
        store.run(|connection| migrate(connection, &shown))?;
        Ok(store)
    }

    fn unopened(url: &str, password: Option<&str>) -> Result<Self, StoreError> {
        let (mut config, tls_settings) = parse_url(url)?;
        if let Some(password) = password {
            config.password(password);
        }
        let shown = shown_url(&config);
        Ok(Self {
            tls: super::pg_tls::connector(&tls_settings)?,
            tls_settings,
            config,
            client: Mutex::new(None),
            ack_client: Mutex::new(None),
            shown,
        })
    }

    /// Connects and reads the schema version (0 for an empty database) and how the
    /// connection is protected, changing nothing.
    pub fn probe(url: &str, password: Option<&str>) -> Result<Probe, StoreError> {
        let store = Self::unopened(url, password)?;
        let encrypted = store.run(|connection| {
            let row = connection.client.query_one(
                "SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
                &[],
            )?;
            Ok(row.try_get::<_, bool>(0)?)
        })?;
        let schema: i64 = store.run(|connection| {
            let client = &mut connection.client;
            let exists: bool = client
                .query_one("SELECT to_regclass('okta_agent_schema') IS NOT NULL", &[])?
                .try_get(0)?;
            if !exists {
                return Ok(0);
            }
            Ok(client
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM okta_agent_schema",
                    &[],
                )?
                .try_get(0)?)
        })?;
        Ok(Probe {
            shown: store.shown.clone(),
            schema,
            protection: store.tls_settings.describe(encrypted),
        })
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Runs `work` on this process's connection (connecting first when there is none, or the
    /// server closed it).
    fn run<T: Send>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.run_on(&self.client, "", work)
    }

    /// Runs `work` on `connection`; a new one is set up with `SESSION_LIMITS` and `session`.
    fn run_on<T: Send>(
        &self,
        connection: &Mutex<Option<Connection>>,
        session: &str,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        let call = || {
            // A panic while holding the lock leaves at worst a transaction the server rolls
            // back when the connection is dropped, so a poisoned lock is still safe to use.
            let mut slot = connection
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let reusable = slot.take().and_then(|mut connection| {
                if connection.usable() {
                    Some(connection)
                } else {
                    None
                }
            });
            let mut connection = match reusable {
                Some(connection) => connection,
                None => self.connect(session)?,
            };
            connection.last_used = Instant::now();
            work(slot.insert(connection))
        };
        match tokio::runtime::Handle::try_current() {
            Err(_) => call(),
            // Leaves the runtime for the call, so the client may block on its own.
            Ok(runtime)
                if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread =>
            {
                tokio::task::block_in_place(call)
            }
            // A single-threaded runtime cannot hand its thread over: a thread of its own.
            Ok(_) => std::thread::scope(|scope| match scope.spawn(call).join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }),
        }
    }

    /// A new connection, with the session limits every replica relies on and `session`.
    fn connect(&self, session: &str) -> Result<Connection, StoreError> {
        let failed = |source| StoreError::Postgres {
            database: self.shown.clone(),
            source,
        };
        let mut client = self.config.connect(self.tls.clone()).map_err(failed)?;
        client.batch_execute(SESSION_LIMITS).map_err(failed)?;
        if !session.is_empty() {
            client.batch_execute(session).map_err(failed)?;
        }
        Ok(Connection {
            client,
            statements: HashMap::new(),
            last_used: Instant::now(),
        })
    }

    /// Runs `work` in one transaction, committed when it returns `Ok`.
    pub fn transaction<T: Send>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.run(|connection| {
            let mut tx = connection.client.transaction()?;
            let result = work(&mut Pg {
                client: &mut tx,
                statements: &mut connection.statements,
            })?;
            tx.commit()?;
            Ok(result)
        })
    }

    /// Runs `work` outside a transaction (each statement commits on its own).
    pub fn autocommit<T: Send>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.run(|connection| work(&mut Pg::on(connection)))
    }

    /// Like `autocommit`, on the ack path's own connection.
    pub fn autocommit_ack_path<T: Send>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.run_on(&self.ack_client, ACK_PATH_SESSION, |connection| {
            work(&mut Pg::on(connection))
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // The client owns a runtime, and dropping one on an async worker thread panics.
        let clients: Vec<Connection> = [&mut self.client, &mut self.ack_client]
            .into_iter()
            .filter_map(|slot| {
                slot.get_mut()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take()
            })
            .collect();
        if !clients.is_empty() && tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| {
                scope.spawn(move || drop(clients));
            });
        }
    }
}

fn migrate(connection: &mut Connection, shown: &str) -> Result<(), StoreError> {
    let mut tx = connection.client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS okta_agent_schema (version BIGINT NOT NULL)")?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM okta_agent_schema",
            &[],
        )?
        .try_get(0)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: shown.to_string(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for version in found + 1..=SCHEMA_VERSION {
        tx.batch_execute(MIGRATIONS[(version - 1) as usize])?;
        tx.execute(
            "INSERT INTO okta_agent_schema (version) VALUES ($1)",
            &[&version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A PostgreSQL connection or transaction, as the store's SQL surface.
struct Pg<'c, C: GenericClient> {
    client: &'c mut C,
    statements: &'c mut HashMap<String, postgres::Statement>,
}

impl<'c> Pg<'c, postgres::Client> {
    fn on(connection: &'c mut Connection) -> Self {
        Pg {
            client: &mut connection.client,
            statements: &mut connection.statements,
        }
    }
}

impl<C: GenericClient> Pg<'_, C> {
    /// The prepared form of a statement, prepared once per connection. `?N` parameters become
    /// `$N`; a statement without parameters is taken as written (raw SQL may hold a `?1`
    /// inside a literal).
    fn statement(
        &mut self,
        sql: &str,
        args: &[Param<'_>],
    ) -> Result<postgres::Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = if args.is_empty() {
            self.client.prepare(sql)?
        } else {
            self.client
                .prepare(super::sql::numbered_params(sql).as_str())?
        };
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

impl<C: GenericClient> Sql for Pg<'_, C> {
    fn exec(&mut self, sql: &str, args: &[Param<'_>]) -> Result<u64, StoreError> {
        let statement = self.statement(sql, args)?;
        Ok(self.client.execute(&statement, &params_of(args))?)
    }

    fn rows(&mut self, sql: &str, args: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql, args)?;
        let rows = self.client.query(&statement, &params_of(args))?;
        rows.iter().map(row_of).collect()
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

fn params_of<'a>(args: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

fn row_of(row: &postgres::Row) -> Result<Row, StoreError> {
    let mut cells = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(index)?.map(Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(index)?
                .map(|v| Cell::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(index)?
                .map(|v| Cell::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(index)?
                .map(|v| Cell::Int(v.into()))
        } else if [Type::TEXT, Type::VARCHAR, Type::NAME, Type::BPCHAR].contains(ty) {
            row.try_get::<_, Option<String>>(index)?.map(Cell::Text)
        } else {
            return Err(StoreError::Corrupt(format!(
                "column {} has type {ty}, which the store does not read",
                column.name()
            )));
        };
        cells.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(cells))
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Param::Int(value) => value.to_sql(ty, out),
            Param::Text(value) => value.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <Option<i64> as ToSql>::accepts(ty) || <Option<&str> as ToSql>::accepts(ty)
    }

    // Checked per value, not per type: an integer must never be written into a text column
    // (or the reverse) just because the other variant would fit.
    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Param::Int(value) => value.to_sql_checked(ty, out),
            Param::Text(value) => value.to_sql_checked(ty, out),
        }
    }
}
