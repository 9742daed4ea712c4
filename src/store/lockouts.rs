//! The System Log poller's tables: its place in the log (held by one process at a time under a
//! lease, so exactly one replica polls and a restart resumes where the last poll ended) and the
//! lockouts it read, each once by Okta's event id, with what became of it.

use super::{Store, StoreError};

text_enum! {
    /// What became of a lockout the poller read.
    pub enum LockoutState ("lockout state") {
        /// Read, not yet handled.
        New = "new",
        /// Claimed by one process, which is telling the person.
        Sending = "sending",
        /// The person was sent the DM.
        Notified = "notified",
        /// The account was no longer locked when the DM would have gone out.
        NotLocked = "not_locked",
        /// Nobody in Slack has the account's email (confirmed), so nobody was told.
        Unreachable = "unreachable",
        /// Part of a lockout storm: reported to IT as one incident, nobody DMed.
        Storm = "storm",
    }
}

/// One `user.account.lock` event.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LockoutRow {
    /// Okta's event `uuid`.
    pub event_id: String,
    /// The Okta user id of the account locked.
    pub okta_user: String,
    pub login: String,
    /// When Okta locked it (Unix seconds).
    pub locked_at: i64,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub state: LockoutState,
    /// The Slack user told, once they were.
    pub person: Option<String>,
}

/// Where a poller stands in the log.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LogCursor {
    /// The link to poll next; `None` before the first poll.
    pub next_link: Option<String>,
    /// When the log was last read.
    pub polled_at: Option<i64>,
    /// Until when a lockout storm is in progress (no DMs); 0 when none has been.
    pub storm_until: i64,
}

impl Store {
    /// Takes (or renews) the lease on poller `name` for `owner` until `until`: its cursor when
    /// this owner holds it, `None` while another process's lease is live.
    pub async fn claim_log_cursor(
        &self,
        name: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<Option<LogCursor>, StoreError> {
        on_main!(self, pool => {
            sqlx::query("INSERT INTO log_cursors (name) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(name)
                .execute(pool)
                .await?;
        });
        let claimed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE log_cursors SET owner = $2, lease_until = $3
                 WHERE name = $1 AND (owner IS NULL OR owner = $2 OR lease_until < $4)",
            )
            .bind(name)
            .bind(owner)
            .bind(until)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if claimed != 1 {
            return Ok(None);
        }
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, LogCursor>(
                "SELECT next_link, polled_at, storm_until FROM log_cursors WHERE name = $1 AND owner = $2",
            )
            .bind(name)
            .bind(owner)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Moves poller `name` on to `next_link`, read at `polled_at`: true while `owner` still
    /// holds it (a process whose lease lapsed moves nothing).
    pub async fn advance_log_cursor(
        &self,
        name: &str,
        owner: &str,
        next_link: &str,
        polled_at: i64,
    ) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE log_cursors SET next_link = $3, polled_at = $4 WHERE name = $1 AND owner = $2",
            )
            .bind(name)
            .bind(owner)
            .bind(next_link)
            .bind(polled_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Marks a lockout storm as lasting until `until` for poller `name`.
    pub async fn set_storm_until(
        &self,
        name: &str,
        owner: &str,
        until: i64,
    ) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query("UPDATE log_cursors SET storm_until = $3 WHERE name = $1 AND owner = $2")
                .bind(name)
                .bind(owner)
                .bind(until)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Gives poller `name` up (a clean stop), so another process polls without waiting.
    pub async fn release_log_cursor(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        on_main!(self, pool => {
            sqlx::query(
                "UPDATE log_cursors SET owner = NULL, lease_until = NULL WHERE name = $1 AND owner = $2",
            )
            .bind(name)
            .bind(owner)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Where poller `name` stands, whoever holds it.
    pub async fn log_cursor(&self, name: &str) -> Result<Option<LogCursor>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, LogCursor>(
                "SELECT next_link, polled_at, storm_until FROM log_cursors WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Records a lockout read from the log, in state `new`: true the first time its event id
    /// is seen, false for every later read of the same event.
    pub async fn record_lockout(&self, row: &LockoutRow, seen_at: i64) -> Result<bool, StoreError> {
        let added = on_main!(self, pool => {
            sqlx::query(
                "INSERT INTO lockouts (event_id, okta_user, login, locked_at, ip, country, state, seen_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'new', $7) ON CONFLICT DO NOTHING",
            )
            .bind(&row.event_id)
            .bind(&row.okta_user)
            .bind(&row.login)
            .bind(row.locked_at)
            .bind(&row.ip)
            .bind(&row.country)
            .bind(seen_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(added == 1)
    }

    /// Lockouts in `state`, oldest first.
    pub async fn lockouts_in(&self, state: LockoutState) -> Result<Vec<LockoutRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, LockoutRow>(
                "SELECT event_id, okta_user, login, locked_at, ip, country, state, person FROM lockouts
                 WHERE state = $1 ORDER BY locked_at, event_id",
            )
            .bind(state.as_str())
            .fetch_all(pool)
            .await?
        }))
    }

    /// Lockouts Okta made at or after `since`, oldest first.
    pub async fn lockouts_since(&self, since: i64) -> Result<Vec<LockoutRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, LockoutRow>(
                "SELECT event_id, okta_user, login, locked_at, ip, country, state, person FROM lockouts
                 WHERE locked_at >= $1 ORDER BY locked_at, event_id",
            )
            .bind(since)
            .fetch_all(pool)
            .await?
        }))
    }

    /// One lockout by its event id.
    pub async fn lockout(&self, event_id: &str) -> Result<Option<LockoutRow>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_as::<_, LockoutRow>(
                "SELECT event_id, okta_user, login, locked_at, ip, country, state, person FROM lockouts
                 WHERE event_id = $1",
            )
            .bind(event_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Moves a lockout from `from` to `to` (and records the person told): true for exactly
    /// one caller.
    pub async fn move_lockout(
        &self,
        event_id: &str,
        from: LockoutState,
        to: LockoutState,
        person: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = on_main!(self, pool => {
            sqlx::query(
                "UPDATE lockouts SET state = $3, person = COALESCE($4, person) WHERE event_id = $1 AND state = $2",
            )
            .bind(event_id)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(person)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }
}
