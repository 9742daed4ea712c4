//! Okta Verify push verification, one row per proposal: whom it pushes, the transaction to
//! poll, and how it ended. Every step is a conditional update, so one push is ever started
//! for a proposal and one process settles it; the claim that approves the proposal reads the
//! row in the same statement ([`Store::decide`]): it goes ahead only when there is no
//! verification, a successful or overridden one, or no push factor with the approvals it needs.

use super::{Store, StoreError};

text_enum! {
    /// Where a proposal's verification stands.
    pub enum VerificationState ("verification state") {
        /// The person has a push factor; nothing was sent yet (an admin's "Verify first").
        Ready = "ready",
        /// A push was sent; its transaction is being polled.
        Waiting = "waiting",
        /// The person approved the push.
        Success = "success",
        /// The person rejected it: a possible account takeover.
        Rejected = "rejected",
        /// No answer in time.
        Timeout = "timeout",
        /// The person has no push factor: two admins approve instead.
        NoFactor = "no_factor",
        /// An admin approved without verification, with a reason.
        Overridden = "overridden",
    }
}

impl VerificationState {
    /// Whether approval may go ahead (with a second admin's, for `NoFactor`).
    pub fn lets_approve(self) -> bool {
        matches!(self, Self::Success | Self::Overridden | Self::NoFactor)
    }
}

/// A proposal's verification.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct VerificationRow {
    pub proposal_id: String,
    /// The Okta user pushed.
    pub okta_user: String,
    pub login: String,
    /// Their Slack id, when they are in Slack (the number goes to them by DM).
    pub person: Option<String>,
    pub factor_id: Option<String>,
    pub state: VerificationState,
    pub poll_link: Option<String>,
    pub started_by: Option<String>,
    pub started_at: Option<i64>,
    /// When okta-agent stops waiting (`push_timeout_seconds` after the push).
    pub deadline: Option<i64>,
    pub finished_at: Option<i64>,
    /// Two admins must approve (no push factor, requester not an admin).
    pub needs_second: i64,
    pub first_approver: Option<String>,
    pub overridden_by: Option<String>,
    pub reason: Option<String>,
    /// The person's manager, as Okta's profile names them, for a live check.
    pub manager: Option<String>,
}

impl Store {
    /// Records a proposal's verification as it starts (`ready` or `no_factor`).
    pub async fn insert_verification(&self, row: &VerificationRow) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query(
                "INSERT INTO verifications (proposal_id, okta_user, login, person, factor_id, state, needs_second, manager)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&row.proposal_id)
            .bind(&row.okta_user)
            .bind(&row.login)
            .bind(&row.person)
            .bind(&row.factor_id)
            .bind(row.state.as_str())
            .bind(row.needs_second)
            .bind(&row.manager)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn verification(
        &self,
        proposal_id: &str,
    ) -> Result<Option<VerificationRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, VerificationRow>(
                "SELECT proposal_id, okta_user, login, person, factor_id, state, poll_link, started_by, started_at, deadline, finished_at, needs_second, first_approver, overridden_by, reason, manager
                 FROM verifications WHERE proposal_id = $1",
            )
                .bind(proposal_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Marks the push as sent by `by`: true for exactly one caller, so one push per proposal.
    pub async fn start_verification(
        &self,
        proposal_id: &str,
        by: &str,
        now: i64,
        deadline: i64,
    ) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE verifications SET state = 'waiting', started_by = $2, started_at = $3, deadline = $4
                 WHERE proposal_id = $1 AND state = 'ready'",
            )
            .bind(proposal_id)
            .bind(by)
            .bind(now)
            .bind(deadline)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Keeps the transaction to poll.
    pub async fn set_poll_link(&self, proposal_id: &str, link: &str) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query("UPDATE verifications SET poll_link = $2 WHERE proposal_id = $1")
                .bind(proposal_id)
                .bind(link)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Moves a verification from `from` to `to` at `now`: true for exactly one caller.
    pub async fn settle_verification(
        &self,
        proposal_id: &str,
        from: VerificationState,
        to: VerificationState,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE verifications SET state = $3, finished_at = $4 WHERE proposal_id = $1 AND state = $2",
            )
            .bind(proposal_id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// An admin approves without verification, with a reason: true when the verification had
    /// not passed (and was not already overridden).
    pub async fn override_verification(
        &self,
        proposal_id: &str,
        by: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE verifications SET state = 'overridden', overridden_by = $2, reason = $3, finished_at = $4
                 WHERE proposal_id = $1 AND state IN ('ready', 'waiting', 'rejected', 'timeout')",
            )
            .bind(proposal_id)
            .bind(by)
            .bind(reason)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// The first of two admins' approvals (no push factor): true for exactly one caller.
    pub async fn first_approval(&self, proposal_id: &str, by: &str) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE verifications SET first_approver = $2
                 WHERE proposal_id = $1 AND state = 'no_factor' AND needs_second = 1 AND first_approver IS NULL",
            )
            .bind(proposal_id)
            .bind(by)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }
}
