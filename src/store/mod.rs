//! Persistence in SQLite: proposals (with their single-use state transitions), inbound dedupe
//! keys, help answers and the audit chain, under versioned migrations. Every state change is one
//! conditional `UPDATE`, so two clicks racing on the same proposal cannot both win, even across
//! processes sharing the file. The claim and the outcome are written with `synchronous=FULL`, so
//! a power cut cannot undo them; an outcome that cannot be written at all goes to an
//! append-only file beside the database and is merged at the next start.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

mod automations;
pub use automations::{JobRow, ReactionRow, JOB_LEASE_SECS};

/// Migration `n` (1-based) takes the schema from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_trust_boundary.sql"),
    include_str!("migrations/0003_as_written.sql"),
    include_str!("migrations/0004_help_questions.sql"),
    include_str!("migrations/0005_automations.sql"),
    include_str!("migrations/0006_instances.sql"),
];
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL '{0}' is not supported; use sqlite://path/to/file.db (PostgreSQL is not supported yet)")]
    UnsupportedUrl(String),
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("the database {path} was written by a newer okta-agent (schema {found}, this build knows {SCHEMA_VERSION}); upgrade okta-agent")]
    TooNew { path: String, found: i64 },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
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

/// An answer the help assistant posted, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpAnswerRow {
    pub channel: String,
    pub answer_ts: String,
    pub question_ts: String,
    pub asker: String,
    /// `open`, `solved` or `escalated`.
    pub state: String,
    pub decided_by: Option<String>,
}

#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    location: String,
    /// This handle's instance id: the owner of the work it takes.
    instance: String,
    /// How long an instance's lease lasts without a heartbeat.
    lease_secs: std::sync::atomic::AtomicI64,
}

/// How long an instance's lease lasts without a heartbeat, unless `[store] lease_seconds` says.
pub const DEFAULT_LEASE_SECS: i64 = 30;

/// The default `DATABASE_URL`: a file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://okta-agent.db";

/// The file a `DATABASE_URL` names.
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

impl Store {
    /// Opens (creating if needed) the database a `DATABASE_URL` names.
    pub fn open_url(url: &str) -> Result<Self, StoreError> {
        Self::open(&sqlite_path(url)?)
    }

    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let location = path.display().to_string();
        let open_err = |source| StoreError::Open {
            path: location.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        // WAL keeps inserts cheap (the ack budget) and lets a reader run beside the writer.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(open_err)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: location,
                found,
            });
        }
        for version in found + 1..=SCHEMA_VERSION {
            let sql = MIGRATIONS[(version - 1) as usize];
            let tx = conn.unchecked_transaction().map_err(open_err)?;
            tx.execute_batch(sql).map_err(open_err)?;
            tx.pragma_update(None, "user_version", version)
                .map_err(open_err)?;
            tx.commit().map_err(open_err)?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
            location,
            instance: format!("i-{}", uuid::Uuid::new_v4().simple()),
            lease_secs: std::sync::atomic::AtomicI64::new(DEFAULT_LEASE_SECS),
        })
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

    pub fn location(&self) -> &str {
        &self.location
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (statements are
        // atomic), so a poisoned lock is still safe to use.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ----- proposals ---------------------------------------------------------------------

    pub fn insert_proposal(&self, row: &ProposalRow) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO proposals (id, created_at, expires_at, requester, tool, call, target, policy_version, binding_hash, state, approver, decided_at, outcome, conversation, undo_of, worded_by, as_written, access_seconds, reason, trigger)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            params![
                row.id, row.created_at, row.expires_at, row.requester, row.tool, row.call,
                row.target, row.policy_version, row.binding_hash, row.state, row.approver,
                row.decided_at, row.outcome, row.conversation, row.undo_of, row.worded_by,
                row.as_written, row.access_seconds, row.reason, row.trigger
            ],
        )?;
        Ok(())
    }

    pub fn proposal(&self, id: &str) -> Result<Option<ProposalRow>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, created_at, expires_at, requester, tool, call, target, policy_version, binding_hash, state, approver, decided_at, outcome, conversation, undo_of, worded_by, as_written, access_seconds, reason, trigger
                 FROM proposals WHERE id = ?1",
                [id],
                |r| {
                    Ok(ProposalRow {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        expires_at: r.get(2)?,
                        requester: r.get(3)?,
                        tool: r.get(4)?,
                        call: r.get(5)?,
                        target: r.get(6)?,
                        policy_version: r.get(7)?,
                        binding_hash: r.get(8)?,
                        state: r.get(9)?,
                        approver: r.get(10)?,
                        decided_at: r.get(11)?,
                        outcome: r.get(12)?,
                        conversation: r.get(13)?,
                        undo_of: r.get(14)?,
                        worded_by: r.get(15)?,
                        as_written: r.get(16)?,
                        access_seconds: r.get(17)?,
                        reason: r.get(18)?,
                        trigger: r.get(19)?,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Moves a pending, unexpired proposal to `to`, recording who and when. Exactly one caller
    /// can win this for a given proposal.
    pub fn decide(&self, id: &str, to: &str, by: &str, now: i64) -> Result<Transition, StoreError> {
        let conn = self.conn();
        let _durable = Durable::full(&conn)?;
        let tx = conn.unchecked_transaction()?;
        let changed = tx.execute(
            "UPDATE proposals SET state = ?2, approver = ?3, decided_at = ?4, owner = ?5
             WHERE id = ?1 AND state = 'pending' AND expires_at > ?4",
            params![id, to, by, now, self.instance],
        )?;
        let result = if changed == 1 {
            Transition::Done
        } else {
            let current: Option<(String, i64)> = tx
                .query_row(
                    "SELECT state, expires_at FROM proposals WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match current {
                None => Transition::Missing,
                Some((state, expires_at)) if state == "pending" && expires_at <= now => {
                    tx.execute(
                        "UPDATE proposals SET state = 'expired', decided_at = ?2 WHERE id = ?1 AND state = 'pending'",
                        params![id, now],
                    )?;
                    Transition::Expired
                }
                Some((state, _)) => Transition::WrongState(state),
            }
        };
        tx.commit()?;
        Ok(result)
    }

    /// Records how an executing proposal ended. Only an `executing` proposal can finish.
    pub fn finish(&self, id: &str, state: &str, outcome: &str) -> Result<Transition, StoreError> {
        let changed = {
            let conn = self.conn();
            let _durable = Durable::full(&conn)?;
            conn.execute(
                "UPDATE proposals SET state = ?2, outcome = ?3 WHERE id = ?1 AND state = 'executing'",
                params![id, state, outcome],
            )?
        };
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
        let changed = self.conn().execute(
            "UPDATE proposals SET undo_offered_at = ?2 WHERE id = ?1 AND state = 'executed' AND undo_offered_at IS NULL",
            params![id, now],
        )?;
        Ok(changed == 1)
    }

    /// Makes the Undo of a proposal available again (its undo was refused by policy).
    pub fn release_undo(&self, id: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE proposals SET undo_offered_at = NULL WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Proposals left `executing` by a process whose lease has lapsed (a crash between the
    /// claim and the outcome): never this instance's, never a live one's.
    pub fn orphaned_executing(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let lease_secs = self.lease_secs();
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id FROM proposals WHERE state = 'executing'
             AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE heartbeat_at > ?1))
             AND (owner IS NULL OR owner != ?2)",
        )?;
        let rows = stmt
            .query_map(params![now - lease_secs, self.instance], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Proposals left `executing` (a crash between the claim and the outcome).
    pub fn executing(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id FROM proposals WHERE state = 'executing'")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    /// How many proposals `requester` made since `since`.
    pub fn proposals_by_requester_since(
        &self,
        requester: &str,
        since: i64,
    ) -> Result<u32, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM proposals WHERE requester = ?1 AND created_at >= ?2",
            params![requester, since],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How many proposals about the Okta user `target_id` were made since `since`, not counting
    /// rejected or expired ones.
    pub fn proposals_about_since(&self, target_id: &str, since: i64) -> Result<u32, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM proposals WHERE target_id = ?1 AND created_at >= ?2 AND state NOT IN ('rejected', 'expired')",
            params![target_id, since],
            |r| r.get(0),
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    // ----- inbound dedupe ----------------------------------------------------------------

    /// Records an inbound delivery key with what is needed to process it. Returns false when the
    /// key was seen before (a redelivery or a double click).
    pub fn remember_inbound(&self, key: &str, payload: &str, now: i64) -> Result<bool, StoreError> {
        let inserted = self.conn().execute(
            "INSERT OR IGNORE INTO inbound (key, received_at, payload, state, owner) VALUES (?1, ?2, ?3, 'received', ?4)",
            params![key, now, payload, self.instance],
        )?;
        Ok(inserted == 1)
    }

    pub fn finish_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("UPDATE inbound SET state = 'done' WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Forgets a dedupe key, so the same delivery may be handled again (a form submission
    /// that was answered with errors can be sent again as it is).
    pub fn forget_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM inbound WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Marks inbound work that crashed its task: it is never replayed.
    pub fn fail_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("UPDATE inbound SET state = 'failed' WHERE key = ?1", [key])?;
        Ok(())
    }

    /// The state of an inbound delivery (`received`, `done`, `failed`), if it is known.
    pub fn inbound_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT state FROM inbound WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Deletes finished inbound rows (and the message text they hold) received before
    /// `before`. Returns how many went.
    pub fn purge_inbound(&self, before: i64) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM inbound WHERE state IN ('done', 'failed') AND received_at < ?1",
            [before],
        )?)
    }

    /// Inbound work acknowledged but never finished by a process whose lease has lapsed (or
    /// by no process on record), taken over by this one: (key, payload), oldest first. Work of
    /// a live process is left alone.
    pub fn unfinished_inbound(&self, now: i64) -> Result<Vec<(String, String)>, StoreError> {
        let lease_secs = self.lease_secs();
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT key, payload, owner FROM inbound WHERE state = 'received'
             AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE heartbeat_at > ?1))
             AND (owner IS NULL OR owner != ?2)
             ORDER BY received_at, key",
        )?;
        let found = stmt
            .query_map(params![now - lease_secs, self.instance], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut taken = Vec::new();
        for (key, payload, owner) in found {
            // One process takes each: the owner it saw must still be the owner.
            let changed = conn.execute(
                "UPDATE inbound SET owner = ?2 WHERE key = ?1 AND state = 'received' AND owner IS ?3",
                params![key, self.instance, owner],
            )?;
            if changed == 1 {
                taken.push((key, payload));
            }
        }
        Ok(taken)
    }

    /// Renews this instance's lease.
    pub fn heartbeat(&self, now: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO instances (id, started_at, heartbeat_at) VALUES (?1, ?2, ?2)
             ON CONFLICT(id) DO UPDATE SET heartbeat_at = ?2",
            params![self.instance, now],
        )?;
        Ok(())
    }

    /// Gives the lease up (a clean stop): what this instance left unfinished may be taken
    /// over at once.
    pub fn retire(&self) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM instances WHERE id = ?1", [&self.instance])?;
        Ok(())
    }

    /// Instances whose lease is live at `now`.
    pub fn live_instances(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let lease_secs = self.lease_secs();
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id FROM instances WHERE heartbeat_at > ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([now - lease_secs], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    // ----- audit -------------------------------------------------------------------------

    /// Appends a record to the chain: reads the head and inserts in one transaction, so
    /// concurrent appends cannot fork the chain.
    pub fn append_audit(
        &self,
        key_id: Option<&str>,
        link: impl FnOnce(i64, &str) -> (String, String),
    ) -> Result<AuditRow, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let head: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (seq, prev_hash) = match head {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_string()),
        };
        let (record, hash) = link(seq, &prev_hash);
        tx.execute(
            "INSERT INTO audit (seq, record, prev_hash, hash, key_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![seq, record, prev_hash, hash, key_id],
        )?;
        tx.commit()?;
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
    pub fn has_audit_event(&self, proposal_id: &str, event: &str) -> Result<bool, StoreError> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM audit WHERE json_extract(record, '$.proposal_id') = ?1 AND json_extract(record, '$.event') = ?2",
            params![proposal_id, event],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    pub fn audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT seq, record, prev_hash, hash, key_id FROM audit ORDER BY seq")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AuditRow {
                    seq: r.get(0)?,
                    record: r.get(1)?,
                    prev_hash: r.get(2)?,
                    hash: r.get(3)?,
                    key_id: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    // ----- help answers ------------------------------------------------------------------

    pub fn insert_help_answer(&self, row: &HelpAnswerRow) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR IGNORE INTO help_answers (channel, answer_ts, question_ts, asker, state, decided_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![row.channel, row.answer_ts, row.question_ts, row.asker, row.state, row.decided_by],
        )?;
        Ok(())
    }

    pub fn help_answer(
        &self,
        channel: &str,
        answer_ts: &str,
    ) -> Result<Option<HelpAnswerRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT channel, answer_ts, question_ts, asker, state, decided_by FROM help_answers WHERE channel = ?1 AND answer_ts = ?2",
                params![channel, answer_ts],
                |r| {
                    Ok(HelpAnswerRow {
                        channel: r.get(0)?,
                        answer_ts: r.get(1)?,
                        question_ts: r.get(2)?,
                        asker: r.get(3)?,
                        state: r.get(4)?,
                        decided_by: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Whether the help question at (`channel`, `question_ts`) was already answered.
    pub fn help_question_answered(
        &self,
        channel: &str,
        question_ts: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM help_answers WHERE channel = ?1 AND question_ts = ?2 LIMIT 1",
                params![channel, question_ts],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Moves a help answer from `from` to `state`; true for exactly one caller.
    pub fn decide_help_answer(
        &self,
        channel: &str,
        answer_ts: &str,
        from: &str,
        state: &str,
        by: &str,
    ) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE help_answers SET state = ?4, decided_by = ?5 WHERE channel = ?1 AND answer_ts = ?2 AND state = ?3",
            params![channel, answer_ts, from, state, by],
        )?;
        Ok(changed == 1)
    }

    // ----- the recovery file ---------------------------------------------------------------

    /// The append-only file beside the database where writes that failed after an Okta change
    /// wait for the next start.
    pub fn recovery_path(&self) -> PathBuf {
        PathBuf::from(format!("{}.recovery.jsonl", self.location))
    }

    /// Appends one line to the recovery file and syncs it to disk.
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
        file.write_all(format!("{}\n", line.trim_end()).as_bytes())
            .map_err(fail)?;
        file.sync_all().map_err(fail)
    }

    /// The recovery file's lines, oldest first (empty when there is none).
    pub fn recovery_lines(&self) -> Result<Vec<String>, StoreError> {
        let path = self.recovery_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(StoreError::Fallback {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Removes the recovery file once everything in it is stored.
    pub fn clear_recovery(&self) -> Result<(), StoreError> {
        let path = self.recovery_path();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Fallback {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Runs raw SQL; only tests use it, to tamper with records.
    #[doc(hidden)]
    pub fn execute_raw(&self, sql: &str) -> Result<usize, StoreError> {
        Ok(self.conn().execute(sql, [])?)
    }
}

/// Holds `synchronous=FULL` while a claim or an outcome is written (every commit reaches the
/// disk before the call returns), and puts `NORMAL` back after, so the ack path stays cheap.
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

    #[test]
    fn a_proposal_is_decided_once_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.insert_proposal(&row("p1", 200)).unwrap();
        assert_eq!(
            store.decide("p1", "executing", "U2", 150).unwrap(),
            Transition::Done
        );
        assert_eq!(
            store.decide("p1", "executing", "U2", 150).unwrap(),
            Transition::WrongState("executing".into())
        );
        assert_eq!(
            store.finish("p1", "executed", "{}").unwrap(),
            Transition::Done
        );
        assert_eq!(
            store.finish("p1", "executed", "{}").unwrap(),
            Transition::WrongState("executed".into())
        );
        store.insert_proposal(&row("p2", 200)).unwrap();
        assert_eq!(
            store.decide("p2", "executing", "U2", 200).unwrap(),
            Transition::Expired
        );
        assert_eq!(store.proposal("p2").unwrap().unwrap().state, "expired");
        assert_eq!(
            store.decide("nope", "executing", "U2", 1).unwrap(),
            Transition::Missing
        );
        assert_eq!(store.proposals_about_since("00u1", 0).unwrap(), 1);
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
            let conn = store.conn();
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
            .conn()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(after, 1, "NORMAL again for the inbound inserts");
    }

    #[test]
    fn inbound_keys_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let store = Store::open(&path).unwrap();
            assert!(store.remember_inbound("ev1", "{}", 1).unwrap());
            assert!(!store.remember_inbound("ev1", "{}", 2).unwrap());
        }
        let store = Store::open(&path).unwrap();
        assert!(!store.remember_inbound("ev1", "{}", 3).unwrap());
        assert_eq!(store.unfinished_inbound(3).unwrap().len(), 1);
        store.finish_inbound("ev1").unwrap();
        assert!(store.unfinished_inbound(3).unwrap().is_empty());
    }

    #[test]
    fn only_work_of_a_process_whose_lease_lapsed_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let a = Store::open(&path).unwrap();
        let b = Store::open(&path).unwrap();
        let c = Store::open(&path).unwrap();
        a.heartbeat(100).unwrap();
        b.heartbeat(100).unwrap();
        c.heartbeat(100).unwrap();
        a.remember_inbound("ev-a", "{}", 100).unwrap();
        a.insert_proposal(&row("pa", 10_000)).unwrap();
        a.decide("pa", "executing", "U2", 100).unwrap();
        // A is alive: nobody touches its work, and it does not take its own either.
        assert!(b.unfinished_inbound(110).unwrap().is_empty());
        assert!(b.orphaned_executing(110).unwrap().is_empty());
        assert!(a.unfinished_inbound(110).unwrap().is_empty());
        // A stops heartbeating: after the lease, exactly one of B and C takes its delivery.
        b.heartbeat(200).unwrap();
        c.heartbeat(200).unwrap();
        assert_eq!(b.orphaned_executing(200).unwrap(), vec!["pa".to_string()]);
        let taken_b = b.unfinished_inbound(200).unwrap();
        let taken_c = c.unfinished_inbound(200).unwrap();
        assert_eq!(taken_b.len() + taken_c.len(), 1);
        // A clean stop gives the lease up at once.
        b.remember_inbound("ev-b", "{}", 200).unwrap();
        b.retire().unwrap();
        let taken = c.unfinished_inbound(201).unwrap();
        assert!(taken.iter().any(|(key, _)| key == "ev-b"), "{taken:?}");
        assert_eq!(
            c.live_instances(201).unwrap(),
            vec![c.instance().to_string()]
        );
    }

    #[test]
    fn finished_inbound_text_is_deleted_after_the_retention_and_failed_work_stays_put() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .remember_inbound("old-done", "{\"text\":\"reset my pw\"}", 100)
            .unwrap();
        store.finish_inbound("old-done").unwrap();
        store.remember_inbound("old-pending", "{}", 100).unwrap();
        store.remember_inbound("old-failed", "{}", 100).unwrap();
        store.fail_inbound("old-failed").unwrap();
        store.remember_inbound("new-done", "{}", 10_000).unwrap();
        store.finish_inbound("new-done").unwrap();
        assert_eq!(store.purge_inbound(1_000).unwrap(), 2);
        assert_eq!(store.inbound_state("old-done").unwrap(), None);
        assert_eq!(store.inbound_state("old-failed").unwrap(), None);
        assert_eq!(
            store.inbound_state("new-done").unwrap().as_deref(),
            Some("done")
        );
        // Unfinished work is never purged, and failed work is never resumed.
        assert_eq!(
            store.inbound_state("old-pending").unwrap().as_deref(),
            Some("received")
        );
        store.remember_inbound("crashed", "{}", 10_000).unwrap();
        store.fail_inbound("crashed").unwrap();
        // (Read by another handle: a process never resumes its own work in flight.)
        let other = Store::open(&dir.path().join("s.db")).unwrap();
        let unfinished: Vec<String> = other
            .unfinished_inbound(10_001)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(unfinished, vec!["old-pending".to_string()]);
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
        }
        let store = Store::open(&path).unwrap();
        let rows = store.audit_rows().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].key_id, None,
            "records from before keyed audit are marked so"
        );
        store.insert_proposal(&row("p1", 200)).unwrap();
        assert!(store.mark_undo("p1", 1).is_ok());
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
    }
}
