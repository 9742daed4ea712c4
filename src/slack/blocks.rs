//! Block Kit: the confirmation card in its pending and decided forms. Every piece of text from
//! people, Okta or the model goes through [`untrusted`], so it can never become `<!channel>`, a
//! link or a mention; the only mentions are the card's own fields (requester, approver), which
//! are Slack user ids.

use serde_json::{json, Value};

use super::markup::{escape, untrusted};
use crate::approvals::{ProposalState, Trigger};
use crate::clock::format_utc;
use crate::engine::{Card, Verification};
use crate::knowledge::{Citation, HelpAnswer};
use crate::store::VerificationState;
use crate::tools::Risk;

/// `<@U…>` for a Slack user id, or nothing that could become markup.
fn mention(id: &str) -> String {
    if crate::policy::is_slack_user_id(id) {
        format!("<@{id}>")
    } else {
        untrusted(id)
    }
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
        untrusted(&t.name),
        escape(&t.login.replace('`', "'")),
        t.status
    );
    if let Some(group) = &t.group {
        line.push_str(&format!("\n*Group:* {}", untrusted(&group.name)));
    }
    if let Some(access) = &card.access {
        match access.ends_at {
            Some(at) if access.ended => {
                line.push_str(&format!("\n*Access ended:* {}", format_utc(at)))
            }
            Some(at) => line.push_str(&format!("\n*Access ends:* {}", format_utc(at))),
            None => line.push_str(&format!(
                "\n*For:* {}, then removed automatically",
                crate::clock::format_duration(access.seconds)
            )),
        }
    }
    if let Some(reason) = &card.reason {
        line.push_str(&format!("\n*Reason:* {}", untrusted(reason)));
    }
    line
}

/// " (with a :lock: reaction)" after the requester, when something other than a message set
/// the request off.
fn trigger_note(card: &Card) -> String {
    match &card.trigger {
        Trigger::Message => String::new(),
        Trigger::Reaction { emoji } => format!(" (with a :{}: reaction)", emoji_name(emoji)),
        Trigger::Form => " (with the /okta form)".into(),
        Trigger::SelfService => " (with a self-service button)".into(),
    }
}

/// An emoji name as Slack writes it (letters, digits, `_`, `-`, `+`), anything else dropped.
fn emoji_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        .collect()
}

/// The card awaiting a decision: action, target, requester, approvers, expiry, buttons. The
/// buttons carry only the proposal id.
pub fn pending_card(card: &Card) -> (String, Value) {
    let title = format!(
        "Approval needed: {}{}{}",
        card.tool.verb(),
        card.as_written
            .as_deref()
            .map(|typed| format!(" (you wrote '{}')", untrusted(typed)))
            .unwrap_or_default(),
        if card.undo_of.is_some() {
            " (undo)"
        } else {
            ""
        }
    );
    let mut body = format!(
        "*{title}*\n{}\n*Requested by:* {}{}",
        target_line(card),
        mention(&card.requester),
        trigger_note(card)
    );
    if let Some(author) = &card.worded_by {
        body.push_str(&format!(" (as asked by {} above)", mention(author)));
    }
    if let Some(approvers) = card.approvers {
        body.push_str(&format!("\n*Who may approve:* {}", approvers.describe()));
    }
    let mut approve = button("approve", "Approve", &card.proposal_id, Some("primary"));
    if card.tool.risk() == Risk::Destructive {
        approve["style"] = json!("danger");
        approve["confirm"] = json!({
            "title": {"type": "plain_text", "text": "Are you sure?"},
            "text": {"type": "mrkdwn", "text": format!("{} {} ({}).", card.tool.verb(), untrusted(&card.target.name), untrusted(&card.target.login))},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Back"},
        });
    }
    let mut buttons = Vec::new();
    let verification = card.verification.as_ref();
    if let Some(v) = verification {
        body.push_str(&format!("\n{}", verification_line(v)));
    }
    if verification.is_none_or(|v| v.lets_approve()) {
        buttons.push(approve);
    }
    if let Some(v) = verification {
        if v.state == VerificationState::Ready {
            let who = v.person.as_deref().map_or_else(
                || card.target.name.clone(),
                |_| {
                    card.target
                        .name
                        .split(' ')
                        .next()
                        .unwrap_or("them")
                        .to_string()
                },
            );
            buttons.push(button(
                VERIFY_FIRST_ACTION,
                &format!("Verify {who} first"),
                &card.proposal_id,
                Some("primary"),
            ));
        }
        if v.may_override() {
            buttons.push(button(
                OVERRIDE_ACTION,
                "Approve without verification",
                &card.proposal_id,
                None,
            ));
        }
    }
    buttons.push(button("cancel", "Cancel", &card.proposal_id, None));
    let blocks = json!([
        section(body),
        context(format!("Expires {} · request {}", format_utc(card.expires_at), card.proposal_id)),
        {"type": "actions", "block_id": "decision", "elements": buttons},
    ]);
    let fallback = format!(
        "Approval needed: {}: {} ({})",
        card.tool.verb(),
        card.target.name,
        card.target.login
    );
    (untrusted(&fallback), blocks)
}

/// The action id of a self-service button on the Home; its value is the tool.
pub const HOME_SELF_SERVICE: &str = "home_self_service";
/// The action id of a starter question on the Home; its value is the question.
pub const HOME_ASK: &str = "home_ask";

/// Approvals (and accesses) a Home lists at most: a view holds 100 blocks.
const HOME_LIST: usize = 8;

/// A person's App Home (`views.publish`): what the engine says they may see, no more. Slack
/// allows 100 blocks; the lists are cut well before.
/// `links` are the threads of `home.recent`, in order (`None` where there is none).
pub fn home_view(home: &crate::engine::Home, links: &[Option<String>]) -> Value {
    let links = links.iter().cloned().chain(std::iter::repeat(None));
    let mut blocks = Vec::new();
    let header =
        |text: &str| json!({"type": "header", "text": {"type": "plain_text", "text": text}});
    if home.admin {
        blocks.push(header("Waiting for your approval"));
        blocks.extend(list_note(
            home.approvals.len(),
            "Nothing is waiting for you.",
            &format!(
                "{} requests wait; the oldest {HOME_LIST} are here, and `okta-agent pending` lists them all.",
                home.approvals.len()
            ),
        ));
        for card in home.approvals.iter().take(HOME_LIST) {
            let (_, card_blocks) = pending_card(card);
            for mut block in card_blocks.as_array().cloned().unwrap_or_default() {
                // Block ids must be unique in a view.
                if block["block_id"] == "decision" {
                    block["block_id"] = json!(format!("decision:{}", card.proposal_id));
                }
                blocks.push(block);
            }
            blocks.push(json!({"type": "divider"}));
        }
        blocks.push(header("Time-bound access"));
        blocks.extend(list_note(
            home.accesses.len(),
            "No time-bound access is running.",
            &format!(
                "{} accesses run; the {HOME_LIST} ending first are here.",
                home.accesses.len()
            ),
        ));
        for access in home.accesses.iter().take(HOME_LIST) {
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": format!("{} · ends {}", untrusted(&access.summary), format_utc(access.ends_at))},
                "accessory": button("end_access", "End now", &access.proposal_id, Some("danger")),
            }));
        }
        blocks.push(header("Recent actions"));
        let recent: Vec<String> = home
            .recent
            .iter()
            .zip(links)
            .map(|(r, link)| {
                format!(
                    "{} · {}{}{}",
                    format_utc(r.time),
                    escape(&r.text),
                    r.approver
                        .as_deref()
                        .map(|a| format!(", approved by {}", mention(a)))
                        .unwrap_or_default(),
                    match (link, &r.proposal_id) {
                        (Some(url), _) => format!(" · <{url}|thread>"),
                        (None, Some(id)) => format!(" · request {id}"),
                        (None, None) => String::new(),
                    }
                )
            })
            .collect();
        blocks.push(section(if recent.is_empty() {
            "Nothing yet.".into()
        } else {
            recent.join("\n")
        }));
        blocks.push(header("Health"));
        blocks.push(section(untrusted_lines(&home.health)));
        blocks.push(json!({"type": "divider"}));
    }
    blocks.push(header("Your account"));
    blocks.push(section(match &home.account {
        Some(lines) => untrusted_lines(lines),
        None => "okta-agent could not find your Okta account from your Slack email.".into(),
    }));
    if !home.self_service.is_empty() {
        blocks.push(
            json!({"type": "actions", "block_id": "self_service", "elements": home
            .self_service
            .iter()
            .map(|(tool, label)| button(HOME_SELF_SERVICE, label, tool.name(), None))
            .collect::<Vec<_>>()}),
        );
    }
    blocks.push(header("Ask IT"));
    blocks.push(context(
        "Ask me anything in a DM, or start with one of these:".into(),
    ));
    if !home.starters.is_empty() {
        blocks.push(
            json!({"type": "actions", "block_id": "ask", "elements": home
            .starters
            .iter()
            .map(|q| {
                let label: String = q.chars().take(70).collect();
                button(HOME_ASK, &label, q, None)
            })
            .collect::<Vec<_>>()}),
        );
    }
    json!({"type": "home", "blocks": blocks})
}

/// The line under a Home list's heading: when it is empty, or when it is cut to
/// [`HOME_LIST`]; none otherwise.
fn list_note(len: usize, empty: &str, cut: &str) -> Option<Value> {
    match len {
        0 => Some(context(empty.into())),
        n if n > HOME_LIST => Some(context(cut.into())),
        _ => None,
    }
}

/// Lines of text from outside (Okta, the service's state), each made inert, one per line.
fn untrusted_lines(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| untrusted(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The action id of "Verify @bob first": sends the proposal's one push.
pub const VERIFY_FIRST_ACTION: &str = "verify_first";
/// The action id of "Approve without verification": opens the reason form.
pub const OVERRIDE_ACTION: &str = "approve_unverified";

/// Where a card's Okta Verify verification stands, in one line.
pub fn verification_line(v: &Verification) -> String {
    let who = v
        .person
        .as_deref()
        .map_or_else(|| untrusted(&v.login), mention);
    let at = |t: Option<i64>| t.map(format_utc).unwrap_or_default();
    match v.state {
        VerificationState::Ready => format!(
            "🔐 *Not verified yet:* {who} must confirm with Okta Verify before anyone approves."
        ),
        VerificationState::Waiting => format!(
            "⏳ *Waiting for {who}* to answer an Okta Verify push (sent {}).",
            at(v.started_at)
        ),
        VerificationState::Success => {
            format!("✓ *Verified* by Okta Verify push at {}.", at(v.finished_at))
        }
        VerificationState::Rejected => format!(
            "✗ *Rejected:* {who} rejected the Okta Verify push at {}.",
            at(v.finished_at)
        ),
        VerificationState::Timeout => format!(
            "✗ *No answer* to the Okta Verify push (sent {}).",
            at(v.started_at)
        ),
        VerificationState::NoFactor => {
            let first = v
                .first_approver
                .as_deref()
                .map(|a| format!(" (approved so far by {})", mention(a)))
                .unwrap_or_default();
            let manager = v
                .manager
                .as_deref()
                .map(|m| format!(", or with their manager, {}", untrusted(m)))
                .unwrap_or_default();
            format!(
                "⚠️ *No Okta Verify push factor:* two IT admins must approve{first}. Check it is really {who} first: a video call{manager}."
            )
        }
        VerificationState::Overridden => format!(
            "⚠️ *Approved without verification* by {}: “{}”",
            v.overridden_by.as_deref().map(mention).unwrap_or_default(),
            untrusted(v.reason.as_deref().unwrap_or_default())
        ),
    }
}

/// The form asking why an admin approves without verification.
pub fn override_view(proposal_id: &str, summary: &str) -> Value {
    json!({
        "type": "modal",
        "callback_id": OVERRIDE_VIEW,
        "private_metadata": proposal_id,
        "title": {"type": "plain_text", "text": "Approve unverified"},
        "submit": {"type": "plain_text", "text": "Approve"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            section(format!("You are approving *{}* without the person confirming with Okta Verify. Say why; the reason is audited.", untrusted(summary))),
            {"type": "input", "block_id": "reason", "label": {"type": "plain_text", "text": "Why is it safe?"},
             "element": {"type": "plain_text_input", "action_id": "reason", "multiline": true, "min_length": 8, "max_length": 500,
                         "placeholder": {"type": "plain_text", "text": "e.g. verified on a video call with the person and their manager"}}}
        ]
    })
}

/// The `callback_id` of the reason form.
pub const OVERRIDE_VIEW: &str = "okta_override";

/// The card after a decision: the outcome, who decided and when, and an Undo button where the
/// core offers one. A card still pending (its verification moved on) is drawn as one.
pub fn decided_card(card: &Card) -> (String, Value) {
    if card.state == ProposalState::Pending {
        return pending_card(card);
    }
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
        .map(|o| untrusted(&o.summary))
        .unwrap_or_default();
    let mut blocks = vec![section(format!(
        "{mark} *{word}: {}*\n{}\n{summary}",
        card.tool.verb(),
        target_line(card)
    ))];
    let mut facts = vec![format!(
        "Requested by {}{}",
        mention(&card.requester),
        trigger_note(card)
    )];
    if let Some(author) = &card.worded_by {
        facts.push(format!("as asked by {}", mention(author)));
    }
    if let (Some(by), Some(at)) = (&card.decided_by, card.decided_at) {
        let verb = if card.state == ProposalState::Rejected {
            "Cancelled"
        } else {
            "Approved"
        };
        facts.push(format!("{verb} by {} at {}", mention(by), format_utc(at)));
    }
    if let Some(outcome) = &card.outcome {
        if !outcome.okta_request_ids.is_empty() {
            facts.push(format!(
                "Okta request ids: {}",
                untrusted(&outcome.okta_request_ids.join(", "))
            ));
        }
    }
    facts.push(format!("request {}", card.proposal_id));
    blocks.push(context(facts.join(" · ")));
    if let Some(v) = &card.verification {
        blocks.push(context(verification_line(v)));
    }
    if let Some(note) = card.access.as_ref().and_then(|a| a.note.as_ref()) {
        blocks.push(context(untrusted(note)));
    }
    if card.undo_available {
        blocks.push(json!({"type": "actions", "block_id": "undo", "elements": [button("undo", "Undo", &card.proposal_id, None)]}));
    }
    if card.access.as_ref().is_some_and(|a| a.can_end_now) {
        blocks.push(json!({"type": "actions", "block_id": "access", "elements": [button("end_access", "End access now", &card.proposal_id, None)]}));
    }
    let fallback = format!("{word}: {} for {}", card.tool.verb(), card.target.login);
    (untrusted(&fallback), Value::Array(blocks))
}

/// A link okta-agent may post: an http(s) URL from a help document's front matter (checked
/// when the document was read) or from Slack itself; anything else is shown as text.
fn link(url: &str, label: &str) -> String {
    let safe = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(['<', '>', '|', ' ', '\n']);
    if safe {
        format!("<{url}|{}>", escape(&label.replace('`', "'")))
    } else {
        untrusted(label)
    }
}

fn cite(citation: &Citation) -> String {
    match &citation.link {
        Some(url) => link(url, &citation.title),
        None => format!(
            "{} ({})",
            untrusted(&citation.title),
            untrusted(&citation.source)
        ),
    }
}

/// A help answer: the answer (escaped), where it came from as links, an optional
/// self-service button (`offer`: the tool and its label), and Solved / I still need help.
pub fn help_answer(
    answer: &HelpAnswer,
    offer: Option<(crate::tools::Tool, &str)>,
) -> (String, Value) {
    let mut blocks = vec![section(untrusted(&answer.text))];
    if answer.may_help {
        let sources: Vec<String> = answer.citations.iter().map(cite).collect();
        blocks.push(context(format!("Sources: {}", sources.join(" · "))));
    } else if let Some((first, rest)) = answer.citations.split_first() {
        let mut line = format!("Source: {}", cite(first));
        if !rest.is_empty() {
            line.push_str(&format!(
                " · See also: {}",
                rest.iter().map(cite).collect::<Vec<_>>().join(", ")
            ));
        }
        blocks.push(context(line));
    }
    let mut buttons = Vec::new();
    if let Some((tool, label)) = offer {
        buttons.push(button("self_service", label, tool.name(), Some("primary")));
    }
    // "That solved it" only under an answer; "nothing fits" offers the hand-over alone.
    if !answer.citations.is_empty() {
        buttons.push(button("help_solved", "That solved it", "solved", None));
    }
    buttons.push(button(
        "help_escalate",
        "I still need help",
        "escalate",
        None,
    ));
    blocks.push(json!({"type": "actions", "block_id": "help_feedback", "elements": buttons}));
    (untrusted(&answer.text), Value::Array(blocks))
}

/// The action id of the escalation's "Which doc answers this?" menu; its block id carries the
/// question (`help_teach:CHANNEL:TS`), each option's value a document's source.
pub const TEACH_ACTION: &str = "help_teach";

/// The action id of "Unlock me" under a lockout DM; its value is the lockout's event id.
pub const UNLOCK_ME_ACTION: &str = "unlock_me";

/// A lockout DM: what happened, "Unlock me", and what to do if it was not them.
pub fn lockout_notice(text: &str, lockout_id: &str, help: &str) -> (String, Value) {
    let fallback = format!(
        "{} If this was you, press Unlock me. If it was not, tell IT {help}: someone may be guessing your password.",
        untrusted(text)
    );
    let blocks = json!([
        section(untrusted(text)),
        {"type": "actions", "elements": [button(UNLOCK_ME_ACTION, "Unlock me", lockout_id, Some("primary"))]},
        context(format!("If this was not you, do not press it: tell IT {help}, because someone may be guessing your password.")),
    ]);
    (fallback, blocks)
}

/// Slack's limits on a select: 100 options, option text of 75 characters, values of 150.
const MAX_OPTIONS: usize = 100;
const MAX_OPTION_TEXT: usize = 75;
const MAX_OPTION_VALUE: usize = 150;

/// The triage notice of an escalated help question: who still needs help, a link to the
/// thread, and "Which doc answers this?" for an IT admin to teach the assistant. `docs` are
/// (source, title) pairs; those Slack could not carry are left out of the menu.
pub fn escalation(
    asker: &str,
    thread_link: Option<&str>,
    question: (&str, &str),
    docs: &[(String, String)],
) -> (String, Value) {
    let link = thread_link
        .filter(|url| url.starts_with("https://"))
        .map(|url| format!(" <{}|Open the thread>", escape(url)))
        .unwrap_or_default();
    let text = format!(
        "{} still needs help after the help docs' answer.{link}",
        mention(asker)
    );
    let options: Vec<Value> = docs
        .iter()
        .filter(|(source, _)| source.len() <= MAX_OPTION_VALUE)
        .take(MAX_OPTIONS)
        .map(|(source, title)| {
            let mut label: String = title.chars().take(MAX_OPTION_TEXT).collect();
            if label.chars().count() < title.chars().count() {
                label = label.chars().take(MAX_OPTION_TEXT - 1).collect::<String>() + "…";
            }
            json!({"text": {"type": "plain_text", "text": label}, "value": source})
        })
        .collect();
    let mut blocks = vec![section(text.clone())];
    if !options.is_empty() {
        blocks.push(json!({
            "type": "section",
            "block_id": format!("{TEACH_ACTION}:{}:{}", question.0, question.1),
            "text": {"type": "mrkdwn", "text": "IT admins: if a help document answers this, pick it and the assistant answers the next person who asks the same."},
            "accessory": {
                "type": "static_select",
                "action_id": TEACH_ACTION,
                "placeholder": {"type": "plain_text", "text": "Which doc answers this?"},
                "options": options,
            },
        }));
    }
    (text, Value::Array(blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approvals::TargetSnapshot;
    use crate::okta::UserStatus;
    use crate::tools::Tool;
    use proptest::prelude::*;

    fn card(name: &str, login: &str, summary: &str) -> Card {
        Card {
            proposal_id: "p-1".into(),
            tool: Tool::SuspendUser,
            target: TargetSnapshot {
                id: "00u1".into(),
                login: login.into(),
                email: None,
                name: name.into(),
                status: UserStatus::Active,
                group: None,
            },
            requester: "U0LEO".into(),
            worded_by: Some("U0EVE".into()),
            as_written: Some("<!channel> offboard".into()),
            approvers: None,
            expires_at: 0,
            state: ProposalState::Executed,
            outcome: Some(crate::approvals::Outcome {
                state: ProposalState::Executed,
                summary: summary.into(),
                status_after: None,
                okta_request_ids: vec![],
            }),
            decided_by: Some("U0GRACE".into()),
            decided_at: Some(0),
            undo_available: false,
            undo_of: None,
            dry_run: false,
            trigger: crate::approvals::Trigger::Message,
            reason: None,
            access: None,
            verification: None,
        }
    }

    /// The only markup left is a mention of one of the card's own people.
    fn only_own_mentions(text: &str) -> bool {
        let own = ["<@U0LEO>", "<@U0EVE>", "<@U0GRACE>"];
        let mut rest = text.to_string();
        for m in own {
            rest = rest.replace(m, "");
        }
        !rest.contains('<')
            && rest.split('`').step_by(2).all(|outside| {
                let lower = outside.to_ascii_lowercase();
                !lower.contains("://") && !lower.contains("www.")
            })
    }

    proptest! {
        /// Okta profile fields and outcome text cannot inject markup into a card.
        #[test]
        fn cards_carry_no_injected_markup(name in ".{0,60}", login in ".{0,40}", summary in ".{0,80}", piece in prop_oneof![
            Just("<!channel>"), Just("<@U0CEO>"), Just("<https://evil.example|x>"), Just("https://evil.example"), Just("`"), Just("www.x.io"),
        ]) {
            let c = card(&format!("{name}{piece}"), &format!("{piece}{login}"), &format!("{summary} {piece}"));
            for text in [pending_card(&c).1.to_string(), decided_card(&c).1.to_string(), pending_card(&c).0, decided_card(&c).0] {
                // JSON escapes nothing that matters here; check the raw text.
                prop_assert!(only_own_mentions(&text), "{}", text);
            }
        }
    }

    #[test]
    fn help_answers_link_only_their_sources() {
        let answer = HelpAnswer {
            text: "See https://evil.example and <!channel>".into(),
            citations: vec![
                Citation {
                    title: "Locked out › Get back in".into(),
                    link: Some("https://intranet.example.com/it/locked-out#get-back-in".into()),
                    source: "locked-out.md".into(),
                },
                Citation {
                    title: "Sign-in <problems>".into(),
                    link: Some("javascript:alert(1)".into()),
                    source: "x.md".into(),
                },
            ],
            self_service: Some(crate::tools::Tool::UnlockUser),
            sections: vec![],
            may_help: false,
        };
        let (_, blocks) = help_answer(
            &answer,
            Some((crate::tools::Tool::UnlockUser, "Unlock my account")),
        );
        let text = blocks.to_string();
        assert!(
            text.contains(
                "<https://intranet.example.com/it/locked-out#get-back-in|Locked out › Get back in>"
            ),
            "{text}"
        );
        assert!(text.contains("`https://evil.example`"), "{text}");
        assert!(!text.contains("<javascript"), "{text}");
        assert!(
            text.contains("\"action_id\":\"self_service\"")
                && text.contains("\"value\":\"unlock_user\""),
            "{text}"
        );
    }

    #[test]
    fn cards_name_whose_words_they_carry() {
        let (_, blocks) = pending_card(&card("Bob", "bob@x.com", ""));
        let text = blocks.to_string();
        assert!(
            text.contains("Requested by:* <@U0LEO> (as asked by <@U0EVE> above)"),
            "{text}"
        );
    }
}
