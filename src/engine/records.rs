//! What the front ends keep through the engine, so none of them touches the store: deliveries
//! recorded before their ack (exactly once, resumed after a stop), where each card was posted,
//! the help answers given and the feedback on them, and this process's lease on its in-flight
//! work. Every time is the engine's clock's.

use super::{Engine, EngineError, Output};
use crate::store::{HelpAnswerRow, HelpAnswerState};
use crate::tools::Tool;

/// What a "That solved it" / "I still need help" click decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelpFeedback {
    /// Nothing changed; the clicker alone is told why.
    Refused(&'static str),
    /// Marked solved. When an admin solved a question that had been escalated, `question_ts`
    /// is the question, whose thread may hold their answer worth a help document.
    Solved {
        asker: String,
        escalated_question: Option<String>,
    },
    /// Escalated: IT should look at the question (`question_ts`, in the answer's channel).
    Escalated { asker: String, question_ts: String },
}

impl Engine {
    /// Whether this Slack user is an IT admin (to skip work that only admins can do).
    pub fn is_it_admin(&self, user: &str) -> bool {
        self.policy.is_admin(user)
    }

    /// The help documents an admin may pick from: (source, title), by title.
    pub fn help_doc_choices(&self) -> Vec<(String, String)> {
        let docs = self.agent.knowledge().current();
        let mut choices: Vec<(String, String)> = docs
            .docs()
            .iter()
            .map(|d| (d.source.clone(), d.title.clone()))
            .collect();
        choices.sort_by_key(|(_, title)| title.to_lowercase());
        choices
    }

    /// Records a delivery under its dedupe key before it is acknowledged; false when the key
    /// was seen before (a duplicate, done once already).
    pub async fn record_delivery(&self, key: &str, payload: &str) -> Result<bool, EngineError> {
        Ok(self
            .store
            .remember_inbound(key, payload, self.clock.now())
            .await?)
    }

    /// Records a delivery whose work ended at its ack (a throttled request whose person was
    /// told already this minute): it is deduplicated like any other and never worked on.
    pub async fn record_finished_delivery(
        &self,
        key: &str,
        payload: &str,
    ) -> Result<bool, EngineError> {
        Ok(self
            .store
            .remember_finished_inbound(key, payload, self.clock.now())
            .await?)
    }

    /// The delivery's work is done.
    pub async fn finish_delivery(&self, key: &str) -> Result<(), EngineError> {
        Ok(self.store.finish_inbound(key).await?)
    }

    /// The delivery's task crashed: it is never replayed.
    pub async fn fail_delivery(&self, key: &str) -> Result<(), EngineError> {
        Ok(self.store.fail_inbound(key).await?)
    }

    /// Forgets a delivery, so the same key may be sent again (a form answered with errors).
    pub async fn forget_delivery(&self, key: &str) -> Result<(), EngineError> {
        Ok(self.store.forget_inbound(key).await?)
    }

    /// Deliveries acknowledged by a process whose lease lapsed (or this one's, before a
    /// restart) and never finished: (key, payload), taken over by this process.
    pub async fn unfinished_deliveries(&self) -> Result<Vec<(String, String)>, EngineError> {
        Ok(self.store.unfinished_inbound(self.clock.now()).await?)
    }

    /// Deletes finished deliveries (and the message text they hold) older than the retention;
    /// returns how many.
    pub async fn purge_deliveries(&self, retention_days: u32) -> Result<u64, EngineError> {
        let before = self.clock.now() - i64::from(retention_days) * 86_400;
        Ok(self.store.purge_inbound(before).await?)
    }

    /// Takes (or renews) this process's lease on the work it holds.
    pub async fn renew_lease(&self, lease_seconds: i64) -> Result<(), EngineError> {
        self.store.set_lease_secs(lease_seconds);
        Ok(self.store.heartbeat(self.clock.now()).await?)
    }

    /// Gives the lease up at a clean stop, so nobody waits for it to lapse.
    pub async fn give_up_lease(&self) -> Result<(), EngineError> {
        Ok(self.store.retire().await?)
    }

    /// This process's id among the processes sharing the store.
    pub fn instance(&self) -> &str {
        self.store.instance()
    }

    /// Checks the audit chain end to end; its head, to log so an external store anchors it.
    pub async fn verify_audit(&self) -> Result<crate::audit::ChainHead, crate::audit::AuditError> {
        crate::audit::verify(&self.store, &self.audit_keys).await
    }

    /// Whether the store answers (`/readyz`).
    pub async fn store_answers(&self) -> bool {
        self.store.inbound_state("readyz-probe").await.is_ok()
    }

    /// Remembers where a proposal's card was posted, so later news updates it in place.
    pub async fn remember_card(
        &self,
        proposal_id: &str,
        channel: &str,
        ts: &str,
    ) -> Result<(), EngineError> {
        Ok(self.store.remember_card(proposal_id, channel, ts).await?)
    }

    /// Where a proposal's card is: (channel, ts).
    pub async fn card_location(&self, proposal_id: &str) -> Option<(String, String)> {
        self.store.card_of(proposal_id).await.ok().flatten()
    }

    /// Whether this help question was answered already (Slack may deliver it twice).
    pub async fn help_question_answered(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<bool, EngineError> {
        Ok(self.store.help_question_answered(channel, ts).await?)
    }

    /// Remembers a help answer as posted, for its feedback buttons.
    pub async fn remember_help_answer(
        &self,
        channel: &str,
        answer_ts: &str,
        question_ts: &str,
        asker: &str,
    ) -> Result<(), EngineError> {
        crate::metrics::metrics().help_answers.inc();
        Ok(self
            .store
            .insert_help_answer(&HelpAnswerRow {
                channel: channel.to_string(),
                answer_ts: answer_ts.to_string(),
                question_ts: question_ts.to_string(),
                asker: asker.to_string(),
                state: HelpAnswerState::Open,
                decided_by: None,
            })
            .await?)
    }

    /// "That solved it" (`solved`) or "I still need help" on a help answer, by `user`: only
    /// the person who asked or an IT admin, once. An escalated question can still be marked
    /// solved (that is when an admin's answer may become a document).
    pub async fn help_feedback(
        &self,
        user: &str,
        solved: bool,
        channel: &str,
        answer_ts: &str,
    ) -> HelpFeedback {
        let answer = match self.store.help_answer(channel, answer_ts).await {
            Ok(Some(answer)) => answer,
            Ok(None) => {
                return HelpFeedback::Refused(
                    "okta-agent has no record of this answer, so it cannot take feedback on it.",
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the help answer");
                return HelpFeedback::Refused("That did not work; please try again in a moment.");
            }
        };
        let admin = self.policy.is_admin(user);
        if answer.asker != user && !admin {
            return HelpFeedback::Refused(
                "Only the person who asked, or an IT admin, can do that.",
            );
        }
        let to = if solved {
            HelpAnswerState::Solved
        } else {
            HelpAnswerState::Escalated
        };
        let from = if solved && answer.state == HelpAnswerState::Escalated {
            HelpAnswerState::Escalated
        } else {
            HelpAnswerState::Open
        };
        match self
            .store
            .decide_help_answer(channel, answer_ts, from, to, user)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                return HelpFeedback::Refused("This was already marked solved or escalated.")
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not record help feedback");
                return HelpFeedback::Refused("That did not work; please try again in a moment.");
            }
        }
        if solved {
            HelpFeedback::Solved {
                asker: answer.asker,
                escalated_question: (from == HelpAnswerState::Escalated && admin)
                    .then_some(answer.question_ts),
            }
        } else {
            crate::metrics::metrics().help_escalations.inc();
            HelpFeedback::Escalated {
                asker: answer.asker,
                question_ts: answer.question_ts,
            }
        }
    }

    /// A help answer's self-service button ("Unlock my account"), pressed by `user`: the same
    /// proposal, policy and approval as the typed request, for the person who asked only.
    pub async fn self_service_button(
        &self,
        user: &str,
        tool_name: &str,
        channel: &str,
        answer_ts: &str,
        conversation: &str,
    ) -> Vec<Output> {
        let refuse = |text: &str| {
            vec![Output::Ephemeral {
                to: user.to_string(),
                text: text.to_string(),
            }]
        };
        // The offer was made to the person who asked: for anyone else it would act on them
        // without their question behind it, so they are told to ask themselves.
        let asker = self
            .store
            .help_answer(channel, answer_ts)
            .await
            .ok()
            .flatten()
            .map(|row| row.asker);
        if asker.as_deref() != Some(user) {
            return refuse("This button is for the person who asked. If you need the same, ask in the channel or mention okta-agent. Nothing was changed.");
        }
        match Tool::from_name(tool_name) {
            Some(tool) => self.self_service(user, tool, conversation).await,
            None => refuse("That button is not one okta-agent knows. Nothing was changed."),
        }
    }
}
