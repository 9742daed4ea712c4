//! Persistence in SQLite (one file, the embedded default) or PostgreSQL (replicas on several
//! hosts): proposals (with their single-use state transitions), inbound dedupe keys, help
//! answers, automation jobs and the audit chain, under versioned migrations. Every state change
//! is one conditional `UPDATE`, so two clicks racing on the same proposal cannot both win, even
//! across processes sharing the database. The claim and the outcome are durable before they
//! return (`synchronous=FULL` on SQLite); an outcome that cannot be written at all goes to an
//! append-only file on this host and is merged at the next start. Recording a delivery (the
//! ack path) has a connection of its own, and on SQLite a file of its own (`<db>.inbound`), so
//! it never waits behind another write's fsync.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;

use crate::secret::Secret;

mod automations;
mod pg_tls;
pub mod postgres;
pub(crate) mod sql;
pub use automations::{JobRow, ReactionRole, ReactionRow, JOB_LEASE_SECS};

use sql::{args, Dialect, Lite, Row, Sql};

/// Migration `n` (1-based) takes the SQLite schema from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_trust_boundary.sql"),
    include_str!("migrations/0003_as_written.sql"),
    include_str!("migrations/0004_help_questions.sql"),
    include_str!("migrations/0005_automations.sql"),
    include_str!("migrations/0006_instances.sql"),
    include_str!("migrations/0007_inbound_journal.sql"),
];
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL '{0}' is not supported; use sqlite://path/to/file.db or postgres://user:password@host:5432/database")]
    UnsupportedUrl(String),
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0} (the form is postgres://user:password@host:5432/database)")]
    BadPostgresUrl(String),
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("cannot connect to the database {database}: {}; {}", postgres::detail(.source), postgres::connect_hint(.source))]
    Postgres {
        database: String,
        source: ::postgres::Error,
    },
    #[error("the database {path} was written by a newer okta-agent (schema {found}, this build knows {known}); upgrade okta-agent")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("PostgreSQL TLS: {0}")]
    Tls(String),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database error: {}", postgres::detail(.0))]
    Pg(#[from] ::postgres::Error),
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("the recovery file {path}: {source}")]
    Fallback {
        path: String,
        source: std::io::Error,
    },
}

/// A proposal row, as stored. The approvals module owns its meaning.
#[derive(Clone, Debug, PartialEq)]
pub struct ProposalRow {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub requester: String,
    pub tool: String,
    /// The decoded call, as JSON.
    pub call: String,
    /// The target snapshot, as JSON.
    pub target: String,
    pub policy_version: String,
    pub binding_hash: String,
    pub state: String,
    pub approver: Option<String>,
    pub decided_at: Option<i64>,
    /// The outcome, as JSON, once there is one.
    pub outcome: Option<String>,
    /// Where the request came from (a Slack channel and thread, or "chat").
    pub conversation: String,
    /// The proposal this one undoes, if it is an Undo.
    pub undo_of: Option<String>,
    /// Whose words from the thread the requester adopted.
    pub worded_by: Option<String>,
    /// The action word as typed, when it was misspelt or a paraphrase.
    pub as_written: Option<String>,
    /// Time-bound access: how long after execution the membership ends.
    pub access_seconds: Option<i64>,
    /// Why, as the requester wrote it (forms).
    pub reason: Option<String>,
    /// What triggered it and who, as JSON.
    pub trigger: Option<String>,
}

/// What a conditional state change found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The change was made.
    Done,
    /// The proposal is not in the expected state; this is the state it is in.
    WrongState(String),
    /// It had expired; it is now marked `expired`.
    Expired,
    Missing,
}

/// One audit row: the record's JSON and its place in the hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub record: String,
    pub prev_hash: String,
    pub hash: String,
    /// The audit key that signed this link; `None` for records from before keyed audit.
    pub key_id: Option<String>,
}

/// What became of a help answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpAnswerState {
    Open,
    Solved,
    Escalated,
}

impl HelpAnswerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Solved => "solved",
            Self::Escalated => "escalated",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        [Self::Open, Self::Solved, Self::Escalated]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown help answer state '{text}'")))
    }
}

/// An answer the help assistant posted, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpAnswerRow {
    pub channel: String,
    pub answer_ts: String,
    pub question_ts: String,
    pub asker: String,
    pub state: HelpAnswerState,
    pub decided_by: Option<String>,
}

/// The inbound table of a SQLite store, in its own file (attached to the main connection as
/// `journal`). Unqualified `inbound` in the store's statements resolves to it.
const JOURNAL_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS journal.inbound (
    key         TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL,
    owner       TEXT
);
CREATE INDEX IF NOT EXISTS journal.inbound_by_age ON inbound (state, received_at);";

/// The database behind the store.
// One per store, so the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Backend {
    Sqlite {
        /// Everything, with the inbound journal attached.
        conn: Mutex<Connection>,
        /// The inbound journal alone: the ack path's connection.
        journal: Mutex<Connection>,
    },
    Postgres(postgres::Postgres),
}

#[derive(Debug)]
pub struct Store {
    backend: Backend,
    /// The file, or the PostgreSQL URL without its password.
    location: String,
    /// Where writes that failed after an Okta change wait for the next start.
    recovery: PathBuf,
    /// This handle's instance id: the owner of the work it takes.
    instance: String,
    /// How long an instance's lease lasts without a heartbeat.
    lease_secs: std::sync::atomic::AtomicI64,
}

/// How long an instance's lease lasts without a heartbeat, unless `[store] lease_seconds` says.
pub const DEFAULT_LEASE_SECS: i64 = 30;

/// The default `DATABASE_URL`: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://okta-agent.db";

/// The recovery file of a PostgreSQL store: it is this host's, so it lives in the working
/// directory (the state directory under systemd).
pub const POSTGRES_RECOVERY_FILE: &str = "okta-agent.recovery.jsonl";

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
    if postgres::is_postgres_url(url) {
        let (config, _) = postgres::parse_url(url)?;
        return Ok(DatabaseKind::Postgres(postgres::shown_url(&config)));
    }
    sqlite_path(url).map(DatabaseKind::Sqlite)
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

    fn password(&self) -> Option<&str> {
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

/// What `check` says of a database: reachable, and at which schema, without creating or
/// migrating anything. A schema newer than this build is an error.
pub fn describe(url: &str) -> Result<String, StoreError> {
    describe_database(&Database::new(url))
}

/// `describe`, for a database with a password of its own.
pub fn describe_database(database: &Database) -> Result<String, StoreError> {
    let url = database.url();
    let (shown, found, known) = match database_kind(url)? {
        DatabaseKind::Sqlite(path) => {
            if !path.exists() {
                return Ok(format!(
                    "SQLite file {} will be made on first start",
                    path.display()
                ));
            }
            let shown = path.display().to_string();
            let conn =
                Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(|source| StoreError::Open {
                        path: shown.clone(),
                        source,
                    })?;
            let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
            (format!("SQLite file {shown}"), found, SCHEMA_VERSION)
        }
        DatabaseKind::Postgres(_) => {
            let probe = postgres::Postgres::probe(url, database.password())?;
            (
                format!("PostgreSQL {} ({})", probe.shown, probe.protection),
                probe.schema,
                postgres::SCHEMA_VERSION,
            )
        }
    };
    if found > known {
        return Err(StoreError::TooNew {
            path: shown,
            found,
            known,
        });
    }
    Ok(if found == known {
        format!("{shown}: reachable, schema {found} (current)")
    } else {
        format!("{shown}: reachable, schema {found}; migrated to {known} at the next start")
    })
}

impl Store {
    /// Opens the database a `DATABASE_URL` names: a SQLite file (created if needed) or a
    /// PostgreSQL database (which must exist); either way migrated to this build's schema.
    pub fn open_url(url: &str) -> Result<Self, StoreError> {
        Self::open_database(&Database::new(url))
    }

    /// `open_url`, for a database with a password of its own.
    pub fn open_database(database: &Database) -> Result<Self, StoreError> {
        let url = database.url();
        if postgres::is_postgres_url(url) {
            let pg = postgres::Postgres::open(url, database.password())?;
            return Ok(Self::with_backend(
                pg.shown().to_string(),
                PathBuf::from(POSTGRES_RECOVERY_FILE),
                Backend::Postgres(pg),
            ));
        }
        Self::open(&sqlite_path(url)?)
    }

    /// Opens (creating if needed) a SQLite file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let location = path.display().to_string();
        let open_err = |source| StoreError::Open {
            path: location.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        // First, so that a replica starting at the same moment waits for the lock this one
        // holds (switching a new file to WAL takes it) instead of failing.
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        // WAL keeps inserts cheap (the ack budget) and lets a reader run beside the writer.
        // Switching a new file to it is refused at once, not waited for, while another
        // process is switching it too.
        while_busy(|| conn.pragma_update(None, "journal_mode", "WAL")).map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        let journal_path = PathBuf::from(format!("{location}.inbound"));
        let journal_shown = journal_path.display().to_string();
        let journal_err = |source| StoreError::Open {
            path: journal_shown.clone(),
            source,
        };
        conn.execute(
            "ATTACH DATABASE ?1 AS journal",
            [journal_path.to_string_lossy()],
        )
        .map_err(journal_err)?;
        while_busy(|| conn.pragma_update(Some("journal"), "journal_mode", "WAL"))
            .map_err(journal_err)?;
        conn.pragma_update(Some("journal"), "synchronous", "NORMAL")
            .map_err(journal_err)?;
        while_busy(|| conn.execute_batch(JOURNAL_SCHEMA)).map_err(journal_err)?;
        let journal = Connection::open(&journal_path).map_err(journal_err)?;
        journal
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(journal_err)?;
        // Checkpoints (an fsync) are left to the main connection, off the ack path; a lock
        // held by another writer is waited for in short steps, not SQLite's millisecond sleeps.
        journal
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(journal_err)?;
        journal
            .busy_handler(Some(wait_briefly))
            .map_err(journal_err)?;
        let schema = |conn: &Connection| -> Result<i64, StoreError> {
            let found: i64 = conn
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .map_err(open_err)?;
            if found > SCHEMA_VERSION {
                return Err(StoreError::TooNew {
                    path: location.clone(),
                    found,
                    known: SCHEMA_VERSION,
                });
            }
            Ok(found)
        };
        if schema(&conn)? < SCHEMA_VERSION {
            // Under the write lock, and read again: replicas starting together on a new file
            // migrate once, one after the other, and all of it or none.
            let tx = rusqlite::Transaction::new_unchecked(
                &conn,
                rusqlite::TransactionBehavior::Immediate,
            )
            .map_err(open_err)?;
            for version in schema(&tx)? + 1..=SCHEMA_VERSION {
                tx.execute_batch(MIGRATIONS[(version - 1) as usize])
                    .map_err(open_err)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(open_err)?;
            tx.commit().map_err(open_err)?;
        }
        let recovery = PathBuf::from(format!("{location}.recovery.jsonl"));
        Ok(Self::with_backend(
            location,
            recovery,
            Backend::Sqlite {
                conn: Mutex::new(conn),
                journal: Mutex::new(journal),
            },
        ))
    }

    fn with_backend(location: String, recovery: PathBuf, backend: Backend) -> Self {
        Self {
            backend,
            location,
            recovery,
            instance: format!("i-{}", uuid::Uuid::new_v4().simple()),
            lease_secs: std::sync::atomic::AtomicI64::new(DEFAULT_LEASE_SECS),
        }
    }

    /// Sets how long a lease lasts without a heartbeat.
    pub fn set_lease_secs(&self, secs: i64) {
        self.lease_secs
            .store(secs.max(1), std::sync::atomic::Ordering::SeqCst);
    }

    pub fn lease_secs(&self) -> i64 {
        self.lease_secs.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// This handle's instance id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The SQLite file, or the PostgreSQL URL without its password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Whether the store is a SQLite file (whose audit key may live beside it).
    pub fn is_sqlite(&self) -> bool {
        matches!(self.backend, Backend::Sqlite { .. })
    }

    #[cfg(test)]
    fn sqlite_conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        match &self.backend {
            Backend::Sqlite { conn, .. } => Self::sqlite(conn),
            Backend::Postgres(_) => panic!("a SQLite test opened PostgreSQL"),
        }
    }

    fn sqlite(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (statements are
        // atomic), so a poisoned lock is still safe to use.
        conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` with each statement committing on its own.
    fn autocommit<T: Send>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite { conn, .. } => work(&mut Lite(&Self::sqlite(conn))),
            Backend::Postgres(pg) => pg.autocommit(work),
        }
    }

    /// Like `autocommit`, on the ack path's own connection: it waits for no other work.
    fn on_ack_path<T: Send>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite { journal, .. } => work(&mut Lite(&Self::sqlite(journal))),
            Backend::Postgres(pg) => pg.autocommit_ack_path(work),
        }
    }

    /// Like `autocommit`, for a claim or an outcome: on disk before it returns.
    fn durably<T: Send>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite { conn, .. } => {
                let conn = Self::sqlite(conn);
                let _durable = Durable::full(&conn)?;
                work(&mut Lite(&conn))
            }
            // PostgreSQL's commits are durable unless synchronous_commit was turned off.
            Backend::Postgres(pg) => pg.autocommit(work),
        }
    }

    /// Runs `work` in one durable transaction that holds the write lock from its start.
    fn transaction<T: Send>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite { conn, .. } => {
                let conn = Self::sqlite(conn);
                let _durable = Durable::full(&conn)?;
                let tx = rusqlite::Transaction::new_unchecked(
                    &conn,
                    rusqlite::TransactionBehavior::Immediate,
                )?;
                let result = work(&mut Lite(&tx))?;
                tx.commit()?;
                Ok(result)
            }
            Backend::Postgres(pg) => pg.transaction(work),
        }
    }

    // ----- proposals ---------------------------------------------------------------------

    pub fn insert_proposal(&self, row: &ProposalRow) -> Result<(), StoreError> {
        self.autocommit(|db| {
            db.exec(
                "INSERT INTO proposals (id, created_at, expires_at, requester, tool, call, target, policy_version, binding_hash, state, approver, decided_at, outcome, conversation, undo_of, worded_by, as_written, access_seconds, reason, trigger)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                args![
                    &row.id, row.created_at, row.expires_at, &row.requester, &row.tool, &row.call,
                    &row.target, &row.policy_version, &row.binding_hash, &row.state, &row.approver,
                    row.decided_at, &row.outcome, &row.conversation, &row.undo_of, &row.worded_by,
                    &row.as_written, row.access_seconds, &row.reason, &row.trigger
                ],
            )
        })?;
        Ok(())
    }

    pub fn proposal(&self, id: &str) -> Result<Option<ProposalRow>, StoreError> {
        self.autocommit(|db| {
            db.row(
                "SELECT id, created_at, expires_at, requester, tool, call, target, policy_version, binding_hash, state, approver, decided_at, outcome, conversation, undo_of, worded_by, as_written, access_seconds, reason, trigger
                 FROM proposals WHERE id = ?1",
                args![id],
            )?
            .map(|r| proposal_row(&r))
            .transpose()
        })
    }

    /// Moves a pending, unexpired proposal to `to`, recording who and when. Exactly one caller
    /// can win this for a given proposal.
    pub fn decide(&self, id: &str, to: &str, by: &str, now: i64) -> Result<Transition, StoreError> {
        let instance = self.instance.as_str();
        self.transaction(|db| {
            let changed = db.exec(
                "UPDATE proposals SET state = ?2, approver = ?3, decided_at = ?4, owner = ?5
                 WHERE id = ?1 AND state = 'pending' AND expires_at > ?4",
                args![id, to, by, now, instance],
            )?;
            if changed == 1 {
                return Ok(Transition::Done);
            }
            let current = db.row(
                "SELECT state, expires_at FROM proposals WHERE id = ?1",
                args![id],
            )?;
            let Some(current) = current else {
                return Ok(Transition::Missing);
            };
            let state = current.text(0)?;
            if state == "pending" && current.int(1)? <= now {
                db.exec(
                    "UPDATE proposals SET state = 'expired', decided_at = ?2 WHERE id = ?1 AND state = 'pending'",
                    args![id, now],
                )?;
                return Ok(Transition::Expired);
            }
            Ok(Transition::WrongState(state))
        })
    }

    /// Records how an executing proposal ended. Only an `executing` proposal can finish.
    pub fn finish(&self, id: &str, state: &str, outcome: &str) -> Result<Transition, StoreError> {
        let changed = self.durably(|db| {
            db.exec(
                "UPDATE proposals SET state = ?2, outcome = ?3 WHERE id = ?1 AND state = 'executing'",
                args![id, state, outcome],
            )
        })?;
        Ok(if changed == 1 {
            Transition::Done
        } else {
            Transition::WrongState(
                self.proposal(id)?
                    .map_or_else(|| "missing".into(), |p| p.state),
            )
        })
    }

    /// Marks that the Undo of an executed proposal was used; true for exactly one caller.
    pub fn mark_undo(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.autocommit(|db| {
            db.exec(
                "UPDATE proposals SET undo_offered_at = ?2 WHERE id = ?1 AND state = 'executed' AND undo_offered_at IS NULL",
                args![id, now],
            )
        })?;
        Ok(changed == 1)
    }

    /// Makes the Undo of a proposal available again (its undo was refused by policy).
    pub fn release_undo(&self, id: &str) -> Result<(), StoreError> {
        self.autocommit(|db| {
            db.exec(
                "UPDATE proposals SET undo_offered_at = NULL WHERE id = ?1",
                args![id],
            )
        })?;
        Ok(())
    }

    /// Proposals left `executing` by a process whose lease has lapsed (a crash between the
    /// claim and the outcome): never this instance's, never a live one's.
    pub fn orphaned_executing(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let since = now - self.lease_secs();
        let instance = self.instance.as_str();
        self.autocommit(|db| {
            db.rows(
                "SELECT id FROM proposals WHERE state = 'executing'
                 AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE heartbeat_at > ?1))
                 AND (owner IS NULL OR owner != ?2)",
                args![since, instance],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect()
        })
    }

    /// Proposals left `executing` (a crash between the claim and the outcome).
    pub fn executing(&self) -> Result<Vec<String>, StoreError> {
        self.autocommit(|db| {
            db.rows("SELECT id FROM proposals WHERE state = 'executing'", &[])?
                .iter()
                .map(|r| r.text(0))
                .collect()
        })
    }

    /// How many proposals `requester` made since `since`.
    pub fn proposals_by_requester_since(
        &self,
        requester: &str,
        since: i64,
    ) -> Result<u32, StoreError> {
        let n = self.autocommit(|db| {
            db.count(
                "SELECT COUNT(*) FROM proposals WHERE requester = ?1 AND created_at >= ?2",
                args![requester, since],
            )
        })?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How many proposals about the Okta user `target_id` were made since `since`, not counting
    /// rejected or expired ones.
    pub fn proposals_about_since(&self, target_id: &str, since: i64) -> Result<u32, StoreError> {
        let n = self.autocommit(|db| {
            db.count(
                "SELECT COUNT(*) FROM proposals WHERE target_id = ?1 AND created_at >= ?2 AND state NOT IN ('rejected', 'expired')",
                args![target_id, since],
            )
        })?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    // ----- inbound dedupe ----------------------------------------------------------------

    /// Records an inbound delivery key with what is needed to process it. Returns false when the
    /// key was seen before (a redelivery or a double click).
    pub fn remember_inbound(&self, key: &str, payload: &str, now: i64) -> Result<bool, StoreError> {
        let instance = self.instance.as_str();
        let inserted = self.on_ack_path(|db| {
            db.exec(
                "INSERT INTO inbound (key, received_at, payload, state, owner) VALUES (?1, ?2, ?3, 'received', ?4)
                 ON CONFLICT DO NOTHING",
                args![key, now, payload, instance],
            )
        })?;
        Ok(inserted == 1)
    }

    pub fn finish_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.set_inbound_state(key, "done")
    }

    /// Marks inbound work that crashed its task: it is never replayed.
    pub fn fail_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.set_inbound_state(key, "failed")
    }

    fn set_inbound_state(&self, key: &str, state: &str) -> Result<(), StoreError> {
        self.autocommit(|db| {
            db.exec(
                "UPDATE inbound SET state = ?2 WHERE key = ?1",
                args![key, state],
            )
        })?;
        Ok(())
    }

    /// Forgets a dedupe key, so the same delivery may be handled again (a form submission
    /// that was answered with errors can be sent again as it is).
    pub fn forget_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.autocommit(|db| db.exec("DELETE FROM inbound WHERE key = ?1", args![key]))?;
        Ok(())
    }

    /// The state of an inbound delivery (`received`, `done`, `failed`), if it is known.
    pub fn inbound_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.autocommit(|db| {
            db.row("SELECT state FROM inbound WHERE key = ?1", args![key])?
                .map(|r| r.text(0))
                .transpose()
        })
    }

    /// Deletes finished inbound rows (and the message text they hold) received before
    /// `before`. Returns how many went.
    pub fn purge_inbound(&self, before: i64) -> Result<usize, StoreError> {
        let gone = self.autocommit(|db| {
            db.exec(
                "DELETE FROM inbound WHERE state IN ('done', 'failed') AND received_at < ?1",
                args![before],
            )
        })?;
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }

    /// Inbound work acknowledged but never finished by a process whose lease has lapsed (or
    /// by no process on record), taken over by this one: (key, payload), oldest first. Work of
    /// a live process is left alone.
    pub fn unfinished_inbound(&self, now: i64) -> Result<Vec<(String, String)>, StoreError> {
        let since = now - self.lease_secs();
        let instance = self.instance.as_str();
        self.autocommit(|db| {
            let found = db.rows(
                "SELECT key, payload, owner FROM inbound WHERE state = 'received'
                 AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE heartbeat_at > ?1))
                 AND (owner IS NULL OR owner != ?2)
                 ORDER BY received_at, key",
                args![since, instance],
            )?;
            let mut taken = Vec::new();
            for row in found {
                let (key, payload, owner) = (row.text(0)?, row.text(1)?, row.opt_text(2)?);
                // One process takes each: the owner it saw must still be the owner.
                let changed = db.exec(
                    "UPDATE inbound SET owner = ?2 WHERE key = ?1 AND state = 'received' AND owner IS NOT DISTINCT FROM ?3",
                    args![&key, instance, &owner],
                )?;
                if changed == 1 {
                    taken.push((key, payload));
                }
            }
            Ok(taken)
        })
    }

    /// Renews this instance's lease.
    pub fn heartbeat(&self, now: i64) -> Result<(), StoreError> {
        let instance = self.instance.as_str();
        self.autocommit(|db| {
            db.exec(
                "INSERT INTO instances (id, started_at, heartbeat_at) VALUES (?1, ?2, ?2)
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = ?2",
                args![instance, now],
            )
        })?;
        Ok(())
    }

    /// Gives the lease up (a clean stop): what this instance left unfinished may be taken
    /// over at once.
    pub fn retire(&self) -> Result<(), StoreError> {
        let instance = self.instance.as_str();
        self.autocommit(|db| db.exec("DELETE FROM instances WHERE id = ?1", args![instance]))?;
        Ok(())
    }

    /// Instances whose lease is live at `now`.
    pub fn live_instances(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let since = now - self.lease_secs();
        self.autocommit(|db| {
            db.rows(
                "SELECT id FROM instances WHERE heartbeat_at > ?1 ORDER BY id",
                args![since],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect()
        })
    }

    // ----- audit -------------------------------------------------------------------------

    /// Appends a record to the chain: reads the head and inserts in one transaction that
    /// holds the table's write lock from the start, so concurrent appends, from this process
    /// or another replica, cannot fork the chain.
    pub fn append_audit(
        &self,
        key_id: Option<&str>,
        link: impl FnOnce(i64, &str) -> (String, String) + Send,
    ) -> Result<AuditRow, StoreError> {
        self.transaction(|db| {
            if db.dialect() == Dialect::Postgres {
                // Conflicts with itself, not with readers: appends queue, `audit verify` runs.
                db.exec("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE", &[])?;
            }
            let head = db.row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?;
            let (seq, prev_hash) = match head {
                Some(row) => (row.int(0)? + 1, row.text(1)?),
                None => (1, GENESIS_HASH.to_string()),
            };
            let (record, hash) = link(seq, &prev_hash);
            db.exec(
                "INSERT INTO audit (seq, record, prev_hash, hash, key_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                args![seq, &record, &prev_hash, &hash, key_id],
            )?;
            Ok(AuditRow {
                seq,
                record,
                prev_hash,
                hash,
                key_id: key_id.map(str::to_string),
            })
        })
    }

    /// Whether the chain already holds a record with this event for this proposal (merging
    /// the recovery file twice must not audit twice).
    pub fn has_audit_event(&self, proposal_id: &str, event: &str) -> Result<bool, StoreError> {
        let n = self.autocommit(|db| {
            let sql = match db.dialect() {
                Dialect::Sqlite => "SELECT COUNT(*) FROM audit WHERE json_extract(record, '$.proposal_id') = ?1 AND json_extract(record, '$.event') = ?2",
                Dialect::Postgres => "SELECT COUNT(*) FROM audit WHERE record::jsonb ->> 'proposal_id' = ?1 AND record::jsonb ->> 'event' = ?2",
            };
            db.count(sql, args![proposal_id, event])
        })?;
        Ok(n > 0)
    }

    pub fn audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        self.autocommit(|db| {
            db.rows(
                "SELECT seq, record, prev_hash, hash, key_id FROM audit ORDER BY seq",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(AuditRow {
                    seq: r.int(0)?,
                    record: r.text(1)?,
                    prev_hash: r.text(2)?,
                    hash: r.text(3)?,
                    key_id: r.opt_text(4)?,
                })
            })
            .collect()
        })
    }

    // ----- help answers ------------------------------------------------------------------

    pub fn insert_help_answer(&self, row: &HelpAnswerRow) -> Result<(), StoreError> {
        self.autocommit(|db| {
            db.exec(
                "INSERT INTO help_answers (channel, answer_ts, question_ts, asker, state, decided_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO NOTHING",
                args![&row.channel, &row.answer_ts, &row.question_ts, &row.asker, row.state.as_str(), &row.decided_by],
            )
        })?;
        Ok(())
    }

    pub fn help_answer(
        &self,
        channel: &str,
        answer_ts: &str,
    ) -> Result<Option<HelpAnswerRow>, StoreError> {
        self.autocommit(|db| {
            db.row(
                "SELECT channel, answer_ts, question_ts, asker, state, decided_by FROM help_answers WHERE channel = ?1 AND answer_ts = ?2",
                args![channel, answer_ts],
            )?
            .map(|r| {
                Ok(HelpAnswerRow {
                    channel: r.text(0)?,
                    answer_ts: r.text(1)?,
                    question_ts: r.text(2)?,
                    asker: r.text(3)?,
                    state: HelpAnswerState::parse(&r.text(4)?)?,
                    decided_by: r.opt_text(5)?,
                })
            })
            .transpose()
        })
    }

    /// Whether the help question at (`channel`, `question_ts`) was already answered.
    pub fn help_question_answered(
        &self,
        channel: &str,
        question_ts: &str,
    ) -> Result<bool, StoreError> {
        let n = self.autocommit(|db| {
            db.count(
                "SELECT COUNT(*) FROM help_answers WHERE channel = ?1 AND question_ts = ?2",
                args![channel, question_ts],
            )
        })?;
        Ok(n > 0)
    }

    /// Moves a help answer from `from` to `state`; true for exactly one caller.
    pub fn decide_help_answer(
        &self,
        channel: &str,
        answer_ts: &str,
        from: HelpAnswerState,
        state: HelpAnswerState,
        by: &str,
    ) -> Result<bool, StoreError> {
        let changed = self.autocommit(|db| {
            db.exec(
                "UPDATE help_answers SET state = ?4, decided_by = ?5 WHERE channel = ?1 AND answer_ts = ?2 AND state = ?3",
                args![channel, answer_ts, from.as_str(), state.as_str(), by],
            )
        })?;
        Ok(changed == 1)
    }

    // ----- the recovery file ---------------------------------------------------------------

    /// The append-only file beside the database where writes that failed after an Okta change
    /// wait for the next start.
    pub fn recovery_path(&self) -> PathBuf {
        self.recovery.clone()
    }

    /// Appends one line to the recovery file and syncs it to disk, under the file's lock.
    pub fn append_recovery(&self, line: &str) -> Result<(), StoreError> {
        let path = self.recovery_path();
        let fail = |source| StoreError::Fallback {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(fail)?;
        file.lock().map_err(fail)?;
        file.write_all(format!("{}\n", line.trim_end()).as_bytes())
            .map_err(fail)?;
        file.sync_all().map_err(fail)
    }

    /// Hands the recovery file's lines (oldest first) to `merge`, then empties the file, all
    /// under the file's lock: processes sharing the file (replicas on one host) neither lose a
    /// line appended meanwhile nor merge one twice. The file is emptied, never removed, since
    /// a process waiting to append holds it open. Returns how many lines were merged.
    pub fn merge_recovery<E: From<StoreError>>(
        &self,
        merge: impl FnOnce(&[String]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let path = self.recovery_path();
        let fail = |source| StoreError::Fallback {
            path: path.display().to_string(),
            source,
        };
        let mut file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => return Err(fail(source).into()),
        };
        file.lock().map_err(fail)?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(fail)?;
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            return Ok(0);
        }
        merge(&lines)?;
        file.set_len(0).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        Ok(lines.len())
    }

    /// A setting of this store's PostgreSQL session (the ack path's, or the other); only
    /// tests use it.
    #[doc(hidden)]
    pub fn session_setting(&self, name: &str, ack_path: bool) -> Result<String, StoreError> {
        let read = |db: &mut dyn Sql| {
            db.row("SELECT current_setting(?1)", args![name])?
                .ok_or_else(|| StoreError::Corrupt(format!("no setting {name}")))?
                .text(0)
        };
        if ack_path {
            self.on_ack_path(read)
        } else {
            self.autocommit(read)
        }
    }

    /// Runs raw SQL; only tests use it, to tamper with records.
    #[doc(hidden)]
    pub fn execute_raw(&self, sql: &str) -> Result<usize, StoreError> {
        let changed = self.autocommit(|db| db.exec(sql, &[]))?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }
}

fn proposal_row(r: &Row) -> Result<ProposalRow, StoreError> {
    Ok(ProposalRow {
        id: r.text(0)?,
        created_at: r.int(1)?,
        expires_at: r.int(2)?,
        requester: r.text(3)?,
        tool: r.text(4)?,
        call: r.text(5)?,
        target: r.text(6)?,
        policy_version: r.text(7)?,
        binding_hash: r.text(8)?,
        state: r.text(9)?,
        approver: r.opt_text(10)?,
        decided_at: r.opt_int(11)?,
        outcome: r.opt_text(12)?,
        conversation: r.text(13)?,
        undo_of: r.opt_text(14)?,
        worded_by: r.opt_text(15)?,
        as_written: r.opt_text(16)?,
        access_seconds: r.opt_int(17)?,
        reason: r.opt_text(18)?,
        trigger: r.opt_text(19)?,
    })
}

/// Holds `synchronous=FULL` while a claim or an outcome is written (every commit reaches the
/// disk before the call returns), and puts `NORMAL` back after, so the ack path stays cheap.
/// Runs `step` again (for up to five seconds) while SQLite refuses it as busy without waiting:
/// lock upgrades that could deadlock are refused at once, whatever the busy timeout.
fn while_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// SQLite's busy handler for the ack path: retry every 50 µs (SQLite's own sleeps start at a
/// millisecond), for up to five seconds.
fn wait_briefly(attempt: i32) -> bool {
    std::thread::sleep(std::time::Duration::from_micros(50));
    attempt < 100_000
}

struct Durable<'a> {
    conn: &'a Connection,
}

impl<'a> Durable<'a> {
    fn full(conn: &'a Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(Self { conn })
    }
}

impl Drop for Durable<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.conn.pragma_update(None, "synchronous", "NORMAL") {
            tracing::warn!(error = %e, "could not return SQLite to synchronous=NORMAL");
        }
    }
}

/// The `prev_hash` of the first audit record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

// What both backends share is tested on both, in tests/suite/store_backends.rs; what is
// SQLite's alone is tested here.
#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, expires_at: i64) -> ProposalRow {
        ProposalRow {
            id: id.into(),
            created_at: 100,
            expires_at,
            requester: "U1".into(),
            tool: "unlock_user".into(),
            call: "{}".into(),
            target: r#"{"id":"00u1"}"#.into(),
            policy_version: "v".into(),
            binding_hash: "h".into(),
            state: "pending".into(),
            approver: None,
            decided_at: None,
            outcome: None,
            conversation: "chat".into(),
            undo_of: None,
            worded_by: None,
            as_written: None,
            access_seconds: None,
            reason: None,
            trigger: None,
        }
    }

    /// The claim and the outcome reach the disk before they return: a trigger records the
    /// `synchronous` level each write ran under (2 = FULL), and the ack path's level after.
    #[test]
    fn claims_and_outcomes_are_written_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .execute_raw("CREATE TABLE sync_log (what TEXT, level INTEGER)")
            .unwrap();
        store
            .execute_raw("CREATE TRIGGER log_sync AFTER UPDATE OF state ON proposals BEGIN INSERT INTO sync_log SELECT NEW.state, synchronous FROM pragma_synchronous; END")
            .unwrap();
        store.insert_proposal(&row("p1", 200)).unwrap();
        store.decide("p1", "executing", "U2", 150).unwrap();
        store.finish("p1", "executed", "{}").unwrap();
        let levels: Vec<(String, i64)> = {
            let conn = store.sqlite_conn();
            let mut stmt = conn.prepare("SELECT what, level FROM sync_log").unwrap();
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows
        };
        assert_eq!(
            levels,
            vec![("executing".to_string(), 2), ("executed".to_string(), 2)]
        );
        let after: i64 = store
            .sqlite_conn()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(after, 1, "NORMAL again for the inbound inserts");
    }

    #[test]
    fn an_older_schema_is_migrated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO audit (seq, record, prev_hash, hash) VALUES (1, '{}', 'x', 'y')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO inbound (key, received_at, payload, state) VALUES ('ev-old', 5, '{}', 'received')",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        // Deliveries moved to the journal file, and the main file has none left.
        assert_eq!(
            store.inbound_state("ev-old").unwrap().as_deref(),
            Some("received")
        );
        assert!(dir.path().join("v1.db.inbound").exists());
        let left: i64 = store
            .sqlite_conn()
            .query_row(
                "SELECT COUNT(*) FROM main.sqlite_master WHERE name = 'inbound'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
        assert_eq!(
            store.unfinished_inbound(100).unwrap(),
            vec![("ev-old".to_string(), "{}".to_string())],
            "work from before the upgrade is resumed"
        );
        let rows = store.audit_rows().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].key_id, None,
            "records from before keyed audit are marked so"
        );
        store.insert_proposal(&row("p1", 200)).unwrap();
        assert!(store.mark_undo("p1", 1).is_ok());
    }

    /// Replicas on one host share the recovery file: lines appended while another process
    /// merges are neither lost nor merged twice.
    #[test]
    fn the_recovery_file_is_merged_whole_while_others_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let merger = Store::open(&path).unwrap();
        let writers: Vec<_> = (0..3)
            .map(|w| {
                let store = Store::open(&path).unwrap();
                std::thread::spawn(move || {
                    for n in 0..200 {
                        store.append_recovery(&format!("{w}-{n}")).unwrap();
                    }
                })
            })
            .collect();
        let mut merged = Vec::new();
        while !writers.iter().all(|w| w.is_finished()) {
            merger
                .merge_recovery(|lines| {
                    merged.extend_from_slice(lines);
                    Ok::<(), StoreError>(())
                })
                .unwrap();
        }
        for writer in writers {
            writer.join().unwrap();
        }
        merger
            .merge_recovery(|lines| {
                merged.extend_from_slice(lines);
                Ok::<(), StoreError>(())
            })
            .unwrap();
        merged.sort();
        let mut expected: Vec<String> = (0..3)
            .flat_map(|w| (0..200).map(move |n| format!("{w}-{n}")))
            .collect();
        expected.sort();
        assert_eq!(merged, expected);
        // A merge that fails leaves every line for the next start.
        merger.append_recovery("kept").unwrap();
        let failed = merger.merge_recovery(|_| Err(StoreError::Corrupt("no".into())));
        assert!(failed.is_err());
        assert_eq!(
            merger.merge_recovery(|_| Ok::<(), StoreError>(())).unwrap(),
            1
        );
    }

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
    }
}
