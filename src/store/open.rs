//! Opening a store: the first connection (which says plainly what went wrong when it cannot
//! be made), the schema brought up to date by the driver's migrator, then the pools. Also
//! `check`'s look at a database, which changes nothing.
//!
//! Each backend has one migration history (`migrations/sqlite`, `migrations/postgres`), kept
//! in the driver's `_sqlx_migrations` table. A database from before it (SQLite's
//! `PRAGMA user_version`, PostgreSQL's `okta_agent_schema`) is adopted at the version it
//! records; both markers are still advanced, so an older okta-agent refuses a newer schema.
//! Replicas starting together migrate once: on PostgreSQL under the migrator's advisory lock,
//! on SQLite inside one `BEGIN IMMEDIATE` transaction (the migrator's SQLite lock does
//! nothing).

use std::borrow::Cow;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, SqlSafeStr};

use super::database::{self, PgTarget};
use super::{Database, DatabaseKind, StoreError};

/// SQLite's migrations, oldest first: (version, name, SQL). Never edit a released one (the
/// migrator refuses a database whose applied migration changed); add the next.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "trust boundary",
        include_str!("migrations/sqlite/0002_trust_boundary.sql"),
    ),
    (
        3,
        "as written",
        include_str!("migrations/sqlite/0003_as_written.sql"),
    ),
    (
        4,
        "help questions",
        include_str!("migrations/sqlite/0004_help_questions.sql"),
    ),
    (
        5,
        "automations",
        include_str!("migrations/sqlite/0005_automations.sql"),
    ),
    (
        6,
        "instances",
        include_str!("migrations/sqlite/0006_instances.sql"),
    ),
    (
        7,
        "inbound journal",
        include_str!("migrations/sqlite/0007_inbound_journal.sql"),
    ),
    (
        8,
        "learned phrasings",
        include_str!("migrations/sqlite/0008_learned_phrasings.sql"),
    ),
    (
        9,
        "notices",
        include_str!("migrations/sqlite/0009_notices.sql"),
    ),
    (
        10,
        "lockouts",
        include_str!("migrations/sqlite/0010_lockouts.sql"),
    ),
    (
        11,
        "verifications",
        include_str!("migrations/sqlite/0011_verifications.sql"),
    ),
];

/// PostgreSQL's migrations; its first is the schema SQLite reached in six.
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "learned phrasings",
        include_str!("migrations/postgres/0002_learned_phrasings.sql"),
    ),
    (
        3,
        "notices",
        include_str!("migrations/postgres/0003_notices.sql"),
    ),
    (
        4,
        "lockouts",
        include_str!("migrations/postgres/0004_lockouts.sql"),
    ),
    (
        5,
        "verifications",
        include_str!("migrations/postgres/0005_verifications.sql"),
    ),
];

/// The inbound table of a SQLite store, in its own file (attached to the main connections as
/// `journal`). Unqualified `inbound` in the store's statements resolves to it.
const JOURNAL_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS journal.inbound (
    key         TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL,
    owner       TEXT
);
CREATE INDEX IF NOT EXISTS journal.inbound_by_age ON inbound (state, received_at);";

/// Set on every PostgreSQL connection (after connecting, not as startup options, which
/// PgBouncer refuses). A replica that stops in the middle of a transaction (frozen, or cut off
/// by the network, which the server may not notice for hours) would otherwise hold its locks,
/// the audit table's among them, and every other replica would wait behind it: the server ends
/// such a session after 10 s. The store's transactions take milliseconds. Notices (such as
/// "relation already exists, skipping") would only be log noise.
const SESSION_LIMITS: &str = "SET idle_in_transaction_session_timeout = '10s'; SET statement_timeout = '30s'; SET lock_timeout = '20s'; SET client_min_messages = 'warning'";

/// The ack path's connection does not wait for the WAL flush: a delivery is recorded before
/// its ack with the durability SQLite's `synchronous=NORMAL` gives it there, surviving
/// okta-agent's crash but not the database host's within a moment of the ack. Claims,
/// outcomes and audit records are on the other connections and wait for it.
const ACK_PATH_SESSION: &str = "SET synchronous_commit = off";

/// A pooled connection that sat idle this long is checked with a round trip before use: a
/// server restart, a failover or a firewall's idle timeout drops connections silently.
pub(super) const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);

/// The most deliveries the journal commits together. Bounds a transaction's size (and its
/// bind parameters: five a row), and sizes the journal connections' row buffers. Half of what
/// one Socket Mode connection has in hand (`slack::socket::ENVELOPES_IN_PROGRESS`): when a
/// batch took all of them, the connection read nothing while it committed; now the next half
/// is read and parsed meanwhile.
pub(super) const MAX_BATCH: usize = 128;

/// Connections per pool: the main pools serve claims, outcomes and reads from the work tasks;
/// the ack path is one writer (the journal's recorder) and a spare.
const MAIN_CONNECTIONS: u32 = 4;
const ACK_CONNECTIONS: u32 = 2;

/// SQLite's page cache per connection, per file (KiB, as SQLite takes a negative size): the
/// store reads single rows by key, and the system's file cache holds the rest. SQLite's default
/// (2 MiB) on six connections would be most of the process's memory; 128 KiB left RSS after a
/// 10,000-envelope burst 1.5–2 MiB lower than 512 KiB, and `agent_bench`'s request and
/// approval no slower (docs/measurements.md).
const SQLITE_CACHE: &str = "-128";

/// How long SQLite waits for another process's lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    let mut migrator = Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*name),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    // The callers take the lock themselves, around the adoption of a legacy schema too.
    migrator.set_locking(false);
    migrator
}

fn latest(migrations: &[(i64, &str, &str)]) -> i64 {
    migrations.last().map_or(0, |(version, _, _)| *version)
}

// ----- SQLite ----------------------------------------------------------------------------

/// The journal file beside a SQLite database.
pub(super) fn journal_path(path: &Path) -> String {
    format!("{}.inbound", path.display())
}

/// Opens (creating if needed) a SQLite file and its journal, migrated: the main pool (every
/// write `synchronous=FULL`, the journal attached at `NORMAL`) and the journal's own pool.
pub(super) async fn sqlite(path: &Path) -> Result<(SqlitePool, SqlitePool), StoreError> {
    let shown = path.display().to_string();
    let journal = journal_path(path);
    let failed = |e: sqlx::Error| open_error(&shown, e);
    let base = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .pragma("cache_size", SQLITE_CACHE)
        // Statements at TRACE only (their text, never their values); slow ones at WARN.
        .log_statements(log::LevelFilter::Trace);
    let mut first = base.connect().await.map_err(failed)?;
    // WAL keeps inserts cheap and lets a reader run beside the writer. Switching a new file to
    // it is refused at once, not waited for, while another process is switching it too.
    while_locked(&mut first, "PRAGMA journal_mode = WAL")
        .await
        .map_err(failed)?;
    let journal_failed = |e: sqlx::Error| open_error(&journal, e);
    attach_journal(&mut first, &journal)
        .await
        .map_err(journal_failed)?;
    while_locked(&mut first, "PRAGMA journal.journal_mode = WAL")
        .await
        .map_err(journal_failed)?;
    while_locked(&mut first, JOURNAL_SCHEMA)
        .await
        .map_err(journal_failed)?;
    migrate_sqlite(&mut first, &shown).await?;
    first.close().await.map_err(failed)?;

    let main = SqlitePoolOptions::new()
        .max_connections(MAIN_CONNECTIONS)
        .test_before_acquire(false)
        .after_connect({
            let journal = journal.clone();
            move |connection, _| {
                let journal = journal.clone();
                Box::pin(async move { attach_journal(connection, &journal).await })
            }
        })
        .connect_lazy_with(base.clone().synchronous(SqliteSynchronous::Full));
    let journal_pool = SqlitePoolOptions::new()
        .max_connections(ACK_CONNECTIONS)
        .test_before_acquire(false)
        .connect_lazy_with(
            base.filename(&journal)
                .synchronous(SqliteSynchronous::Normal)
                // A batch's new keys come back as rows: room for all of them at once, so the
                // driver's thread never waits for them to be read.
                .row_buffer_size(MAX_BATCH)
                // Checkpoints (an fsync) are left to the main pool, off the ack path.
                .pragma("wal_autocheckpoint", "0"),
        );
    Ok((main, journal_pool))
}

/// Attaches the journal file as `journal`, at `synchronous=NORMAL` (its rows are recorded
/// before an ack with the durability the ack path documents).
async fn attach_journal(
    connection: &mut SqliteConnection,
    journal: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("ATTACH DATABASE $1 AS journal")
        .bind(journal)
        .execute(&mut *connection)
        .await?;
    sqlx::raw_sql("PRAGMA journal.synchronous = NORMAL")
        .execute(&mut *connection)
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA journal.cache_size = {SQLITE_CACHE}"
    )))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Runs `sql` again (for up to five seconds) while SQLite refuses it as locked without
/// waiting: switching a file to WAL is refused at once, whatever the busy timeout.
async fn while_locked(
    connection: &mut SqliteConnection,
    sql: &'static str,
) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    loop {
        match sqlx::raw_sql(sql).execute(&mut *connection).await.map(drop) {
            Err(sqlx::Error::Database(e))
                if is_busy(e.code().as_deref()) && started.elapsed() < SQLITE_BUSY_TIMEOUT =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            other => return other,
        }
    }
}

/// SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5 || c & 0xff == 6)
}

/// What a SQLite file says of its schema: the version before the migrator
/// (`PRAGMA user_version`), and the newest migration the migrator recorded, if it has a table.
async fn sqlite_versions(
    connection: &mut SqliteConnection,
) -> Result<(i64, Option<i64>), sqlx::Error> {
    let legacy: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *connection)
        .await?;
    let tracked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *connection)
    .await?;
    if tracked == 0 {
        return Ok((legacy, None));
    }
    let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut *connection)
        .await?;
    Ok((legacy, Some(newest.unwrap_or(0))))
}

async fn migrate_sqlite(connection: &mut SqliteConnection, shown: &str) -> Result<(), StoreError> {
    let known = latest(SQLITE_MIGRATIONS);
    let failed = |e: sqlx::Error| open_error(shown, e);
    // Current already (every start but the first): no write lock taken.
    let (legacy, tracked) = sqlite_versions(connection).await.map_err(failed)?;
    refuse_newer(shown, tracked.unwrap_or(0).max(legacy), known)?;
    if tracked == Some(known) && legacy == known {
        return Ok(());
    }
    // Under the write lock (waited for with the busy timeout), and read again inside it:
    // replicas starting together on a new file migrate once, one after the other, and all of
    // it or none.
    let mut tx = connection
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed)?;
    let (legacy, tracked) = sqlite_versions(&mut tx).await.map_err(failed)?;
    refuse_newer(shown, tracked.unwrap_or(0).max(legacy), known)?;
    let tracked = tracked.is_some();
    let migrator = migrator(SQLITE_MIGRATIONS);
    if !tracked && legacy > 0 {
        migrator
            .run_direct(Some(legacy), &mut *tx, true)
            .await
            .map_err(|e| migrate_error(shown, e, known))?;
    }
    migrator
        .run_direct(None, &mut *tx, false)
        .await
        .map_err(|e| migrate_error(shown, e, known))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA user_version = {known}"
    )))
    .execute(&mut *tx)
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(())
}

// ----- PostgreSQL ------------------------------------------------------------------------

/// Connects, brings the schema up to date, and makes the pools: the main one and the ack
/// path's.
pub(super) async fn postgres(target: &PgTarget) -> Result<(PgPool, PgPool), StoreError> {
    let mut first = connect_postgres(target).await?;
    migrate_postgres(&mut first, &target.shown).await?;
    first
        .close()
        .await
        .map_err(|e| open_error(&target.shown, e))?;
    Ok((
        postgres_pool(target, MAIN_CONNECTIONS, SESSION_LIMITS),
        postgres_pool(target, ACK_CONNECTIONS, ACK_PATH_SESSION),
    ))
}

fn postgres_pool(target: &PgTarget, size: u32, session: &'static str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(target.connect_timeout)
        // Checked only after sitting idle, not before every statement (a round trip each).
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > CHECK_AFTER_IDLE {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |connection, _| {
            Box::pin(async move {
                sqlx::raw_sql(SESSION_LIMITS)
                    .execute(&mut *connection)
                    .await?;
                if session != SESSION_LIMITS {
                    sqlx::raw_sql(session).execute(&mut *connection).await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(
            target
                .options
                .clone()
                .log_statements(log::LevelFilter::Trace),
        )
}

/// One connection, with the session limits, or an error that says what to do.
async fn connect_postgres(target: &PgTarget) -> Result<PgConnection, StoreError> {
    let failed = |e: sqlx::Error| open_error(&target.shown, e);
    let options = target
        .options
        .clone()
        .log_statements(log::LevelFilter::Trace);
    let mut connection = match tokio::time::timeout(target.connect_timeout, options.connect()).await
    {
        Ok(connected) => connected.map_err(failed)?,
        Err(_) => {
            return Err(StoreError::Open {
                database: target.shown.clone(),
                detail: format!(
                    "no answer within {} s",
                    target.connect_timeout.as_secs()
                ),
                hint: "check that PostgreSQL is running there and reachable from this host (connect_timeout=SECONDS in the URL waits longer)",
            })
        }
    };
    sqlx::raw_sql(SESSION_LIMITS)
        .execute(&mut connection)
        .await
        .map_err(failed)?;
    Ok(connection)
}

async fn migrate_postgres(connection: &mut PgConnection, shown: &str) -> Result<(), StoreError> {
    let known = latest(POSTGRES_MIGRATIONS);
    let migrate_failed = |e: MigrateError| migrate_error(shown, e, known);
    // The migrator's advisory lock, held around the adoption of a legacy schema too.
    connection.lock().await.map_err(migrate_failed)?;
    let migrated = async {
        let failed = |e: sqlx::Error| open_error(shown, e);
        let (tracked, legacy) = postgres_versions(connection).await.map_err(failed)?;
        refuse_newer(shown, tracked.unwrap_or(0).max(legacy.unwrap_or(0)), known)?;
        let migrator = migrator(POSTGRES_MIGRATIONS);
        if let (None, Some(legacy)) = (tracked, legacy) {
            migrator
                .run_direct(Some(legacy), &mut *connection, true)
                .await
                .map_err(migrate_failed)?;
        }
        migrator
            .run_direct(None, &mut *connection, false)
            .await
            .map_err(migrate_failed)?;
        if legacy.is_some() {
            sqlx::query(
                "INSERT INTO okta_agent_schema (version) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM okta_agent_schema WHERE version >= $1)",
            )
            .bind(known)
            .execute(&mut *connection)
            .await
            .map_err(failed)?;
        }
        Ok(())
    }
    .await;
    connection.unlock().await.map_err(migrate_failed)?;
    migrated
}

/// The newest migration the driver's table records, and the version a database from before
/// it records (`okta_agent_schema`); each `None` when its table is absent.
async fn postgres_versions(
    connection: &mut PgConnection,
) -> Result<(Option<i64>, Option<i64>), sqlx::Error> {
    let mut versions = [None, None];
    for (slot, table) in versions
        .iter_mut()
        .zip(["_sqlx_migrations", "okta_agent_schema"])
    {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(&mut *connection)
            .await?;
        if exists {
            let newest: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT MAX(version) FROM {table}"
            )))
            .fetch_one(&mut *connection)
            .await?;
            *slot = Some(newest.unwrap_or(0));
        }
    }
    Ok((versions[0], versions[1]))
}

// ----- check -----------------------------------------------------------------------------

/// What `check` says of a database: reachable, and at which schema, without creating or
/// migrating anything. A schema newer than this build is an error.
pub async fn describe(url: &str) -> Result<String, StoreError> {
    describe_database(&Database::new(url)).await
}

/// `describe`, for a database with a password of its own.
pub async fn describe_database(database: &Database) -> Result<String, StoreError> {
    let (shown, found, known) = match database.kind()? {
        DatabaseKind::Sqlite(path) => {
            if !path.exists() {
                return Ok(format!(
                    "SQLite file {} will be made on first start",
                    path.display()
                ));
            }
            let shown = path.display().to_string();
            let failed = |e: sqlx::Error| open_error(&shown, e);
            let mut connection = SqliteConnectOptions::new()
                .filename(&path)
                .read_only(true)
                .log_statements(log::LevelFilter::Trace)
                .connect()
                .await
                .map_err(failed)?;
            let (legacy, tracked) = sqlite_versions(&mut connection).await.map_err(failed)?;
            connection.close().await.map_err(failed)?;
            (
                format!("SQLite file {shown}"),
                tracked.unwrap_or(0).max(legacy),
                latest(SQLITE_MIGRATIONS),
            )
        }
        DatabaseKind::Postgres(_) => {
            let target = database::postgres_target(database.url(), database.password())?;
            let failed = |e: sqlx::Error| open_error(&target.shown, e);
            let mut connection = connect_postgres(&target).await?;
            let encrypted: bool = sqlx::query_scalar(
                "SELECT COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            )
            .fetch_one(&mut connection)
            .await
            .map_err(failed)?;
            let (tracked, legacy) = postgres_versions(&mut connection).await.map_err(failed)?;
            connection.close().await.map_err(failed)?;
            (
                format!(
                    "PostgreSQL {} ({})",
                    target.shown,
                    target.ssl_mode.describe(encrypted)
                ),
                tracked.unwrap_or(0).max(legacy.unwrap_or(0)),
                latest(POSTGRES_MIGRATIONS),
            )
        }
    };
    refuse_newer(&shown, found, known)?;
    Ok(if found == known {
        format!("{shown}: reachable, schema {found} (current)")
    } else {
        format!("{shown}: reachable, schema {found}; migrated to {known} at the next start")
    })
}

// ----- errors ----------------------------------------------------------------------------

fn refuse_newer(shown: &str, found: i64, known: i64) -> Result<(), StoreError> {
    if found > known {
        return Err(StoreError::TooNew {
            path: shown.to_string(),
            found,
            known,
        });
    }
    Ok(())
}

fn migrate_error(shown: &str, error: MigrateError, known: i64) -> StoreError {
    match error {
        // A migration this build does not have was applied: a newer build's.
        MigrateError::VersionMissing(found) => StoreError::TooNew {
            path: shown.to_string(),
            found: found.max(known + 1),
            known,
        },
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => open_error(shown, e),
        other => StoreError::Migrate {
            database: shown.to_string(),
            detail: other.to_string(),
        },
    }
}

/// A connection or statement that failed while opening, with what to do about it.
fn open_error(database: &str, error: sqlx::Error) -> StoreError {
    StoreError::Open {
        database: database.to_string(),
        hint: hint(&error),
        detail: detail(&error),
    }
}

/// What went wrong, in full: the server's words for a database error (with PostgreSQL's
/// detail and hint), the chain of causes for the rest.
pub(super) fn detail(error: &sqlx::Error) -> String {
    if let sqlx::Error::Database(db) = error {
        let mut text = db.message().to_string();
        if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            if let Some(detail) = pg.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = pg.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

/// What to do about a failed connection, by what failed.
fn hint(error: &sqlx::Error) -> &'static str {
    match error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01" | "28000") => "check the user and password in DATABASE_URL",
            Some("3D000") => {
                "create the database first (okta-agent creates its tables, not the database)"
            }
            Some(code) if is_busy(Some(code)) => {
                "another process holds the database's lock; try again, and check that nothing else writes to the file"
            }
            Some(_) | None => "check the database server's log, or the file's permissions, for why it refused",
        },
        _ if detail(error).to_lowercase().contains("certificate")
            || detail(error).contains("UnknownIssuer") =>
        {
            "the server's certificate was not accepted: name the CA that signed it with sslrootcert=/path/to/ca.pem, or use sslmode=require to encrypt without checking it"
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => {
            "check that the database is running there and reachable from this host"
        }
        _ => "check DATABASE_URL and that the database is running",
    }
}
