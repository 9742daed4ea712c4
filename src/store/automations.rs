//! The store's automation tables: where each card was posted, jobs due later (claimed under a
//! lease by one process at a time, settled once), and the emoji reactions that became requests.

use super::{Store, StoreError};

text_enum! {
    /// What a job does when it is due.
    pub enum JobKind ("job kind") {
        /// Removes a time-bound group membership.
        EndAccess = "end_access",
        /// A reaction's approval, after its grace window.
        Approve = "approve",
        /// Reads where an Okta Verify push stands.
        VerifyPush = "verify_push",
    }
}

text_enum! {
    /// Where a job stands.
    pub enum JobState ("job state") {
        Pending = "pending",
        /// Claimed by one process, under a lease.
        Running = "running",
        Done = "done",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

/// A job due later.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: JobKind,
    pub proposal_id: String,
    pub run_at: i64,
    pub state: JobState,
    pub attempts: i64,
    /// JSON: what the job needs (the approver of an `approve`).
    pub detail: String,
    pub last_error: Option<String>,
}

text_enum! {
    /// What a recorded reaction became.
    pub enum ReactionRole ("reaction role") {
        /// It proposed.
        Requester = "requester",
        /// It approved (a second person's).
        Approver = "approver",
        /// okta-agent asked which person.
        Asked = "asked",
        /// Policy said no.
        Refused = "refused",
        /// It added nothing.
        Extra = "extra",
    }
}

/// One person's reaction on one message with one emoji.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
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
    pub async fn remember_card(
        &self,
        proposal_id: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query(
                "INSERT INTO card_messages (proposal_id, channel, ts) VALUES ($1, $2, $3)
                 ON CONFLICT (proposal_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts",
            )
            .bind(proposal_id)
            .bind(channel)
            .bind(ts)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Where a proposal's card is: (channel, ts).
    pub async fn card_of(&self, proposal_id: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT channel, ts FROM card_messages WHERE proposal_id = $1",
            )
            .bind(proposal_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Adds a job; returns its id.
    pub async fn add_job(
        &self,
        kind: JobKind,
        proposal_id: &str,
        run_at: i64,
        detail: &str,
    ) -> Result<String, StoreError> {
        let id = format!("j-{}", uuid::Uuid::new_v4().simple());
        on_main!(self, pool => {
            sqlx::query(
                "INSERT INTO jobs (id, kind, proposal_id, run_at, state, detail) VALUES ($1, $2, $3, $4, 'pending', $5)",
            )
            .bind(&id)
            .bind(kind.as_str())
            .bind(proposal_id)
            .bind(run_at)
            .bind(detail)
            .execute(pool)
            .await?;
        });
        Ok(id)
    }

    /// Jobs due at `now`: pending ones whose time has come, and running ones whose lease
    /// lapsed (their process stopped).
    pub async fn due_jobs(&self, now: i64, limit: usize) -> Result<Vec<JobRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, JobRow>(
                "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs
                 WHERE (state = 'pending' AND run_at <= $1) OR (state = 'running' AND lease_until < $1)
                 ORDER BY run_at LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Claims a due job for `owner`: true for exactly one caller.
    pub async fn claim_job(&self, id: &str, owner: &str, now: i64) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET state = 'running', owner = $2, lease_until = $3, attempts = attempts + 1
                 WHERE id = $1 AND ((state = 'pending' AND run_at <= $4) OR (state = 'running' AND lease_until < $4))",
            )
            .bind(id)
            .bind(owner)
            .bind(now + JOB_LEASE_SECS)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Settles a job this owner holds: `done`, `failed` or `cancelled`; or back to `pending`
    /// at `retry_at` (with the error) to try again.
    pub async fn settle_job(
        &self,
        id: &str,
        owner: &str,
        state: JobState,
        retry_at: Option<i64>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET state = $3, run_at = COALESCE($4, run_at), last_error = $5, owner = NULL, lease_until = NULL
                 WHERE id = $1 AND owner = $2 AND state = 'running'",
            )
            .bind(id)
            .bind(owner)
            .bind(state.as_str())
            .bind(retry_at)
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Cancels a job that has not started: true when it was still pending.
    pub async fn cancel_job(&self, id: &str) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query("UPDATE jobs SET state = 'cancelled' WHERE id = $1 AND state = 'pending'")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Brings a pending job forward to `now` ("end access now"): true when it was pending.
    pub async fn run_job_now(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET run_at = CASE WHEN run_at < $2 THEN run_at ELSE $2 END WHERE id = $1 AND state = 'pending'",
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// One job by its id.
    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, JobRow>(
                "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The jobs of a proposal, oldest first.
    /// Jobs not yet run (waiting or running), soonest first (`okta-agent pending`).
    pub async fn scheduled_jobs(&self) -> Result<Vec<JobRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, JobRow>(
                "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs
                 WHERE state = $1 OR state = $2 ORDER BY run_at, rowid",
            )
            .bind(JobState::Pending.as_str())
            .bind(JobState::Running.as_str())
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn jobs_of(&self, proposal_id: &str) -> Result<Vec<JobRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, JobRow>(
                "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs
                 WHERE proposal_id = $1 ORDER BY rowid",
            )
            .bind(proposal_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Records a reaction; false when this person's reaction with this emoji on this message
    /// is already known (added, removed and added again is one trigger).
    pub async fn remember_reaction(&self, row: &ReactionRow) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "INSERT INTO reactions (channel, message_ts, emoji, reactor, added_at, role, proposal_id, job_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(&row.channel)
            .bind(&row.message_ts)
            .bind(&row.emoji)
            .bind(&row.reactor)
            .bind(row.added_at)
            .bind(row.role.as_str())
            .bind(&row.proposal_id)
            .bind(&row.job_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Updates what a recorded reaction became.
    pub async fn set_reaction_role(&self, row: &ReactionRow) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query(
                "UPDATE reactions SET role = $5, proposal_id = $6, job_id = $7
                 WHERE channel = $1 AND message_ts = $2 AND emoji = $3 AND reactor = $4",
            )
            .bind(&row.channel)
            .bind(&row.message_ts)
            .bind(&row.emoji)
            .bind(&row.reactor)
            .bind(row.role.as_str())
            .bind(&row.proposal_id)
            .bind(&row.job_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Every recorded reaction with this emoji on this message, earliest first.
    pub async fn reactions_on(
        &self,
        channel: &str,
        message_ts: &str,
        emoji: &str,
    ) -> Result<Vec<ReactionRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, ReactionRow>(
                "SELECT channel, message_ts, emoji, reactor, added_at, role, proposal_id, job_id FROM reactions
                 WHERE channel = $1 AND message_ts = $2 AND emoji = $3 ORDER BY added_at, rowid",
            )
            .bind(channel)
            .bind(message_ts)
            .bind(emoji)
            .fetch_all(pool)
            .await?
        }))
    }
}
