//! Emoji rules: 🔒 on a message in #security means "suspend the person this message is about".
//! A rule names the emoji, the action, the channels, whose account (the one person mentioned, or
//! the author), and whether the reaction asks for approval (`confirm`) or is the approval
//! (`immediate`, only where the policy lets the reactor approve alone). A grace window lets the
//! reactor take it back; two reactors can be required. Rules are checked when the config loads.

use serde::Deserialize;

use crate::policy::PolicyConfig;
use crate::tools::{Risk, Tool};

/// Whose account a reaction acts on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReactionTarget {
    /// The one person the message mentions; none or several is a question, never a guess.
    #[default]
    Mentioned,
    /// The message's author.
    Author,
}

/// What a reaction does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReactionMode {
    /// The usual card, in the message's thread.
    #[default]
    Confirm,
    /// The reaction approves the proposal it makes (after the grace window).
    Immediate,
}

/// `[[automations.reactions]]` as written.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    emoji: String,
    tool: String,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    target: ReactionTarget,
    #[serde(default)]
    mode: ReactionMode,
    #[serde(default)]
    grace_seconds: u64,
    #[serde(default = "one")]
    reactors_required: u8,
}

fn one() -> u8 {
    1
}

/// A checked rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReactionRule {
    /// Slack's name, without colons ("lock").
    pub emoji: String,
    pub tool: Tool,
    /// Channel ids where it is active.
    pub channels: Vec<String>,
    pub target: ReactionTarget,
    pub mode: ReactionMode,
    /// Removing the reaction within this many seconds cancels.
    pub grace_seconds: u64,
    /// Distinct authorized people who must react (1 or 2).
    pub reactors_required: u8,
}

/// Slack channel ids: public `C…`, private `G…` (older) — upper-case letters and digits.
pub fn is_channel_id(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some('C' | 'G'))
        && text.len() >= 9
        && text.len() <= 12
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Checks the rules against the policy; every problem is a sentence naming the rule.
pub fn check_rules(
    rules: Vec<RuleFile>,
    policy: Option<&PolicyConfig>,
) -> (Vec<ReactionRule>, Vec<String>) {
    let mut checked: Vec<ReactionRule> = Vec::new();
    let mut problems = Vec::new();
    for (n, rule) in rules.into_iter().enumerate() {
        let name = format!("automations.reactions[{}] (:{}:)", n + 1, rule.emoji);
        let before = problems.len();
        let emoji = rule.emoji.trim_matches(':').to_string();
        if emoji.is_empty()
            || !emoji.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '+' | '\'')
            })
        {
            problems.push(format!(
                "{name}: emoji '{}' is not a Slack emoji name; write it as Slack names it, without colons, e.g. \"lock\"",
                rule.emoji
            ));
        }
        let tool = match Tool::from_name(&rule.tool) {
            Some(tool) if tool.risk() == Risk::Read => {
                problems.push(format!(
                    "{name}: {tool} only reads; a reaction rule must change something"
                ));
                None
            }
            Some(tool @ (Tool::AddUserToGroup | Tool::RemoveUserFromGroup)) => {
                problems.push(format!(
                    "{name}: {tool} needs a group, which a reaction cannot name; use the /okta form for group changes"
                ));
                None
            }
            Some(tool) => Some(tool),
            None => {
                problems.push(format!(
                    "{name}: tool '{}' is not an action okta-agent has (e.g. suspend_user, unlock_user, clear_sessions)",
                    rule.tool
                ));
                None
            }
        };
        if rule.channels.is_empty() {
            problems.push(format!(
                "{name}: channels is empty; list the channel ids where the rule is active"
            ));
        }
        for channel in &rule.channels {
            if !is_channel_id(channel) {
                problems.push(format!(
                    "{name}: '{channel}' is not a channel id (they look like C0123ABCD; open the channel's details to copy it)"
                ));
            }
        }
        if !(1..=2).contains(&rule.reactors_required) {
            problems.push(format!("{name}: reactors_required must be 1 or 2"));
        }
        if rule.grace_seconds > 3_600 {
            problems.push(format!(
                "{name}: grace_seconds {} is out of range; use 0 to 3600",
                rule.grace_seconds
            ));
        }
        if let (Some(tool), ReactionMode::Immediate) = (tool, rule.mode) {
            if let Some(why) = immediate_refusal(tool, rule.target, rule.reactors_required, policy)
            {
                problems.push(format!(
                    "{name}: mode \"immediate\" is not allowed: {why}; use mode = \"confirm\""
                ));
            }
        }
        for other in &checked {
            if other.emoji == emoji && rule.channels.iter().any(|c| other.channels.contains(c)) {
                problems.push(format!(
                    "{name}: another rule already uses :{emoji}: in the same channel"
                ));
            }
        }
        if problems.len() == before {
            if let Some(tool) = tool {
                checked.push(ReactionRule {
                    emoji,
                    tool,
                    channels: rule.channels,
                    target: rule.target,
                    mode: rule.mode,
                    grace_seconds: rule.grace_seconds,
                    reactors_required: rule.reactors_required,
                });
            }
        }
    }
    (checked, problems)
}

/// Why the policy does not let any reactor approve this action alone, if it does not.
fn immediate_refusal(
    tool: Tool,
    target: ReactionTarget,
    reactors: u8,
    policy: Option<&PolicyConfig>,
) -> Option<String> {
    let Some(policy) = policy else {
        return Some("there is no [policy], so nobody may approve changes".into());
    };
    if reactors >= 2 {
        // The second reactor approves, as a second person would click.
        return None;
    }
    if policy.needs_second_person(tool) {
        let why = if policy.two_person.contains(&tool) {
            "is a two-person action in the policy"
        } else {
            "sends its link to the approver (reset_password_delivery = \"dm_approver\"), so the approver must not be the one who asked"
        };
        return Some(format!(
            "{tool} {why}, so one reaction cannot approve it (set reactors_required = 2)"
        ));
    }
    let admins_may = !policy.admins.is_empty();
    let self_may = target == ReactionTarget::Author && policy.self_service.contains(&tool);
    if !admins_may && !self_may {
        return Some(format!("nobody may approve {tool} alone under the policy"));
    }
    None
}

/// The people a message mentions (`<@U…>`), in order, once each, leaving out `except` (the bot).
pub fn mentioned_people(text: &str, except: &str) -> Vec<String> {
    let mut people: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('>') else { break };
        let id = after[..end].split('|').next().unwrap_or_default();
        if crate::policy::is_slack_user_id(id) && id != except && !people.iter().any(|p| p == id) {
            people.push(id.to_string());
        }
        rest = &after[end..];
    }
    people
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(toml_text: &str, policy: Option<&PolicyConfig>) -> (Vec<ReactionRule>, Vec<String>) {
        #[derive(Deserialize)]
        struct File {
            reactions: Vec<RuleFile>,
        }
        let file: File = toml::from_str(toml_text).unwrap();
        check_rules(file.reactions, policy)
    }

    fn demo() -> PolicyConfig {
        crate::policy::Policy::demo().config().unwrap().clone()
    }

    #[test]
    fn a_good_rule_is_taken_and_bad_ones_are_named() {
        let policy = demo();
        let (ok, problems) = rules(
            "[[reactions]]\nemoji = \"lock\"\ntool = \"suspend_user\"\nchannels = [\"C0SECURITY\"]\nmode = \"immediate\"\ngrace_seconds = 60\n",
            Some(&policy),
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(ok[0].tool, Tool::SuspendUser);
        assert_eq!(
            (ok[0].target, ok[0].mode, ok[0].grace_seconds),
            (ReactionTarget::Mentioned, ReactionMode::Immediate, 60)
        );
        let (_, problems) = rules(
            "[[reactions]]\nemoji = \":lock:\"\ntool = \"suspend\"\nchannels = [\"security\"]\n\n[[reactions]]\nemoji = \"skull\"\ntool = \"deactivate_user\"\nchannels = [\"C0SECURITY\"]\nmode = \"immediate\"\n\n[[reactions]]\nemoji = \"busts_in_silhouette\"\ntool = \"add_user_to_group\"\nchannels = [\"C0SECURITY\"]\nreactors_required = 3\n",
            Some(&policy),
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("tool 'suspend' is not an action")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("'security' is not a channel id")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("two-person action")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("needs a group")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("reactors_required must be 1 or 2")),
            "{problems:?}"
        );
        let (_, problems) = rules(
            "[[reactions]]\nemoji = \"lock\"\ntool = \"suspend_user\"\nchannels = [\"C0SECURITY\"]\nmode = \"immediate\"\n",
            None,
        );
        assert!(problems[0].contains("there is no [policy]"), "{problems:?}");
    }

    #[test]
    fn a_reset_whose_link_goes_to_the_approver_needs_two_reactors() {
        let rule = "[[reactions]]\nemoji = \"key\"\ntool = \"reset_password\"\nchannels = [\"C0SECURITY\"]\nmode = \"immediate\"\n";
        let mut policy = demo();
        policy.reset_password_delivery = crate::policy::ResetDelivery::Email;
        let (ok, problems) = rules(rule, Some(&policy));
        assert!(problems.is_empty() && ok.len() == 1, "{problems:?}");
        policy.reset_password_delivery = crate::policy::ResetDelivery::DmApprover;
        let (ok, problems) = rules(rule, Some(&policy));
        assert!(ok.is_empty(), "{ok:?}");
        assert!(
            problems[0].contains("sends its link to the approver")
                && problems[0].contains("reactors_required = 2"),
            "{problems:?}"
        );
        let (ok, problems) = rules(&format!("{rule}reactors_required = 2\n"), Some(&policy));
        assert!(problems.is_empty() && ok.len() == 1, "{problems:?}");
    }

    #[test]
    fn mentions_are_read_once_each_without_the_bot() {
        assert_eq!(
            mentioned_people(
                "<@UBOT> <@U0BOB> is phishing, <@U0BOB|bob> again, cc <@U0KATE>",
                "UBOT"
            ),
            vec!["U0BOB".to_string(), "U0KATE".to_string()]
        );
        assert!(mentioned_people("no one here <!channel>", "UBOT").is_empty());
        assert!(
            is_channel_id("C0SECURITY") && is_channel_id("G01234ABC") && !is_channel_id("general")
        );
    }
}
