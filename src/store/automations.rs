//! The store's automation tables: where each card was posted, jobs due later (claimed under a
//! lease by one process at a time, settled once), and the emoji reactions that became requests.

use rusqlite::{params, OptionalExtension};

use super::{Durable, Store, StoreError};

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

/// One person's reaction on one message with one emoji.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionRow {
    pub channel: String,
    pub message_ts: String,
    pub emoji: String,
    pub reactor: String,
    pub added_at: i64,
    /// `requester` (it proposed), `approver` (it approved), `asked` (okta-agent asked which
    /// person), `refused` (policy said no), `extra` (it added nothing).
    pub role: String,
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
        self.conn().execute(
            "INSERT OR REPLACE INTO card_messages (proposal_id, channel, ts) VALUES (?1, ?2, ?3)",
            params![proposal_id, channel, ts],
        )?;
        Ok(())
    }

    /// Where a proposal's card is: (channel, ts).
    pub fn card_of(&self, proposal_id: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT channel, ts FROM card_messages WHERE proposal_id = ?1",
                [proposal_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
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
        let conn = self.conn();
        let _durable = Durable::full(&conn)?;
        conn.execute(
            "INSERT INTO jobs (id, kind, proposal_id, run_at, state, detail) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
            params![id, kind, proposal_id, run_at, detail],
        )?;
        Ok(id)
    }

    /// Jobs due at `now`: pending ones whose time has come, and running ones whose lease
    /// lapsed (their process stopped).
    pub fn due_jobs(&self, now: i64, limit: usize) -> Result<Vec<JobRow>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs
             WHERE (state = 'pending' AND run_at <= ?1) OR (state = 'running' AND lease_until < ?1)
             ORDER BY run_at LIMIT ?2",
        )?;
        let rows = statement
            .query_map(params![now, limit as i64], job_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Claims a due job for `owner`: true for exactly one caller.
    pub fn claim_job(&self, id: &str, owner: &str, now: i64) -> Result<bool, StoreError> {
        let conn = self.conn();
        let _durable = Durable::full(&conn)?;
        let changed = conn.execute(
            "UPDATE jobs SET state = 'running', owner = ?2, lease_until = ?3, attempts = attempts + 1
             WHERE id = ?1 AND ((state = 'pending' AND run_at <= ?4) OR (state = 'running' AND lease_until < ?4))",
            params![id, owner, now + JOB_LEASE_SECS, now],
        )?;
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
        let conn = self.conn();
        let _durable = Durable::full(&conn)?;
        let changed = conn.execute(
            "UPDATE jobs SET state = ?3, run_at = COALESCE(?4, run_at), last_error = ?5, owner = NULL, lease_until = NULL
             WHERE id = ?1 AND owner = ?2 AND state = 'running'",
            params![id, owner, state, retry_at, error],
        )?;
        Ok(changed == 1)
    }

    /// Cancels a job that has not started: true when it was still pending.
    pub fn cancel_job(&self, id: &str) -> Result<bool, StoreError> {
        let conn = self.conn();
        let _durable = Durable::full(&conn)?;
        let changed = conn.execute(
            "UPDATE jobs SET state = 'cancelled' WHERE id = ?1 AND state = 'pending'",
            [id],
        )?;
        Ok(changed == 1)
    }

    /// Brings a pending job forward to `now` ("end access now"): true when it was pending.
    pub fn run_job_now(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE jobs SET run_at = MIN(run_at, ?2) WHERE id = ?1 AND state = 'pending'",
            params![id, now],
        )?;
        Ok(changed == 1)
    }

    /// The jobs of a proposal, oldest first.
    pub fn jobs_of(&self, proposal_id: &str) -> Result<Vec<JobRow>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT id, kind, proposal_id, run_at, state, attempts, detail, last_error FROM jobs
             WHERE proposal_id = ?1 ORDER BY rowid",
        )?;
        let rows = statement
            .query_map([proposal_id], job_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Records a reaction; false when this person's reaction with this emoji on this message
    /// is already known (added, removed and added again is one trigger).
    pub fn remember_reaction(&self, row: &ReactionRow) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "INSERT OR IGNORE INTO reactions (channel, message_ts, emoji, reactor, added_at, role, proposal_id, job_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                row.channel, row.message_ts, row.emoji, row.reactor, row.added_at, row.role,
                row.proposal_id, row.job_id
            ],
        )?;
        Ok(changed == 1)
    }

    /// Updates what a recorded reaction became.
    pub fn set_reaction_role(&self, row: &ReactionRow) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE reactions SET role = ?5, proposal_id = ?6, job_id = ?7
             WHERE channel = ?1 AND message_ts = ?2 AND emoji = ?3 AND reactor = ?4",
            params![
                row.channel,
                row.message_ts,
                row.emoji,
                row.reactor,
                row.role,
                row.proposal_id,
                row.job_id
            ],
        )?;
        Ok(())
    }

    /// Every recorded reaction with this emoji on this message, earliest first.
    pub fn reactions_on(
        &self,
        channel: &str,
        message_ts: &str,
        emoji: &str,
    ) -> Result<Vec<ReactionRow>, StoreError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT channel, message_ts, emoji, reactor, added_at, role, proposal_id, job_id FROM reactions
             WHERE channel = ?1 AND message_ts = ?2 AND emoji = ?3 ORDER BY added_at, rowid",
        )?;
        let rows = statement
            .query_map(params![channel, message_ts, emoji], |r| {
                Ok(ReactionRow {
                    channel: r.get(0)?,
                    message_ts: r.get(1)?,
                    emoji: r.get(2)?,
                    reactor: r.get(3)?,
                    added_at: r.get(4)?,
                    role: r.get(5)?,
                    proposal_id: r.get(6)?,
                    job_id: r.get(7)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        proposal_id: r.get(2)?,
        run_at: r.get(3)?,
        state: r.get(4)?,
        attempts: r.get(5)?,
        detail: r.get(6)?,
        last_error: r.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_claimed_once_and_a_lapsed_lease_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let id = store.add_job("end_access", "p-1", 100, "{}").unwrap();
        assert!(store.due_jobs(99, 10).unwrap().is_empty(), "not due yet");
        assert_eq!(store.due_jobs(100, 10).unwrap().len(), 1);
        assert!(store.claim_job(&id, "a", 100).unwrap());
        assert!(!store.claim_job(&id, "b", 100).unwrap(), "held by a");
        // a stopped without settling: after the lease, b takes over.
        assert!(store.claim_job(&id, "b", 100 + JOB_LEASE_SECS + 1).unwrap());
        assert!(
            !store.settle_job(&id, "a", "done", None, None).unwrap(),
            "a no longer holds it"
        );
        assert!(store
            .settle_job(&id, "b", "pending", Some(500), Some("HTTP 503"))
            .unwrap());
        assert!(store.due_jobs(499, 10).unwrap().is_empty(), "retried later");
        assert!(store.claim_job(&id, "b", 500).unwrap());
        assert!(store.settle_job(&id, "b", "done", None, None).unwrap());
        assert!(store.due_jobs(10_000, 10).unwrap().is_empty());
        let job = &store.jobs_of("p-1").unwrap()[0];
        assert_eq!((job.state.as_str(), job.attempts), ("done", 3));
        assert!(
            !store.cancel_job(&id).unwrap(),
            "a finished job is not cancelled"
        );
    }

    #[test]
    fn a_reaction_is_one_trigger_however_often_it_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let mut row = ReactionRow {
            channel: "C1".into(),
            message_ts: "1.1".into(),
            emoji: "lock".into(),
            reactor: "U1".into(),
            added_at: 10,
            role: "requester".into(),
            proposal_id: None,
            job_id: None,
        };
        assert!(store.remember_reaction(&row).unwrap());
        assert!(!store.remember_reaction(&row).unwrap());
        row.proposal_id = Some("p-1".into());
        store.set_reaction_role(&row).unwrap();
        assert_eq!(store.reactions_on("C1", "1.1", "lock").unwrap(), vec![row]);
    }
}
