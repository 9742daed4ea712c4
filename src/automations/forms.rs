//! The `/okta` form as Slack Block Kit: the request modal (the actions this person may ask
//! for, a person picker or a login, a group fed by Okta search, a duration for group adds, a
//! reason), the confirmation step for someone who may approve alone, and reading a submission
//! back into a checked request. Pure JSON in and out; the Slack front end sends and receives.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::agent::rules::duration;
use crate::tools::{Risk, Tool};

/// The request modal's `callback_id`.
pub const FORM: &str = "okta_form";
/// The confirmation step's `callback_id`.
pub const CONFIRM: &str = "okta_form_confirm";
/// The global shortcut's and the message shortcut's `callback_id`s (see `manifest.yml`).
pub const SHORTCUT: &str = "okta_action";
pub const MESSAGE_SHORTCUT: &str = "okta_action_message";

/// Block ids: validation errors are keyed by them.
pub mod block {
    pub const ACTION: &str = "action";
    pub const USER: &str = "user";
    pub const USER_TEXT: &str = "user_text";
    pub const GROUP: &str = "group";
    pub const DURATION: &str = "duration";
    pub const REASON: &str = "reason";
}

/// What the form carries between its steps (`private_metadata`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Where it was opened (the message shortcut's channel, or `/okta`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The person to start with (the message shortcut's mention or author).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The proposal the confirmation step approves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal_id: Option<String>,
}

impl Metadata {
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text})
}

fn option(tool: Tool) -> Value {
    json!({"text": plain(tool.verb()), "value": tool.name()})
}

fn group_tool(tool: Tool) -> bool {
    tool.subject_kind() == crate::tools::SubjectKind::Membership
}

/// The request modal. `tools` are the actions this person may request; `chosen` shows the group
/// (and, for adds, duration) fields.
pub fn request_view(
    tools: &[Tool],
    chosen: Option<Tool>,
    metadata: &Metadata,
    max_access_hours: u32,
) -> Value {
    let mut action = json!({
        "type": "static_select",
        "action_id": "tool",
        "placeholder": plain("Choose an action"),
        "options": tools.iter().map(|t| option(*t)).collect::<Vec<_>>(),
    });
    if let Some(tool) = chosen.filter(|t| tools.contains(t)) {
        action["initial_option"] = option(tool);
    }
    let mut person =
        json!({"type": "users_select", "action_id": "user", "placeholder": plain("Pick a person")});
    if let Some(user) = &metadata.user {
        person["initial_user"] = json!(user);
    }
    let mut blocks = vec![
        json!({"type": "input", "block_id": block::ACTION, "dispatch_action": true, "label": plain("Action"), "element": action}),
        json!({"type": "input", "block_id": block::USER, "optional": true, "label": plain("Person"), "element": person}),
        json!({"type": "input", "block_id": block::USER_TEXT, "optional": true, "label": plain("…or their Okta login or email"),
               "element": {"type": "plain_text_input", "action_id": "text", "placeholder": plain("ana.lopez@example.com")}}),
    ];
    if let Some(tool) = chosen.filter(|t| group_tool(*t)) {
        blocks.push(json!({"type": "input", "block_id": block::GROUP, "label": plain("Group"),
            "element": {"type": "external_select", "action_id": "group", "min_query_length": 1, "placeholder": plain("Type to search Okta groups")}}));
        if tool == Tool::AddUserToGroup {
            blocks.push(json!({"type": "input", "block_id": block::DURATION, "optional": true,
                "label": plain("For how long (optional)"),
                "hint": plain(&format!("Leave empty to keep the membership. At most {max_access_hours} hours; okta-agent removes it when the time is up.")),
                "element": {"type": "plain_text_input", "action_id": "text", "placeholder": plain("8 hours, 2 days")}}));
        }
    }
    let reason_hint = match chosen {
        Some(tool) if tool.risk() == Risk::Destructive => "Required for this action.",
        _ => "Required for destructive actions (suspend, deactivate, reset MFA…).",
    };
    blocks.push(json!({"type": "input", "block_id": block::REASON, "optional": true, "label": plain("Reason"), "hint": plain(reason_hint),
        "element": {"type": "plain_text_input", "action_id": "text", "multiline": true}}));
    json!({
        "type": "modal",
        "callback_id": FORM,
        "private_metadata": metadata.text(),
        "title": plain("Okta action"),
        "submit": plain("Continue"),
        "close": plain("Cancel"),
        "blocks": blocks,
    })
}

/// The step for someone who may approve alone: the request in words, confirmed by submitting.
pub fn confirm_view(summary: &str, proposal_id: &str) -> Value {
    let metadata = Metadata {
        proposal_id: Some(proposal_id.to_string()),
        ..Metadata::default()
    };
    json!({
        "type": "modal",
        "callback_id": CONFIRM,
        "private_metadata": metadata.text(),
        "title": plain("Confirm"),
        "submit": plain("Confirm"),
        "close": plain("Not now"),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("You may approve this alone. Confirm carries it out now; “Not now” leaves the card waiting. Request {proposal_id}.")}]},
        ],
    })
}

/// A submission, read back: what was asked, or the errors to show (block id → message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub tool: Tool,
    /// `<@U…>` from the picker, or the login or email typed.
    pub user: String,
    /// The group's Okta id.
    pub group: Option<String>,
    pub access_seconds: Option<i64>,
    pub reason: Option<String>,
}

/// Reads `view.state.values`; every missing or malformed field is an error on its block.
pub fn read_submission(
    values: &Value,
    allowed: &[Tool],
    max_access_hours: u32,
) -> Result<Submission, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let text = |block: &str| {
        values[block]["text"]["value"]
            .as_str()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let tool = values[block::ACTION]["tool"]["selected_option"]["value"]
        .as_str()
        .and_then(Tool::from_name)
        .filter(|t| allowed.contains(t));
    if tool.is_none() {
        errors.push((
            block::ACTION,
            "Choose one of the actions listed.".to_string(),
        ));
    }
    let picked = values[block::USER]["user"]["selected_user"]
        .as_str()
        .map(|u| format!("<@{u}>"));
    let typed = text(block::USER_TEXT);
    let user = match (picked, typed) {
        (Some(picked), _) => Some(picked),
        (None, Some(typed)) if typed.len() <= 200 && !typed.contains(char::is_whitespace) => {
            Some(typed)
        }
        (None, Some(_)) => {
            errors.push((
                block::USER_TEXT,
                "Type one Okta login or email, without spaces.".to_string(),
            ));
            None
        }
        (None, None) => {
            errors.push((
                block::USER,
                "Pick a person, or type their Okta login or email below.".to_string(),
            ));
            None
        }
    };
    let group = values[block::GROUP]["group"]["selected_option"]["value"]
        .as_str()
        .map(str::to_string);
    if tool.is_some_and(group_tool) && group.is_none() {
        errors.push((block::GROUP, "Choose a group from the list.".to_string()));
    }
    let time_bound = tool == Some(Tool::AddUserToGroup);
    let access_seconds = match text(block::DURATION) {
        None => None,
        Some(written) if time_bound => match duration::take_duration(&format!("for {written}")) {
            (rest, Some(seconds)) if rest.trim().is_empty() => {
                if seconds > i64::from(max_access_hours) * 3_600 {
                    errors.push((
                        block::DURATION,
                        format!("At most {max_access_hours} hours."),
                    ));
                }
                Some(seconds)
            }
            _ => {
                errors.push((
                    block::DURATION,
                    "Write a length like “8 hours”, “90 minutes” or “2 days”.".to_string(),
                ));
                None
            }
        },
        Some(_) => {
            errors.push((
                block::DURATION,
                "Only group additions can be time-bound.".to_string(),
            ));
            None
        }
    };
    let reason = text(block::REASON);
    if tool.is_some_and(|t| t.risk() == Risk::Destructive) && reason.is_none() {
        errors.push((
            block::REASON,
            "Say why: a reason is required for this action.".to_string(),
        ));
    }
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        errors.push((
            block::REASON,
            "Keep the reason under 500 characters.".to_string(),
        ));
    }
    match (tool, user) {
        (Some(tool), Some(user)) if errors.is_empty() => Ok(Submission {
            tool,
            user,
            group,
            access_seconds,
            reason,
        }),
        _ => Err(errors),
    }
}

/// The form as text, for the README and `chat`'s `/form`.
pub fn describe(tools: &[Tool]) -> String {
    let actions: Vec<&str> = tools.iter().map(|t| t.verb()).collect();
    format!(
        "┌ Okta action ─────────────────────────────────────────┐\n\
         │ Action   [ {} ▾ ]\n\
         │ Person   [ Pick a person ▾ ]  …or login/email [          ]\n\
         │ Group    [ Type to search Okta groups ▾ ]   (group actions)\n\
         │ For      [ 8 hours, 2 days ]  optional       (group adds)\n\
         │ Reason   [                    ]  required for destructive actions\n\
         │                                  [ Cancel ]  [ Continue ]\n\
         └──────────────────────────────────────────────────────┘",
        actions.join(" / ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOWED: &[Tool] = &[Tool::UnlockUser, Tool::SuspendUser, Tool::AddUserToGroup];

    #[test]
    fn the_group_and_duration_fields_follow_the_action() {
        let plain_view = request_view(ALLOWED, Some(Tool::SuspendUser), &Metadata::default(), 72);
        let ids: Vec<&str> = plain_view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec!["action", "user", "user_text", "reason"]);
        let group_view = request_view(
            ALLOWED,
            Some(Tool::AddUserToGroup),
            &Metadata {
                user: Some("U0ANA".into()),
                ..Metadata::default()
            },
            72,
        );
        let ids: Vec<&str> = group_view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            vec!["action", "user", "user_text", "group", "duration", "reason"]
        );
        assert_eq!(group_view["blocks"][1]["element"]["initial_user"], "U0ANA");
        assert_eq!(
            group_view["blocks"][0]["element"]["options"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn submissions_are_read_back_or_named_field_by_field() {
        let good = json!({
            "action": {"tool": {"type": "static_select", "selected_option": {"value": "add_user_to_group"}}},
            "user": {"user": {"type": "users_select", "selected_user": "U0ANA"}},
            "user_text": {"text": {"type": "plain_text_input", "value": null}},
            "group": {"group": {"type": "external_select", "selected_option": {"value": "00gzoom"}}},
            "duration": {"text": {"type": "plain_text_input", "value": "8 hours"}},
            "reason": {"text": {"type": "plain_text_input", "value": "conference"}},
        });
        let read = read_submission(&good, ALLOWED, 72).unwrap();
        assert_eq!(read.user, "<@U0ANA>");
        assert_eq!(read.group.as_deref(), Some("00gzoom"));
        assert_eq!(read.access_seconds, Some(8 * 3_600));
        let bad = json!({
            "action": {"tool": {"selected_option": {"value": "suspend_user"}}},
            "user_text": {"text": {"value": "two words"}},
            "duration": {"text": {"value": "forever"}},
        });
        let errors = read_submission(&bad, ALLOWED, 72).unwrap_err();
        let blocks: Vec<&str> = errors.iter().map(|(b, _)| *b).collect();
        assert_eq!(blocks, vec!["user_text", "duration", "reason"]);
        let not_allowed = json!({"action": {"tool": {"selected_option": {"value": "deactivate_user"}}}, "user": {"user": {"selected_user": "U0ANA"}}});
        assert_eq!(
            read_submission(&not_allowed, ALLOWED, 72).unwrap_err()[0].0,
            "action"
        );
        let too_long = json!({"action": {"tool": {"selected_option": {"value": "add_user_to_group"}}}, "user": {"user": {"selected_user": "U0ANA"}},
            "group": {"group": {"selected_option": {"value": "00g1"}}}, "duration": {"text": {"value": "4 days"}}});
        assert_eq!(
            read_submission(&too_long, ALLOWED, 72).unwrap_err(),
            vec![("duration", "At most 72 hours.".to_string())]
        );
    }
}
