//! The store's automation tables: where each card was posted, jobs due later (claimed under a
//! lease by one process at a time, settled once), and the emoji reactions that became requests.

use super::sql::{args, Row};
use super::{Store, StoreError};

/// A job due later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRow {
    pub id: String,
    /// `end_access` (remove a time-bound membership) or `approve` (a reaction's approval after
    /// its grace window).
    pub kind: String,
    pub proposal_id: String,
    pub run_at: i64,
    pub state: String,
    pub attempts: i64,
    /// JSON: what the job needs (the approver of an `approve`).
    pub detail: String,
    pub last_error: Option<String>,
}

/// What a recorded reaction became.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReactionRole {
    /// It proposed.
    Requester,
    /// It approved (a second person's).
    Approver,
    /// okta-agent asked which person.
    Asked,
    /// Policy said no.
    Refused,
    /// It added nothing.
    Extra,
}

impl ReactionRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requester => "requester",
            Self::Approver => "approver",
            Self::Asked => "asked",
            Self::Refused => "refused",
            Self::Extra => "extra",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        [
            Self::Requester,
            Self::Approver,
            Self::Asked,
            Self::Refused,
            Self::Extra,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown reaction role '{text}'")))
    }
}

/// One person's reaction on one message with one emoji.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionRow {
    pub channel: String,
    pub message_ts: String,
    pub emoji: String,
    pub reactor: String,
    pub added_at: i64,
    pub role: ReactionRole,
    pub proposal_id: Option<String>,
    pub job_id: Option<String>,
}

/// How long a claimed job is held before another process may take it over.
pub const JOB_LEASE_SECS: i64 = 120;

impl Store {
    /// Remembers where a proposal's card is.
    pub fn remember_card(
        &self,
        proposal_id: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        self.autocommit(|db| {
            db.exec(
                "INSERT INTO card_messages (proposal_id, channel, ts) VALUES (?1, ?2, ?3)
                 ON CONFLICT (proposal_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts",
                args![proposal_id, channel, ts],
            )
        })?;
        Ok(())
    }

    /// Where a proposal's card is: (channel, ts).
    pub fn card_of(&self, proposal_id: &str) -> Result<Option<(String, String)>, StoreError> {
        self.autocommit(|db| {
            db.row(
                "SELECT channel, ts FROM card_messages WHERE proposal_id = ?1",
                args![proposal_id],
            )?
            .map(|r| Ok((r.text(0)?, r.text(1)?)))
            .transpose()
        })
    }

    /// Adds a job; returns its id.
    pub fn add_job(
        &self,
        kind: &str,
        proposal_id: &str,
        run_at: i64,
        detail: &str,
    ) -> Result<String, StoreError> {
        let id = format!("j-{}", uuid::Uuid::new_v4().simple());
        self.durably(|db| {
            db.exec(
                "INSERT INTO jobs (id, kind, proposal_id, run_at, state, detail) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
                args![&id, kind, proposal_id, run_at, detail],
            )
        })?;
        Ok(id)
    }

    /// Jobs due at `now`: pending ones whose time has come, and running ones whose lease
    /// lapsed (their process stopped).
    pub fn due_jobs(&self, now: i64, limit: usize) -> Result<Vec<JobRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.autocommit(|db| {
            db.rows(
                "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs
                 WHERE (state = 'pending' AND run_at <= ?1) OR (state = 'running' AND lease_until < ?1)
                 ORDER BY run_at LIMIT ?2",
                args![now, limit],
            )?
            .iter()
            .map(job_row)
            .collect()
        })
    }

    /// Claims a due job for `owner`: true for exactly one caller.
    pub fn claim_job(&self, id: &str, owner: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.durably(|db| {
            db.exec(
                "UPDATE jobs SET state = 'running', owner = ?2, lease_until = ?3, attempts = attempts + 1
                 WHERE id = ?1 AND ((state = 'pending' AND run_at <= ?4) OR (state = 'running' AND lease_until < ?4))",
                args![id, owner, now + JOB_LEASE_SECS, now],
            )
        })?;
        Ok(changed == 1)
    }

    /// Settles a job this owner holds: `done`, `failed` or `cancelled`; or back to `pending`
    /// at `retry_at` (with the error) to try again.
    pub fn settle_job(
        &self,
        id: &str,
        owner: &str,
        state: &str,
        retry_at: Option<i64>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = self.durably(|db| {
            db.exec(
                "UPDATE jobs SET state = ?3, run_at = COALESCE(?4, run_at), last_error = ?5, owner = NULL, lease_until = NULL
                 WHERE id = ?1 AND owner = ?2 AND state = 'running'",
                args![id, owner, state, retry_at, error],
            )
        })?;
        Ok(changed == 1)
    }

    /// Cancels a job that has not started: true when it was still pending.
    pub fn cancel_job(&self, id: &str) -> Result<bool, StoreError> {
        let changed = self.durably(|db| {
            db.exec(
                "UPDATE jobs SET state = 'cancelled' WHERE id = ?1 AND state = 'pending'",
                args![id],
            )
        })?;
        Ok(changed == 1)
    }

    /// Brings a pending job forward to `now` ("end access now"): true when it was pending.
    pub fn run_job_now(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.autocommit(|db| {
            db.exec(
                "UPDATE jobs SET run_at = CASE WHEN run_at < ?2 THEN run_at ELSE ?2 END WHERE id = ?1 AND state = 'pending'",
                args![id, now],
            )
        })?;
        Ok(changed == 1)
    }

    /// One job by its id.
    pub fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        self.autocommit(|db| {
            db.rows(
                "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs
                 WHERE id = ?1",
                args![id],
            )?
            .first()
            .map(job_row)
            .transpose()
        })
    }

    /// The jobs of a proposal, oldest first.
    pub fn jobs_of(&self, proposal_id: &str) -> Result<Vec<JobRow>, StoreError> {
        self.autocommit(|db| {
            db.rows(
                "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs
                 WHERE proposal_id = ?1 ORDER BY rowid",
                args![proposal_id],
            )?
            .iter()
            .map(job_row)
            .collect()
        })
    }

    /// Records a reaction; false when this person's reaction with this emoji on this message
    /// is already known (added, removed and added again is one trigger).
    pub fn remember_reaction(&self, row: &ReactionRow) -> Result<bool, StoreError> {
        let changed = self.autocommit(|db| {
            db.exec(
                "INSERT INTO reactions (channel, message_ts, emoji, reactor, added_at, role, proposal_id, job_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                args![
                    &row.channel, &row.message_ts, &row.emoji, &row.reactor, row.added_at,
                    row.role.as_str(), &row.proposal_id, &row.job_id
                ],
            )
        })?;
        Ok(changed == 1)
    }

    /// Updates what a recorded reaction became.
    pub fn set_reaction_role(&self, row: &ReactionRow) -> Result<(), StoreError> {
        self.autocommit(|db| {
            db.exec(
                "UPDATE reactions SET role = ?5, proposal_id = ?6, job_id = ?7
                 WHERE channel = ?1 AND message_ts = ?2 AND emoji = ?3 AND reactor = ?4",
                args![
                    &row.channel,
                    &row.message_ts,
                    &row.emoji,
                    &row.reactor,
                    row.role.as_str(),
                    &row.proposal_id,
                    &row.job_id
                ],
            )
        })?;
        Ok(())
    }

    /// Every recorded reaction with this emoji on this message, earliest first.
    pub fn reactions_on(
        &self,
        channel: &str,
        message_ts: &str,
        emoji: &str,
    ) -> Result<Vec<ReactionRow>, StoreError> {
        self.autocommit(|db| {
            db.rows(
                "SELECT channel, message_ts, emoji, reactor, added_at, role, proposal_id, job_id FROM reactions
                 WHERE channel = ?1 AND message_ts = ?2 AND emoji = ?3 ORDER BY added_at, rowid",
                args![channel, message_ts, emoji],
            )?
            .iter()
            .map(|r| {
                Ok(ReactionRow {
                    channel: r.text(0)?,
                    message_ts: r.text(1)?,
                    emoji: r.text(2)?,
                    reactor: r.text(3)?,
                    added_at: r.int(4)?,
                    role: ReactionRole::parse(&r.text(5)?)?,
                    proposal_id: r.opt_text(6)?,
                    job_id: r.opt_text(7)?,
                })
            })
            .collect()
        })
    }
}

fn job_row(r: &Row) -> Result<JobRow, StoreError> {
    Ok(JobRow {
        id: r.text(0)?,
        kind: r.text(1)?,
        proposal_id: r.text(2)?,
        run_at: r.int(3)?,
        state: r.text(4)?,
        attempts: r.int(5)?,
        detail: r.text(6)?,
        last_error: r.opt_text(7)?,
    })
}
