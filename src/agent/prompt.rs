//! The system prompt, compiled in from `prompts/system.md` and filled per turn.

/// The template as shipped.
pub const SYSTEM_TEMPLATE: &str = include_str!("../../prompts/system.md");

/// The prompt for one turn: who is asking and today's date.
pub fn system_prompt(requester_slack_id: &str, today: &str) -> String {
    SYSTEM_TEMPLATE
        .replace("{{requester}}", &format!("<@{requester_slack_id}>"))
        .replace("{{today}}", today)
}
