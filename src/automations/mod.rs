//! Automations: Okta actions set off by something other than a typed request, all through the
//! same engine (policy, proposal, card, single claim, executor, audit).
//!
//! * [`reactions`]: `[[automations.reactions]]` rules, checked at start, and the message
//!   parts a reaction needs (the one person a message mentions).
//! * [`forms`]: the `/okta` modal: its views, and reading a submission back.

pub mod forms;
pub mod reactions;

pub use reactions::{ReactionMode, ReactionRule, ReactionTarget};

/// The channel id the demo rules name (`chat` ignores channels).
pub const CHAT_CHANNEL: &str = "C0CHAT00";

/// `[automations]`, checked.
#[derive(Clone, Debug, Default)]
pub struct Automations {
    pub reactions: Vec<ReactionRule>,
}

impl Automations {
    /// The rules `chat` uses on the demo org when none are configured: :lock: asks to suspend
    /// the person a message mentions; :no_entry: suspends them at once (for someone who may
    /// approve alone); :skull: deactivates them once two admins agree.
    pub fn demo() -> Self {
        let rule = |emoji: &str, tool, mode, grace_seconds, reactors_required| ReactionRule {
            emoji: emoji.into(),
            tool,
            channels: vec![CHAT_CHANNEL.into()],
            target: ReactionTarget::Mentioned,
            mode,
            grace_seconds,
            reactors_required,
        };
        Self {
            reactions: vec![
                rule(
                    "lock",
                    crate::tools::Tool::SuspendUser,
                    ReactionMode::Confirm,
                    60,
                    1,
                ),
                rule(
                    "no_entry",
                    crate::tools::Tool::SuspendUser,
                    ReactionMode::Immediate,
                    60,
                    1,
                ),
                rule(
                    "skull",
                    crate::tools::Tool::DeactivateUser,
                    ReactionMode::Confirm,
                    0,
                    2,
                ),
            ],
        }
    }

    /// The rule for `emoji` in any channel (`chat` has one conversation).
    pub fn reaction_rule_anywhere(&self, emoji: &str) -> Option<&ReactionRule> {
        self.reactions.iter().find(|r| r.emoji == emoji)
    }

    /// The rule for `emoji` in `channel`, if one is active there.
    pub fn reaction_rule(&self, emoji: &str, channel: &str) -> Option<&ReactionRule> {
        self.reactions
            .iter()
            .find(|r| r.emoji == emoji && r.channels.iter().any(|c| c == channel))
    }
}
