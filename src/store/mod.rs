//! Persistence on sqlx, in SQLite (one file, the embedded default) or PostgreSQL (replicas on
//! several hosts): proposals (with their single-use state transitions), inbound deliveries,
//! help answers, automation jobs and the audit chain, under the driver's migrator. Every call
//! is async and pooled: SQLite runs on the driver's own threads, PostgreSQL on its async
//! client, so no database I/O blocks the runtime's workers. Rows are decoded by column name
//! into types, and states are enums.
//!
//! Every state change is one conditional `UPDATE`, so two clicks racing on the same proposal
//! cannot both win, even across processes sharing the database. On SQLite every write to the
//! main file is durable before it returns (`synchronous=FULL`); an outcome that cannot be
//! written at all goes to an append-only file on this host ([`recovery`]) and is merged at the
//! next start. Deliveries are recorded on the ack path's own connection, and on SQLite in a
//! file of their own, group-committed ([`journal`]), so an ack never waits behind another
//! write's fsync.
//!
//! The statements are the same text on both backends (`$N` parameters, standard SQL, except
//! where a dialect differs and says so); the `on_main!` and `in_transaction!` macros run one
//! body against whichever pool the store has, type-checked against each driver.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

/// A state kept as text: the enum, its names in the database, and the way back from a name
/// (an unknown one is a decoding error that names it).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::store::UnknownValue;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                $(if text == $text {
                    return Ok(Self::$variant);
                })+
                Err($crate::store::UnknownValue { what: $what, value: text })
            }
        }

        // Read from a text column on either backend; an unknown name is a decoding error
        // that names the value.
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(Self::try_from(text)?)
            }
        }
    };
}

/// Runs `$body` with `$pool` bound to the main pool of the store's backend.
macro_rules! on_main {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite { main: $pool, .. } => $body,
            $crate::store::Backend::Postgres { main: $pool, .. } => $body,
        }
    };
}

/// Runs `$body` in one transaction on the main pool, with `$tx` the transaction, committed
/// when the body does not return early. On SQLite it holds the write lock from its start
/// (`BEGIN IMMEDIATE`), so a read inside it is never stale by the time it writes.
macro_rules! in_transaction {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite { main, .. } => {
                let mut $tx = main.begin_with("BEGIN IMMEDIATE").await?;
                let done = $body;
                $tx.commit().await?;
                done
            }
            $crate::store::Backend::Postgres { main, .. } => {
                let mut $tx = main.begin().await?;
                let done = $body;
                $tx.commit().await?;
                done
            }
        }
    };
}

mod automations;
mod database;
mod journal;
mod lockouts;
mod open;
mod recovery;
mod verifications;

pub use automations::{JobKind, JobRow, JobState, ReactionRole, ReactionRow, JOB_LEASE_SECS};
pub use database::{
    database_kind, sqlite_path, url_has_password, Database, DatabaseKind, DEFAULT_DATABASE_URL,
};
pub use journal::InboundState;
pub use lockouts::{LockoutRow, LockoutState, LogCursor};
pub use open::{describe, describe_database};
pub use recovery::RecoveryLines;
pub use verifications::{VerificationRow, VerificationState};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL '{0}' is not supported; use sqlite://path/to/file.db or postgres://user:password@host:5432/database")]
    UnsupportedUrl(String),
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0} (the form is postgres://user:password@host:5432/database)")]
    BadPostgresUrl(String),
    #[error("cannot open the database {database}: {detail}; {hint}")]
    Open {
        database: String,
        detail: String,
        hint: &'static str,
    },
    #[error("the database {path} was written by a newer okta-agent (schema {found}, this build knows {known}); upgrade okta-agent")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("cannot bring the database {database} to this build's schema: {detail}")]
    Migrate { database: String, detail: String },
    #[error("PostgreSQL TLS: {0}")]
    Tls(String),
    #[error("database error: {}", open::detail(.0))]
    Sql(#[from] sqlx::Error),
    #[error("could not record deliveries: {0}")]
    Journal(String),
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("the recovery file {path}: {source}")]
    Fallback {
        path: String,
        source: std::io::Error,
    },
}

/// A stored name that is not one of its enum's: a row written by something else.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} '{value}'")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
}

text_enum! {
    /// Where a proposal is in its life.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ProposalState ("proposal state") {
        Pending = "pending",
        Executing = "executing",
        Executed = "executed",
        Failed = "failed",
        Rejected = "rejected",
        Expired = "expired",
        /// Okta may or may not have acted: the process stopped between the claim and the
        /// outcome.
        Unknown = "unknown",
    }
}

impl ProposalState {
    pub fn is_final(self) -> bool {
        match self {
            Self::Pending | Self::Executing => false,
            Self::Executed | Self::Failed | Self::Rejected | Self::Expired | Self::Unknown => true,
        }
    }
}

/// A proposal row, as stored. The approvals module owns its meaning.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
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
    pub state: ProposalState,
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
    WrongState(ProposalState),
    /// It had expired; it is now marked `expired`.
    Expired,
    Missing,
    /// Still pending, but its verification does not let this approver approve it yet.
    Unverified,
}

/// One audit row: the record's JSON and its place in the hash chain.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub record: String,
    pub prev_hash: String,
    pub hash: String,
    /// The audit key that signed this link; `None` for records from before keyed audit.
    pub key_id: Option<String>,
}

text_enum! {
    /// What became of a help answer.
    pub enum HelpAnswerState ("help answer state") {
        Open = "open",
        Solved = "solved",
        Escalated = "escalated",
    }
}

/// An answer the help assistant posted, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct HelpAnswerRow {
    pub channel: String,
    pub answer_ts: String,
    pub question_ts: String,
    pub asker: String,
    pub state: HelpAnswerState,
    pub decided_by: Option<String>,
}

/// A phrasing the help assistant learned: a help-channel question and the document an IT admin
/// said answers it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LearnedPhrasingRow {
    pub id: i64,
    /// The document's source (file name or URL).
    pub doc: String,
    pub phrasing: String,
    pub taught_by: String,
    pub taught_at: i64,
    /// Where the question was asked.
    pub channel: String,
    pub question_ts: String,
}

/// The pools behind the store.
#[derive(Debug)]
pub(crate) enum Backend {
    Sqlite {
        /// Everything, with the inbound journal file attached as `journal`.
        main: SqlitePool,
        /// The inbound journal file alone: the ack path's.
        journal: SqlitePool,
    },
    Postgres {
        main: PgPool,
        /// The ack path's: commits that do not wait for the WAL flush.
        ack: PgPool,
    },
}

#[derive(Debug)]
pub struct Store {
    backend: Backend,
    /// The ack path's recorder (group commit).
    journal: std::sync::Arc<journal::Journal>,
    /// The file, or the PostgreSQL URL without its password.
    location: String,
    /// Where writes that failed after an Okta change wait for the next start.
    recovery: PathBuf,
    /// This handle's instance id: the owner of the work it takes.
    instance: String,
    /// How long an instance's lease lasts without a heartbeat.
    lease_secs: AtomicI64,
}

/// How long an instance's lease lasts without a heartbeat, unless `[store] lease_seconds` says.
pub const DEFAULT_LEASE_SECS: i64 = 30;

/// The recovery file of a PostgreSQL store: it is this host's, so it lives in the working
/// directory (the state directory under systemd).
pub const POSTGRES_RECOVERY_FILE: &str = "okta-agent.recovery.jsonl";

/// The `prev_hash` of the first audit record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl Store {
    /// Opens the database a `DATABASE_URL` names: a SQLite file (created if needed) or a
    /// PostgreSQL database (which must exist); either way migrated to this build's schema.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        Self::open_database(&Database::new(url)).await
    }

    /// `open_url`, for a database with a password of its own.
    pub async fn open_database(database: &Database) -> Result<Self, StoreError> {
        let url = database.url();
        if database::is_postgres_url(url) {
            let target = database::postgres_target(url, database.password())?;
            let (main, ack) = open::postgres(&target).await?;
            return Self::with_backend(
                target.shown,
                PathBuf::from(POSTGRES_RECOVERY_FILE),
                Backend::Postgres { main, ack },
            )
            .await;
        }
        Self::open(&sqlite_path(url)?).await
    }

    /// Opens (creating if needed) a SQLite file, with its inbound journal beside it
    /// (`<file>.inbound`).
    pub async fn open(path: &std::path::Path) -> Result<Self, StoreError> {
        let (main, journal) = open::sqlite(path).await?;
        let location = path.display().to_string();
        let recovery = PathBuf::from(format!("{location}.recovery.jsonl"));
        Self::with_backend(location, recovery, Backend::Sqlite { main, journal }).await
    }

    async fn with_backend(
        location: String,
        recovery: PathBuf,
        backend: Backend,
    ) -> Result<Self, StoreError> {
        let instance = format!("i-{}", uuid::Uuid::new_v4().simple());
        let journal = std::sync::Arc::new(journal::Journal::start(&backend, &instance));
        journal.connect().await?;
        Ok(Self {
            journal,
            backend,
            location,
            recovery,
            instance,
            lease_secs: AtomicI64::new(DEFAULT_LEASE_SECS),
        })
    }

    /// Finishes the writes in hand and closes the connections (a clean stop).
    pub async fn close(&self) {
        self.journal.close().await;
        match &self.backend {
            Backend::Sqlite { main, journal } => {
                journal.close().await;
                main.close().await;
            }
            Backend::Postgres { main, ack } => {
                ack.close().await;
                main.close().await;
            }
        }
    }

    /// Sets how long a lease lasts without a heartbeat.
    pub fn set_lease_secs(&self, secs: i64) {
        self.lease_secs.store(secs.max(1), Ordering::SeqCst);
    }

    pub fn lease_secs(&self) -> i64 {
        self.lease_secs.load(Ordering::SeqCst)
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
        match self.backend {
            Backend::Sqlite { .. } => true,
            Backend::Postgres { .. } => false,
        }
    }

    // ----- proposals ---------------------------------------------------------------------

    pub async fn insert_proposal(&self, row: &ProposalRow) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO proposals (id, created_at, expires_at, requester, tool, call, target, policy_version, binding_hash, state, approver, decided_at, outcome, conversation, undo_of, worded_by, as_written, access_seconds, reason, trigger)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)";
        on_main!(self, pool => {
            sqlx::query(SQL)
                .bind(&row.id)
                .bind(row.created_at)
                .bind(row.expires_at)
                .bind(&row.requester)
                .bind(&row.tool)
                .bind(&row.call)
                .bind(&row.target)
                .bind(&row.policy_version)
                .bind(&row.binding_hash)
                .bind(row.state.as_str())
                .bind(&row.approver)
                .bind(row.decided_at)
                .bind(&row.outcome)
                .bind(&row.conversation)
                .bind(&row.undo_of)
                .bind(&row.worded_by)
                .bind(&row.as_written)
                .bind(row.access_seconds)
                .bind(&row.reason)
                .bind(&row.trigger)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Proposals still waiting for a decision at `now`, oldest first (`okta-agent pending`).
    pub async fn open_proposals(&self, now: i64) -> Result<Vec<ProposalRow>, StoreError> {
        const SQL: &str = "SELECT id, created_at, expires_at, requester, tool, call, target, policy_version, binding_hash, state, approver, decided_at, outcome, conversation, undo_of, worded_by, as_written, access_seconds, reason, trigger
             FROM proposals WHERE state = $1 AND expires_at > $2 ORDER BY created_at, id";
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, ProposalRow>(SQL)
                .bind(ProposalState::Pending.as_str())
                .bind(now)
                .fetch_all(pool)
                .await?
        }))
    }

    pub async fn proposal(&self, id: &str) -> Result<Option<ProposalRow>, StoreError> {
        const SQL: &str = "SELECT id, created_at, expires_at, requester, tool, call, target, policy_version, binding_hash, state, approver, decided_at, outcome, conversation, undo_of, worded_by, as_written, access_seconds, reason, trigger
             FROM proposals WHERE id = $1";
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, ProposalRow>(SQL).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Moves a pending, unexpired proposal to `to`, recording who and when. Exactly one caller
    /// can win this for a given proposal.
    pub async fn decide(
        &self,
        id: &str,
        to: ProposalState,
        by: &str,
        now: i64,
    ) -> Result<Transition, StoreError> {
        let instance = self.instance.as_str();
        Ok(in_transaction!(self, tx => {
            // Approving also needs the person verified, or two admins, when the proposal asks.
            let statement = if to == ProposalState::Executing {
                "UPDATE proposals SET state = $2, approver = $3, decided_at = $4, owner = $5
                 WHERE id = $1 AND state = 'pending' AND expires_at > $4
                 AND NOT EXISTS (SELECT 1 FROM verifications v WHERE v.proposal_id = proposals.id AND NOT (
                     v.state IN ('success', 'overridden')
                     OR (v.state = 'no_factor' AND (v.needs_second = 0
                         OR (v.first_approver IS NOT NULL AND v.first_approver <> $3)))))"
            } else {
                "UPDATE proposals SET state = $2, approver = $3, decided_at = $4, owner = $5
                 WHERE id = $1 AND state = 'pending' AND expires_at > $4"
            };
            let changed = sqlx::query(statement)
            .bind(id)
            .bind(to.as_str())
            .bind(by)
            .bind(now)
            .bind(instance)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                Transition::Done
            } else {
                let current: Option<CurrentState> =
                    sqlx::query_as("SELECT state, expires_at FROM proposals WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                match current {
                    None => Transition::Missing,
                    Some(current)
                        if current.state == ProposalState::Pending && current.expires_at <= now =>
                    {
                        sqlx::query(
                            "UPDATE proposals SET state = 'expired', decided_at = $2 WHERE id = $1 AND state = 'pending'",
                        )
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        Transition::Expired
                    }
                    Some(current) if current.state == ProposalState::Pending => {
                        Transition::Unverified
                    }
                    Some(current) => Transition::WrongState(current.state),
                }
            }
        }))
    }

    /// Records how an executing proposal ended. Only an `executing` proposal can finish.
    pub async fn finish(
        &self,
        id: &str,
        state: ProposalState,
        outcome: &str,
    ) -> Result<Transition, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE proposals SET state = $2, outcome = $3 WHERE id = $1 AND state = 'executing'",
            )
            .bind(id)
            .bind(state.as_str())
            .bind(outcome)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed == 1 {
            return Ok(Transition::Done);
        }
        Ok(match self.proposal(id).await? {
            Some(row) => Transition::WrongState(row.state),
            None => Transition::Missing,
        })
    }

    /// Marks that the Undo of an executed proposal was used; true for exactly one caller.
    pub async fn mark_undo(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE proposals SET undo_offered_at = $2 WHERE id = $1 AND state = 'executed' AND undo_offered_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Makes the Undo of a proposal available again (its undo was refused by policy).
    pub async fn release_undo(&self, id: &str) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query("UPDATE proposals SET undo_offered_at = NULL WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Proposals left `executing` by a process whose lease has lapsed (a crash between the
    /// claim and the outcome): never this instance's, never a live one's.
    pub async fn orphaned_executing(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let since = now - self.lease_secs();
        Ok(on_main!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT id FROM proposals WHERE state = 'executing'
                 AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE heartbeat_at > $1))
                 AND (owner IS NULL OR owner != $2)",
            )
            .bind(since)
            .bind(&self.instance)
            .fetch_all(pool)
            .await?
        }))
    }

    /// How many proposals `requester` made since `since`.
    pub async fn proposals_by_requester_since(
        &self,
        requester: &str,
        since: i64,
    ) -> Result<u32, StoreError> {
        let n = on_main!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM proposals WHERE requester = $1 AND created_at >= $2",
            )
            .bind(requester)
            .bind(since)
            .fetch_one(pool)
            .await?
        });
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How many proposals about the Okta user `target_id` were made since `since`, not counting
    /// rejected or expired ones.
    pub async fn proposals_about_since(
        &self,
        target_id: &str,
        since: i64,
    ) -> Result<u32, StoreError> {
        let n = on_main!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM proposals WHERE target_id = $1 AND created_at >= $2 AND state NOT IN ('rejected', 'expired')",
            )
            .bind(target_id)
            .bind(since)
            .fetch_one(pool)
            .await?
        });
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    // ----- instance leases ---------------------------------------------------------------

    /// Renews this instance's lease.
    pub async fn heartbeat(&self, now: i64) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query(
                "INSERT INTO instances (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = $2",
            )
            .bind(&self.instance)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Gives the lease up (a clean stop): what this instance left unfinished may be taken
    /// over at once.
    pub async fn retire(&self) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query("DELETE FROM instances WHERE id = $1")
                .bind(&self.instance)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Instances whose lease is live at `now`.
    pub async fn live_instances(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let since = now - self.lease_secs();
        Ok(on_main!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT id FROM instances WHERE heartbeat_at > $1 ORDER BY id",
            )
            .bind(since)
            .fetch_all(pool)
            .await?
        }))
    }

    // ----- audit -------------------------------------------------------------------------

    /// Appends a record to the chain: reads the head and inserts in one transaction that
    /// holds the table's write lock from the start, so concurrent appends, from this process
    /// or another replica, cannot fork the chain.
    pub async fn append_audit(
        &self,
        key_id: Option<&str>,
        link: impl FnOnce(i64, &str) -> (String, String) + Send,
    ) -> Result<AuditRow, StoreError> {
        const HEAD: &str = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
        const INSERT: &str =
            "INSERT INTO audit (seq, record, prev_hash, hash, key_id) VALUES ($1, $2, $3, $4, $5)";
        let (seq, prev_hash, record, hash) = match &self.backend {
            Backend::Sqlite { main, .. } => {
                // BEGIN IMMEDIATE takes SQLite's one write lock.
                let mut tx = main.begin_with("BEGIN IMMEDIATE").await?;
                let head: Option<(i64, String)> =
                    sqlx::query_as(HEAD).fetch_optional(&mut *tx).await?;
                let (seq, prev_hash) = next_link(head);
                let (record, hash) = link(seq, &prev_hash);
                sqlx::query(INSERT)
                    .bind(seq)
                    .bind(&record)
                    .bind(&prev_hash)
                    .bind(&hash)
                    .bind(key_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                (seq, prev_hash, record, hash)
            }
            Backend::Postgres { main, .. } => {
                let mut tx = main.begin().await?;
                // Conflicts with itself, not with readers: appends queue, `audit verify` runs.
                sqlx::query("LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                let head: Option<(i64, String)> =
                    sqlx::query_as(HEAD).fetch_optional(&mut *tx).await?;
                let (seq, prev_hash) = next_link(head);
                let (record, hash) = link(seq, &prev_hash);
                sqlx::query(INSERT)
                    .bind(seq)
                    .bind(&record)
                    .bind(&prev_hash)
                    .bind(&hash)
                    .bind(key_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                (seq, prev_hash, record, hash)
            }
        };
        Ok(AuditRow {
            seq,
            record,
            prev_hash,
            hash,
            key_id: key_id.map(str::to_string),
        })
    }

    /// Whether the chain already holds a record with this event for this proposal (merging
    /// the recovery file twice must not audit twice).
    pub async fn has_audit_event(
        &self,
        proposal_id: &str,
        event: &str,
    ) -> Result<bool, StoreError> {
        let n: i64 = match &self.backend {
            Backend::Sqlite { main, .. } => sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit WHERE json_extract(record, '$.proposal_id') = $1 AND json_extract(record, '$.event') = $2",
            )
            .bind(proposal_id)
            .bind(event)
            .fetch_one(main)
            .await?,
            Backend::Postgres { main, .. } => sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit WHERE record::jsonb ->> 'proposal_id' = $1 AND record::jsonb ->> 'event' = $2",
            )
            .bind(proposal_id)
            .bind(event)
            .fetch_one(main)
            .await?,
        };
        Ok(n > 0)
    }

    /// Audit rows after `after_seq`, in order, at most `limit`: the chain check and the export
    /// page through the table, so their memory does not grow with it.
    pub async fn audit_rows_after(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT seq, record, prev_hash, hash, key_id FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after_seq)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The newest `limit` audit rows, newest first (the App Home's recent actions).
    pub async fn audit_latest(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT seq, record, prev_hash, hash, key_id FROM audit ORDER BY seq DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Whether any audit record was signed with a key.
    pub async fn audit_has_signed_rows(&self) -> Result<bool, StoreError> {
        let n = on_main!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM (SELECT 1 FROM audit WHERE key_id IS NOT NULL LIMIT 1) AS signed",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(n > 0)
    }

    pub async fn audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, AuditRow>(
                "SELECT seq, record, prev_hash, hash, key_id FROM audit ORDER BY seq",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    // ----- help answers ------------------------------------------------------------------

    pub async fn insert_help_answer(&self, row: &HelpAnswerRow) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query(
                "INSERT INTO help_answers (channel, answer_ts, question_ts, asker, state, decided_by) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&row.channel)
            .bind(&row.answer_ts)
            .bind(&row.question_ts)
            .bind(&row.asker)
            .bind(row.state.as_str())
            .bind(&row.decided_by)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn help_answer(
        &self,
        channel: &str,
        answer_ts: &str,
    ) -> Result<Option<HelpAnswerRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, HelpAnswerRow>(
                "SELECT channel, answer_ts, question_ts, asker, state, decided_by FROM help_answers WHERE channel = $1 AND answer_ts = $2",
            )
            .bind(channel)
            .bind(answer_ts)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Whether the help question at (`channel`, `question_ts`) was already answered.
    pub async fn help_question_answered(
        &self,
        channel: &str,
        question_ts: &str,
    ) -> Result<bool, StoreError> {
        let n = on_main!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM help_answers WHERE channel = $1 AND question_ts = $2",
            )
            .bind(channel)
            .bind(question_ts)
            .fetch_one(pool)
            .await?
        });
        Ok(n > 0)
    }

    /// Moves a help answer from `from` to `state`; true for exactly one caller.
    pub async fn decide_help_answer(
        &self,
        channel: &str,
        answer_ts: &str,
        from: HelpAnswerState,
        state: HelpAnswerState,
        by: &str,
    ) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE help_answers SET state = $4, decided_by = $5 WHERE channel = $1 AND answer_ts = $2 AND state = $3",
            )
            .bind(channel)
            .bind(answer_ts)
            .bind(from.as_str())
            .bind(state.as_str())
            .bind(by)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    // ----- learned phrasings -------------------------------------------------------------

    /// Records a learned phrasing; its id, or `None` when the document already had it.
    pub async fn insert_learned_phrasing(
        &self,
        row: &LearnedPhrasingRow,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO learned_phrasings (doc, phrasing, taught_by, taught_at, channel, question_ts)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(&row.doc)
            .bind(&row.phrasing)
            .bind(&row.taught_by)
            .bind(row.taught_at)
            .bind(&row.channel)
            .bind(&row.question_ts)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Every learned phrasing, oldest first.
    pub async fn learned_phrasings(&self) -> Result<Vec<LearnedPhrasingRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, LearnedPhrasingRow>(
                "SELECT id, doc, phrasing, taught_by, taught_at, channel, question_ts FROM learned_phrasings ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Forgets a learned phrasing; the row it was, or `None` when there is no such id.
    pub async fn forget_learned_phrasing(
        &self,
        id: i64,
    ) -> Result<Option<LearnedPhrasingRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, LearnedPhrasingRow>(
                "DELETE FROM learned_phrasings WHERE id = $1
                 RETURNING id, doc, phrasing, taught_by, taught_at, channel, question_ts",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        }))
    }

    // ----- notices -----------------------------------------------------------------------

    /// Remembers a notice DM sent to `person` at `ts` about a proposal.
    pub async fn insert_notice(
        &self,
        person: &str,
        ts: &str,
        proposal_id: &str,
        sent_at: i64,
    ) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query(
                "INSERT INTO notices (person, ts, proposal_id, sent_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(person)
            .bind(ts)
            .bind(proposal_id)
            .bind(sent_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The proposal a notice sent to `person` at `ts` was about, if it was one.
    pub async fn notice(&self, person: &str, ts: &str) -> Result<Option<String>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_scalar::<_, String>(
                "SELECT proposal_id FROM notices WHERE person = $1 AND ts = $2",
            )
            .bind(person)
            .bind(ts)
            .fetch_optional(pool)
            .await?
        }))
    }

    // ----- for tests ---------------------------------------------------------------------

    /// A setting of this store's sessions (the ack path's, or the others'); only tests use it.
    #[doc(hidden)]
    pub async fn session_setting(&self, name: &str, ack_path: bool) -> Result<String, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite { main, journal } => {
                let pool = if ack_path { journal } else { main };
                let value: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "PRAGMA {}",
                    name.replace(
                        |c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '.',
                        ""
                    )
                )))
                .fetch_one(pool)
                .await?;
                value.to_string()
            }
            Backend::Postgres { main, ack } => {
                let pool = if ack_path { ack } else { main };
                sqlx::query_scalar("SELECT current_setting($1)")
                    .bind(name)
                    .fetch_one(pool)
                    .await?
            }
        })
    }

    /// Runs raw SQL on the main pool; only tests use it, to tamper with records.
    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        Ok(on_main!(self, pool => {
            sqlx::raw_sql(sql).execute(pool).await?.rows_affected()
        }))
    }
}

/// A proposal's state and expiry, read when a conditional update changed nothing.
#[derive(sqlx::FromRow)]
struct CurrentState {
    state: ProposalState,
    expires_at: i64,
}

/// The sequence number and previous hash of the record after `head`.
fn next_link(head: Option<(i64, String)>) -> (i64, String) {
    match head {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    }
}
