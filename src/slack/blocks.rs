//! Slack text and Block Kit: escaping, and the confirmation card in its pending and decided
//! forms. Text from people, Okta or the model is always escaped, so it can never become
//! `<!channel>`, a link or a mention that the template did not put there; only well-formed user
//! mentions in okta-agent's own replies are kept.

use serde_json::{json, Value};

use crate::approvals::ProposalState;
use crate::clock::format_utc;
use crate::engine::Card;
use crate::tools::Risk;

/// Escapes `&`, `<` and `>`, as Slack requires of any text that is not markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes everything, then restores plain user mentions (`<@U123ABC>`), which okta-agent's
/// replies use to name people. Broadcasts, channel links and URLs stay escaped.
pub fn escape_keeping_mentions(text: &str) -> String {
    let escaped = escape(text);
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped.as_str();
    while let Some(start) = rest.find("&lt;@") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 5..];
        let end = after.find("&gt;");
        match end {
            Some(end) if crate::policy::is_slack_user_id(&after[..end]) => {
                out.push_str(&format!("<@{}>", &after[..end]));
                rest = &after[end + 4..];
            }
            _ => {
                out.push_str("&lt;@");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn context(text: String) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
}

fn button(action_id: &str, label: &str, value: &str, style: Option<&str>) -> Value {
    let mut button = json!({
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    });
    if let Some(style) = style {
        button["style"] = json!(style);
    }
    button
}

fn target_line(card: &Card) -> String {
    let t = &card.target;
    let mut line = format!(
        "*Target:* {} · `{}` · {}",
        escape(&t.name),
        escape(&t.login),
        t.status
    );
    if let Some(group) = &t.group {
        line.push_str(&format!("\n*Group:* {}", escape(&group.name)));
    }
    line
}

/// The card awaiting a decision: action, target, requester, approvers, expiry, buttons. The
/// buttons carry only the proposal id.
pub fn pending_card(card: &Card) -> (String, Value) {
    let title = format!(
        "Approval needed: {}{}",
        card.tool.verb(),
        if card.undo_of.is_some() {
            " (undo)"
        } else {
            ""
        }
    );
    let mut body = format!(
        "*{title}*\n{}\n*Requested by:* <@{}>",
        target_line(card),
        card.requester
    );
    if let Some(approvers) = card.approvers {
        body.push_str(&format!("\n*Who may approve:* {}", approvers.describe()));
    }
    let mut approve = button("approve", "Approve", &card.proposal_id, Some("primary"));
    if card.tool.risk() == Risk::Destructive {
        approve["style"] = json!("danger");
        approve["confirm"] = json!({
            "title": {"type": "plain_text", "text": "Are you sure?"},
            "text": {"type": "mrkdwn", "text": format!("{} {} ({}).", card.tool.verb(), escape(&card.target.name), escape(&card.target.login))},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Back"},
        });
    }
    let blocks = json!([
        section(body),
        context(format!("Expires {} · request {}", format_utc(card.expires_at), card.proposal_id)),
        {"type": "actions", "block_id": "decision", "elements": [approve, button("cancel", "Cancel", &card.proposal_id, None)]},
    ]);
    let fallback = format!("{title}: {} ({})", card.target.name, card.target.login);
    (escape(&fallback), blocks)
}

/// The card after a decision: the outcome, who decided and when, and an Undo button where the
/// core offers one.
pub fn decided_card(card: &Card) -> (String, Value) {
    let (mark, word) = match card.state {
        ProposalState::Executed => ("✅", "Done"),
        ProposalState::Failed => ("❌", "Failed"),
        ProposalState::Rejected => ("✖️", "Cancelled"),
        ProposalState::Expired => ("⌛", "Expired"),
        ProposalState::Unknown => ("⚠️", "Outcome unknown"),
        ProposalState::Pending | ProposalState::Executing => ("⏳", "In progress"),
    };
    let summary = card
        .outcome
        .as_ref()
        .map(|o| escape_keeping_mentions(&o.summary))
        .unwrap_or_default();
    let mut blocks = vec![section(format!(
        "{mark} *{word}: {}*\n{}\n{summary}",
        card.tool.verb(),
        target_line(card)
    ))];
    let mut facts = vec![format!("Requested by <@{}>", card.requester)];
    if let (Some(by), Some(at)) = (&card.decided_by, card.decided_at) {
        let verb = if card.state == ProposalState::Rejected {
            "Cancelled"
        } else {
            "Approved"
        };
        facts.push(format!("{verb} by <@{by}> at {}", format_utc(at)));
    }
    if let Some(outcome) = &card.outcome {
        if !outcome.okta_request_ids.is_empty() {
            facts.push(format!(
                "Okta request ids: {}",
                escape(&outcome.okta_request_ids.join(", "))
            ));
        }
    }
    facts.push(format!("request {}", card.proposal_id));
    blocks.push(context(facts.join(" · ")));
    if card.undo_available {
        blocks.push(json!({"type": "actions", "block_id": "undo", "elements": [button("undo", "Undo", &card.proposal_id, None)]}));
    }
    let fallback = format!("{word}: {} for {}", card.tool.verb(), card.target.login);
    (escape(&fallback), Value::Array(blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every `<` left in the output starts a well-formed user mention.
    fn only_user_mentions(text: &str) -> bool {
        text.match_indices('<').all(|(i, _)| {
            let rest = &text[i + 1..];
            rest.starts_with('@')
                && rest[1..]
                    .find('>')
                    .is_some_and(|end| crate::policy::is_slack_user_id(&rest[1..1 + end]))
        }) && !text.contains("<!")
    }

    proptest! {
        #[test]
        fn no_text_can_inject_markup(text in ".{0,80}", pieces in proptest::collection::vec(prop_oneof![
            Just("<!channel>"), Just("<!here>"), Just("<https://evil.example|click>"), Just("<#C123>"),
            Just("<@U0LEO>"), Just("<@U0LEO|x>"), Just("&lt;!channel&gt;"), Just("<"), Just(">"), Just("&"),
        ], 0..6)) {
            let input = format!("{text}{}", pieces.concat());
            prop_assert!(only_user_mentions(&escape_keeping_mentions(&input)));
            prop_assert!(!escape(&input).contains('<'));
        }
    }

    #[test]
    fn escaping_keeps_only_user_mentions() {
        assert_eq!(escape("a & <b>"), "a &amp; &lt;b&gt;");
        assert_eq!(
            escape_keeping_mentions("ask <@U0LEO> or <!channel> <https://evil|click> <@bob>"),
            "ask <@U0LEO> or &lt;!channel&gt; &lt;https://evil|click&gt; &lt;@bob&gt;"
        );
        assert_eq!(
            escape_keeping_mentions("<@U0LEO|leo>"),
            "&lt;@U0LEO|leo&gt;"
        );
        assert_eq!(
            escape_keeping_mentions("trailing &lt;@"),
            "trailing &amp;lt;@"
        );
    }
}
