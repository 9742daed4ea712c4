//! Automations: Okta actions set off by something other than a typed request, all through the
//! same engine (policy, proposal, card, single claim, executor, audit).
//!
//! * [`reactions`]: `[[automations.reactions]]` rules, checked at start, and the message
//!   parts a reaction needs (the one person a message mentions).
//! * [`forms`]: the `/okta` modal: its views, and reading a submission back.

pub mod forms;
pub mod reactions;

pub use reactions::{ReactionMode, ReactionRule, ReactionTarget};

/// `[automations]`, checked.
#[derive(Clone, Debug, Default)]
pub struct Automations {
    pub reactions: Vec<ReactionRule>,
}

impl Automations {
    /// The rule for `emoji` in `channel`, if one is active there.
    pub fn reaction_rule(&self, emoji: &str, channel: &str) -> Option<&ReactionRule> {
        self.reactions
            .iter()
            .find(|r| r.emoji == emoji && r.channels.iter().any(|c| c == channel))
    }
}
