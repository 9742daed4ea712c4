//! The `/okta` form in Slack: opening it (`/okta` alone, the "Okta action" shortcuts), showing
//! the group and duration fields for the action chosen, suggesting Okta groups as the person
//! types, and answering a submission in the ack: field errors, the confirmation step for
//! someone who may approve alone, or done (the card goes to the triage channel, or to the
//! submitter by DM, and the submitter gets a link).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tracing::{info_span, warn, Instrument};

use super::SlackApp;
use crate::automations::forms::{self, block, Metadata};
use crate::engine::{Choice, Field, FormSubmission, Output, Proposed};
use crate::slack::decode::{FormMessage, Work};
use crate::tools::Tool;

/// Slack waits 3 s for an answer in the ack; okta-agent answers within this, or says it is slow.
const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

impl SlackApp {
    pub(super) async fn open_form(
        &self,
        user: &str,
        trigger_id: &str,
        channel: Option<&str>,
        message: Option<&FormMessage>,
    ) {
        let tools = self
            .engine
            .requestable_tools(user)
            .await
            .unwrap_or_default();
        if tools.is_empty() {
            let text = "You can't ask okta-agent for changes (only members whose policy allows it can). Nothing was opened.";
            if let Err(e) = self.web.post_message(user, None, text, None).await {
                warn!(error = %e, "could not tell someone the form is not for them");
            }
            return;
        }
        // The message shortcut starts with the person the message is about.
        let prefill =
            message.and_then(|m| {
                match crate::automations::reactions::mentioned_people(&m.text, self.bot_user_id())
                    .as_slice()
                {
                    [one] => Some(one.clone()),
                    [] => m.author.clone(),
                    _ => None,
                }
            });
        let metadata = Metadata {
            channel: channel.map(str::to_string),
            user: prefill,
            proposal_id: None,
        };
        let view = forms::request_view(
            &tools,
            None,
            &metadata,
            self.engine.policy().max_access_hours(),
        );
        if let Err(e) = self.web.open_view(trigger_id, &view).await {
            warn!(error = %e, "could not open the form");
        }
    }

    pub(super) async fn form_changed(
        &self,
        user: &str,
        view_id: &str,
        hash: &str,
        tool: &str,
        metadata: &str,
    ) {
        let tools = self
            .engine
            .requestable_tools(user)
            .await
            .unwrap_or_default();
        let view = forms::request_view(
            &tools,
            Tool::from_name(tool),
            &Metadata::parse(metadata),
            self.engine.policy().max_access_hours(),
        );
        if let Err(e) = self.web.update_view(view_id, hash, &view).await {
            warn!(error = %e, "could not update the form");
        }
    }

    /// `block_suggestion` for the group field: Okta groups starting with what was typed.
    pub async fn suggest(&self, payload: &Value) -> Value {
        let query = payload["value"].as_str().unwrap_or_default().to_string();
        let span = info_span!(
            "group_suggestions",
            user = payload["user"]["id"].as_str().unwrap_or_default()
        );
        let found = tokio::time::timeout(ANSWER_WITHIN, self.engine.group_suggestions(&query))
            .instrument(span)
            .await;
        let groups = match found {
            Ok(Ok(groups)) => groups,
            Ok(Err(e)) => {
                warn!(error = %e, "group search failed");
                Vec::new()
            }
            Err(_) => {
                warn!("group search took too long for Slack");
                Vec::new()
            }
        };
        let options: Vec<Value> = groups
            .into_iter()
            .map(|(name, id)| {
                let label: String = name.chars().take(75).collect();
                json!({"text": {"type": "plain_text", "text": label}, "value": id})
            })
            .collect();
        json!({ "options": options })
    }

    /// `view_submission`: the answer goes back in the ack (`response_action`).
    pub async fn submit_form(self: &Arc<Self>, payload: &Value) -> Value {
        let user = payload["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let view = &payload["view"];
        let key = format!(
            "form-submit:{}:{}",
            view["id"].as_str().unwrap_or_default(),
            view["hash"].as_str().unwrap_or_default()
        );
        match self.engine.record_delivery(&key, "{}").await {
            Ok(true) => {}
            Ok(false) => return json!({"response_action": "clear"}),
            Err(e) => {
                warn!(error = %e, "could not record a form submission");
                return errors(
                    block::ACTION,
                    "okta-agent could not record this just now; try again in a moment.",
                );
            }
        }
        let metadata = Metadata::parse(view["private_metadata"].as_str().unwrap_or_default());
        let answer = match view["callback_id"].as_str() {
            Some(forms::CONFIRM) => self.confirm(&user, &metadata, &key).await,
            Some(super::super::blocks::OVERRIDE_VIEW) => {
                let proposal_id = view["private_metadata"].as_str().unwrap_or_default();
                let reason = view["state"]["values"]["reason"]["reason"]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                if reason.chars().count() < 8 {
                    errors("reason", "Say why it is safe to approve without verification (a sentence, for the audit).")
                } else {
                    let work = Work::Override {
                        user: user.clone(),
                        proposal_id: proposal_id.to_string(),
                        reason,
                    };
                    // Carried out after the ack, like a click: Okta may take longer than Slack waits.
                    if let Err(e) = self.accept(&format!("{key}:override"), work).await {
                        warn!(error = %e, "could not accept an approval without verification");
                    }
                    json!({"response_action": "clear"})
                }
            }
            Some(forms::FORM) => {
                match tokio::time::timeout(ANSWER_WITHIN, self.request(&user, &view["state"]["values"])).await {
                    Ok(answer) => answer,
                    Err(_) => errors(block::ACTION, "Okta is slow to answer right now; nothing was requested. Try again in a moment."),
                }
            }
            _ => json!({"response_action": "clear"}),
        };
        // A submission answered with errors may be sent again as it is, once corrected
        // elsewhere (Slack keeps the view's hash); only a request that was made is settled.
        let settled = if answer["response_action"] == "errors" {
            self.engine.forget_delivery(&key).await
        } else {
            self.engine.finish_delivery(&key).await
        };
        if let Err(e) = settled {
            warn!(error = %e, "could not settle a form submission's dedupe key");
        }
        answer
    }

    /// The confirmation step: the submitter approves their own request, as a click would.
    async fn confirm(self: &Arc<Self>, user: &str, metadata: &Metadata, key: &str) -> Value {
        let Some(proposal_id) = metadata.proposal_id.clone() else {
            return json!({"response_action": "clear"});
        };
        let (channel, message_ts) = self
            .engine
            .card_location(&proposal_id)
            .await
            .unwrap_or_else(|| (user.to_string(), String::new()));
        let work = Work::Click {
            user: user.to_string(),
            proposal_id,
            choice: Choice::Approve,
            channel,
            message_ts,
            thread_ts: None,
        };
        // Carried out after the ack, like a click: Okta may take longer than Slack waits.
        if let Err(e) = self.accept(&format!("{key}:approve"), work).await {
            warn!(error = %e, "could not accept a form confirmation");
        }
        json!({"response_action": "clear"})
    }

    async fn request(self: &Arc<Self>, user: &str, values: &Value) -> Value {
        let tools = self
            .engine
            .requestable_tools(user)
            .await
            .unwrap_or_default();
        let max_hours = self.engine.policy().max_access_hours();
        let submission = match forms::read_submission(values, &tools, max_hours) {
            Ok(submission) => submission,
            Err(found) => {
                let errors: serde_json::Map<String, Value> = found
                    .into_iter()
                    .map(|(block, text)| (block.to_string(), Value::String(text)))
                    .collect();
                return json!({"response_action": "errors", "errors": errors});
            }
        };
        // The card goes to the triage channel, or to the submitter by DM.
        let card_channel = self
            .triage_channels
            .first()
            .cloned()
            .unwrap_or_else(|| user.to_string());
        let proposed = self
            .engine
            .form(FormSubmission {
                requester: user.to_string(),
                tool: submission.tool,
                user: submission.user,
                group: submission.group,
                access_seconds: submission.access_seconds,
                reason: submission.reason,
                conversation: format!("{card_channel}:-"),
            })
            .await;
        match proposed {
            Proposed::Refused { field, why } => {
                let block = match field {
                    Field::Action => block::ACTION,
                    Field::User => block::USER,
                    Field::Group => block::GROUP,
                    Field::Duration => block::DURATION,
                };
                errors(
                    block,
                    &format!(
                        "{}. Nothing was requested.",
                        capitalized(why.trim_end_matches('.'))
                    ),
                )
            }
            Proposed::Card {
                proposal_id,
                outputs,
                requester_may_approve,
            } => {
                let summary = summary(&outputs);
                self.post_form_card(user, &card_channel, &proposal_id, outputs);
                if requester_may_approve {
                    json!({"response_action": "update", "view": forms::confirm_view(&summary, &proposal_id)})
                } else {
                    json!({"response_action": "clear"})
                }
            }
        }
    }

    /// Posts the card (and any notice) after the ack, then gives the submitter a link to it.
    fn post_form_card(
        self: &Arc<Self>,
        user: &str,
        channel: &str,
        proposal_id: &str,
        outputs: Vec<Output>,
    ) {
        let app = self.clone();
        let (user, channel, proposal_id) = (
            user.to_string(),
            channel.to_string(),
            proposal_id.to_string(),
        );
        self.tracker.spawn_on(
            async move {
                app.deliver(outputs, &channel, None, None).await;
                if channel == user {
                    return; // the card is in their DM already
                }
                let link = match app.engine.card_location(&proposal_id).await {
                    Some((card_channel, ts)) => app.web.permalink(&card_channel, &ts).await.unwrap_or_default(),
                    None => String::new(),
                };
                let text = if link.is_empty() {
                    format!("Your request is waiting for approval in <#{channel}> (request {proposal_id}).")
                } else {
                    format!("Your request is waiting for approval in <#{channel}>: <{link}|see the card> (request {proposal_id}).")
                };
                if let Err(e) = app.web.post_message(&user, None, &text, None).await {
                    warn!(error = %e, "could not send the submitter a link to their card");
                }
            }
            .instrument(info_span!("form_card")),
            &self.work,
        );
    }
}

fn errors(block: &str, text: &str) -> Value {
    json!({"response_action": "errors", "errors": { block: text }})
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The request in words, for the confirmation step.
fn summary(outputs: &[Output]) -> String {
    outputs
        .iter()
        .find_map(|o| match o {
            Output::Card(card) => {
                let mut text = format!(
                    "*{}* {} (`{}`)",
                    card.tool.verb(),
                    crate::slack::markup::untrusted(&card.target.name),
                    crate::slack::markup::escape(&card.target.login.replace('`', "'"))
                );
                if let Some(group) = &card.target.group {
                    text.push_str(&format!(
                        " — {}",
                        crate::slack::markup::untrusted(&group.name)
                    ));
                }
                if let Some(access) = &card.access {
                    text.push_str(&format!(
                        ", for {}",
                        crate::clock::format_duration(access.seconds)
                    ));
                }
                if let Some(reason) = &card.reason {
                    text.push_str(&format!(
                        "\n*Reason:* {}",
                        crate::slack::markup::untrusted(reason)
                    ));
                }
                Some(text)
            }
            _ => None,
        })
        .unwrap_or_default()
}
