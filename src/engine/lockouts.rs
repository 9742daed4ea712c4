//! Reaching people before they ask: the System Log is polled for `user.account.lock` events
//! (with `okta.logs.read`), and each locked-out person gets one DM with an "Unlock me" button,
//! which is the same self-service unlock as the typed request. One process polls at a time,
//! under a lease on the stored cursor, so a restart or another replica resumes without gaps;
//! each event is recorded once by its id, so none is told twice. More accounts locked in a few
//! minutes than `[lockouts] storm_accounts` is a password spray, not a queue of DMs: IT gets one
//! alert with the count, the top sources and the event ids, and nobody is DMed while it lasts.

use std::collections::{BTreeMap, BTreeSet};

use tracing::{info, info_span, warn, Instrument};

use super::{reference, Engine, Output};
use crate::audit::AuditRecord;
use crate::clock::{format_iso, format_utc};
use crate::config::LockoutSettings;
use crate::okta::{LogEvent, LogPoll, OktaError, UserStatus};
use crate::policy::PersonKind;
use crate::store::{LockoutRow, LockoutState, StoreError};
use crate::tools::Tool;

/// The stored cursor's name.
pub const LOCKOUT_POLLER: &str = "lockouts";
/// The event Okta writes when too many failed sign-ins lock an account.
const LOCK_EVENT: &str = "user.account.lock";
/// Okta's page size for the poll (`limit=100`): a full page means more is waiting.
const PAGE: usize = 100;
/// Pages read in one poll at most; the rest waits for the next poll.
const MAX_PAGES: usize = 20;
/// Poll less when fewer than this share of the rate limit's requests remain.
const HEADROOM: u64 = 10;
/// Sources and event ids named in a storm alert.
const STORM_TOP: usize = 5;
const STORM_IDS: usize = 20;

#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not read the System Log: {0}")]
    Okta(#[from] OktaError),
    #[error(transparent)]
    Engine(#[from] super::EngineError),
}

/// A `user.account.lock` event as the store keeps it; `None` for an event about no user.
fn lockout_row(event: &LogEvent) -> Option<LockoutRow> {
    let user = event.target.iter().find(|t| t.kind == "User")?;
    let client = event.client.as_ref();
    Some(LockoutRow {
        event_id: event.uuid.clone(),
        okta_user: user.id.clone(),
        login: user.alternate_id.clone().unwrap_or_else(|| user.id.clone()),
        locked_at: crate::clock::parse_okta_time(&event.published)?,
        ip: client.and_then(|c| c.ip_address.clone()),
        country: client
            .and_then(|c| c.geographical_context.as_ref())
            .and_then(|g| g.country.clone()),
        state: LockoutState::New,
        person: None,
    })
}

/// The most frequent values, most frequent first: "203.0.113.7 (31), 198.51.100.2 (19)".
fn top(values: impl Iterator<Item = String>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if counts.is_empty() {
        return "unknown".into();
    }
    counts
        .into_iter()
        .take(STORM_TOP)
        .map(|(value, n)| format!("{value} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Engine {
    /// One poll of the System Log for lockouts, by `owner` (this process), when it holds the
    /// poller's lease; returns the DMs and the storm alert to send.
    pub async fn poll_lockouts(&self, owner: &str, settings: &LockoutSettings) -> Vec<Output> {
        let span = info_span!("lockouts", request_id = %reference());
        async {
            match self.read_lockouts(owner, settings).await {
                Ok(outputs) => outputs,
                Err(e) => {
                    warn!(error = %e, "the lockout poll did not finish; the next one resumes from the stored cursor");
                    Vec::new()
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Gives the poller up at a clean stop, so another replica polls without waiting.
    pub async fn release_lockout_poller(&self, owner: &str) {
        if let Err(e) = self.store.release_log_cursor(LOCKOUT_POLLER, owner).await {
            warn!(error = %e, "could not give the System Log poller up; its lease lapses by itself");
        }
    }

    async fn read_lockouts(
        &self,
        owner: &str,
        settings: &LockoutSettings,
    ) -> Result<Vec<Output>, PollError> {
        let now = self.clock.now();
        let poll = i64::try_from(settings.poll_seconds).unwrap_or(i64::MAX / 4);
        let lease = (poll * 3).max(self.store.lease_secs());
        let Some(cursor) = self
            .store
            .claim_log_cursor(LOCKOUT_POLLER, owner, now, now + lease)
            .await?
        else {
            // Another replica polls.
            return Ok(Vec::new());
        };
        let okta = self.resolver.okta();
        if let Some(limit) = okta.rate_limit() {
            let resets = i64::try_from(limit.reset_epoch).unwrap_or(i64::MAX);
            if limit.remaining.saturating_mul(HEADROOM) < limit.limit && resets > now {
                info!(
                    remaining = limit.remaining,
                    limit = limit.limit,
                    "little of Okta's rate limit is left; the System Log is read after it resets"
                );
                return Ok(Vec::new());
            }
        }
        let window = i64::try_from(settings.storm_minutes).unwrap_or(60) * 60;
        let mut link = cursor.next_link.clone();
        for _ in 0..MAX_PAGES {
            let since = format_iso(now - window);
            let from = match &link {
                Some(link) => LogPoll::Next(link),
                None => LogPoll::Since {
                    since: &since,
                    event_type: LOCK_EVENT,
                },
            };
            let (page, next) = okta.system_log(from).await?;
            for event in &page.value {
                if event.event_type != LOCK_EVENT {
                    continue;
                }
                match lockout_row(event) {
                    Some(row) => {
                        if self.store.record_lockout(&row, now).await? {
                            info!(event = %row.event_id, login = %row.login, "lockout read from the System Log");
                        }
                    }
                    None => {
                        warn!(event = %event.uuid, "a lockout event names no user or has no readable time; skipped")
                    }
                }
            }
            // Okta always links the next poll; without a link the same one is read again.
            let Some(next) = next else { break };
            if !self
                .store
                .advance_log_cursor(LOCKOUT_POLLER, owner, &next, now)
                .await?
            {
                // The lease lapsed mid-poll and another process polls now.
                return Ok(Vec::new());
            }
            link = Some(next);
            if page.value.len() < PAGE {
                break;
            }
        }
        self.tell_locked_out(owner, settings, cursor.storm_until, now)
            .await
    }

    /// Handles the lockouts read but not yet handled: a storm alert, or a DM each.
    async fn tell_locked_out(
        &self,
        owner: &str,
        settings: &LockoutSettings,
        storm_until: i64,
        now: i64,
    ) -> Result<Vec<Output>, PollError> {
        let new = self.store.lockouts_in(LockoutState::New).await?;
        let Some(latest) = new.iter().map(|row| row.locked_at).max() else {
            return Ok(Vec::new());
        };
        let window = i64::try_from(settings.storm_minutes).unwrap_or(60) * 60;
        let recent = self.store.lockouts_since(latest - window).await?;
        let accounts: BTreeSet<&str> = recent.iter().map(|r| r.okta_user.as_str()).collect();
        let storming = accounts.len() > settings.storm_accounts;
        if storming || storm_until > now {
            let mut outputs = Vec::new();
            if storming {
                if storm_until <= now {
                    outputs.push(self.storm_alert(&recent, accounts.len(), settings).await?);
                }
                self.store
                    .set_storm_until(LOCKOUT_POLLER, owner, now + window)
                    .await?;
            }
            for row in &new {
                self.store
                    .move_lockout(&row.event_id, LockoutState::New, LockoutState::Storm, None)
                    .await?;
            }
            return Ok(outputs);
        }
        let mut outputs = Vec::new();
        for row in new {
            if let Some(output) = self.tell_one(&row).await? {
                outputs.push(output);
            }
        }
        Ok(outputs)
    }

    /// The DM for one lockout, when its account is still locked and its person is in Slack.
    async fn tell_one(&self, row: &LockoutRow) -> Result<Option<Output>, PollError> {
        if !self
            .store
            .move_lockout(
                &row.event_id,
                LockoutState::New,
                LockoutState::Sending,
                None,
            )
            .await?
        {
            return Ok(None);
        }
        let settle = |to: LockoutState, person: Option<String>| async move {
            self.store
                .move_lockout(&row.event_id, LockoutState::Sending, to, person.as_deref())
                .await
        };
        let user = match self.resolver.okta().get_user(&row.okta_user).await {
            Ok(user) => user.value,
            Err(OktaError::NotFound { .. }) => {
                settle(LockoutState::NotLocked, None).await?;
                return Ok(None);
            }
            Err(e) => {
                // Tried again at the next poll.
                settle(LockoutState::New, None).await?;
                return Err(e.into());
            }
        };
        if user.status != UserStatus::LockedOut {
            info!(event = %row.event_id, login = %row.login, "the account is no longer locked; no DM");
            settle(LockoutState::NotLocked, None).await?;
            return Ok(None);
        }
        let person = match user.profile.email.as_deref() {
            Some(email) => match self.resolver.directory().by_email(email).await {
                Ok(person) => person,
                Err(e) => {
                    settle(LockoutState::New, None).await?;
                    warn!(error = %e, "could not look the locked-out person up in Slack; trying again at the next poll");
                    return Ok(None);
                }
            },
            None => None,
        };
        let Some(person) = person.filter(|p| p.kind == PersonKind::Member && p.email_confirmed)
        else {
            info!(event = %row.event_id, login = %row.login, "no Slack member has the account's email (confirmed); nobody to tell");
            settle(LockoutState::Unreachable, None).await?;
            return Ok(None);
        };
        settle(LockoutState::Notified, Some(person.id.clone())).await?;
        self.audit(AuditRecord {
            time: self.clock.now(),
            event: "lockout_notice".into(),
            requester: Some(person.id.clone()),
            action: Some(Tool::UnlockUser.name().into()),
            target: Some(row.login.clone()),
            target_id: Some(row.okta_user.clone()),
            detail: format!(
                "told the person their account was locked (System Log event {})",
                row.event_id
            ),
            trigger: Some("System Log: user.account.lock".into()),
            ..AuditRecord::default()
        })
        .await?;
        Ok(Some(Output::LockoutNotice {
            to: person.id,
            lockout_id: row.event_id.clone(),
            text: format!(
                "Your Okta account ({}) was locked at {} after too many failed sign-ins.",
                row.login,
                format_utc(row.locked_at)
            ),
        }))
    }

    /// The one alert for a storm: how many accounts, from where, which events.
    async fn storm_alert(
        &self,
        recent: &[LockoutRow],
        accounts: usize,
        settings: &LockoutSettings,
    ) -> Result<Output, PollError> {
        let ips = top(recent.iter().filter_map(|r| r.ip.clone()));
        let countries = top(recent.iter().filter_map(|r| r.country.clone()));
        let mut ids: Vec<&str> = recent.iter().map(|r| r.event_id.as_str()).collect();
        let more = ids.len().saturating_sub(STORM_IDS);
        ids.truncate(STORM_IDS);
        let ids = match more {
            0 => ids.join(", "),
            more => format!("{} and {more} more", ids.join(", ")),
        };
        let text = format!(
            "Lockout storm: {accounts} Okta accounts were locked within {} minutes, more than the {} that okta-agent treats as normal. This looks like password spraying. Top source IPs: {ips}. Countries: {countries}. System Log events: {ids}. Nobody is sent an unlock DM while it lasts; unlock people once the source is blocked.",
            settings.storm_minutes, settings.storm_accounts
        );
        self.audit(AuditRecord {
            time: self.clock.now(),
            event: "lockout_storm".into(),
            detail: format!(
                "{accounts} accounts locked within {} minutes; sources {ips}; countries {countries}",
                settings.storm_minutes
            ),
            trigger: Some("System Log: user.account.lock".into()),
            ..AuditRecord::default()
        })
        .await?;
        warn!(
            accounts,
            "lockout storm reported to IT; no DMs while it lasts"
        );
        Ok(Output::TriageIncident { text })
    }

    /// "Unlock me" under a lockout DM, pressed by `user`: the self-service unlock, for the
    /// person the DM was sent to only.
    pub async fn unlock_me(&self, user: &str, lockout_id: &str, conversation: &str) -> Vec<Output> {
        let told = self.store.lockout(lockout_id).await.ok().flatten();
        if told.and_then(|row| row.person).as_deref() != Some(user) {
            return vec![Output::Ephemeral {
                to: user.to_string(),
                text:
                    "This button is for the person whose account was locked. Nothing was changed."
                        .into(),
            }];
        }
        self.self_service(user, Tool::UnlockUser, conversation)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_sources_are_counted_and_ordered() {
        let values = ["b", "a", "b", "c", "b", "a"].map(String::from);
        assert_eq!(top(values.into_iter()), "b (3), a (2), c (1)");
        assert_eq!(top(std::iter::empty()), "unknown");
    }

    #[test]
    fn an_event_becomes_a_row_only_when_it_names_a_user_and_a_time() {
        let event: LogEvent = serde_json::from_value(serde_json::json!({
            "uuid": "e1", "published": "2026-12-06T09:14:03.512Z", "eventType": LOCK_EVENT,
            "client": {"ipAddress": "203.0.113.7", "geographicalContext": {"country": "France"}},
            "target": [{"id": "00u1", "type": "User", "alternateId": "ana@example.com"}]
        }))
        .unwrap();
        let row = lockout_row(&event).unwrap();
        assert_eq!(row.login, "ana@example.com");
        assert_eq!(row.locked_at, 1_796_548_443);
        assert_eq!(row.country.as_deref(), Some("France"));
        let mut no_user = event.clone();
        no_user.target.clear();
        assert!(lockout_row(&no_user).is_none());
        let mut no_time = event;
        no_time.published = "yesterday".into();
        assert!(lockout_row(&no_time).is_none());
    }
}
