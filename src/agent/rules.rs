//! The deterministic command engine used when no model is configured (and as the fallback
//! when the model is unreachable). It recognises the common IT phrasings and extracts the target
//! from a Slack mention, an email, an Okta id or a login; it never guesses a target. Pure text
//! in, an intent out: no I/O.

use crate::identity::{is_okta_user_id, parse_mention};
use crate::tools::Tool;

/// Who a request is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// "me", "my", "I'm": the person asking.
    Requester,
    /// A mention, email, Okta id or login/name as written.
    Named(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Action {
        tool: Tool,
        user: Option<Target>,
        group: Option<String>,
    },
    /// Only a person, e.g. the answer to "which Maria?".
    TargetOnly(Target),
    /// "do that", "go ahead": a clear reference to the latest request in the thread.
    Refer,
    Help,
    Unknown,
}

/// Short messages that clearly point at an earlier request in the thread.
const REFERENCES: &[&str] = &[
    "do that",
    "do it",
    "do this",
    "go ahead",
    "please do",
    "yes please",
    "handle this",
    "handle that",
    "handle it",
    "take care of it",
    "take care of this",
    "take care of that",
    "do as asked",
    "as asked above",
    "same as above",
    "do the above",
    "what they asked",
    "what she asked",
    "what he asked",
];

/// Words that never name a person.
const FILLER: &[&str] = &[
    "the",
    "a",
    "an",
    "for",
    "of",
    "to",
    "please",
    "pls",
    "plz",
    "can",
    "could",
    "would",
    "will",
    "you",
    "u",
    "hey",
    "hi",
    "hello",
    "kindly",
    "need",
    "needs",
    "want",
    "wants",
    "is",
    "are",
    "am",
    "was",
    "does",
    "do",
    "did",
    "has",
    "have",
    "had",
    "why",
    "what",
    "which",
    "who",
    "whats",
    "how",
    "cant",
    "not",
    "unable",
    "able",
    "be",
    "get",
    "got",
    "into",
    "in",
    "out",
    "on",
    "at",
    "from",
    "with",
    "all",
    "their",
    "his",
    "her",
    "them",
    "him",
    "he",
    "she",
    "they",
    "it",
    "this",
    "that",
    "account",
    "accounts",
    "user",
    "users",
    "login",
    "log",
    "logged",
    "sign",
    "signed",
    "signin",
    "logging",
    "signing",
    "locked",
    "lock",
    "trouble",
    "having",
    "help",
    "asap",
    "now",
    "again",
    "today",
    "access",
    "member",
    "members",
    "group",
    "groups",
    "app",
    "apps",
    "applications",
    "application",
    "list",
    "show",
    "tell",
    "give",
    "everywhere",
    "okta",
    "verify",
    "new",
    "phone",
    "just",
    "quick",
    "so",
    "and",
    "or",
    "also",
    "thanks",
    "thank",
    "there",
    "still",
    "keep",
    "keeps",
    "been",
    "being",
    "let",
    "lets",
    "know",
    "see",
    "check",
    "status",
    "quickly",
    "urgent",
    "anymore",
    "any",
    "more",
    "assigned",
    "belong",
    "belongs",
    "currently",
    "diagnose",
    "wrong",
    "issue",
    "issues",
    "problem",
    "problems",
    "up",
    "look",
    "lookup",
    "find",
    "search",
    "info",
    "details",
    "about",
    "someone",
    "somebody",
    "named",
    "called",
    "sessions",
    "session",
    "mfa",
    "2fa",
    "factor",
    "factors",
    "authenticator",
    "otp",
    "password",
    "passwords",
    "pw",
    "pwd",
    "reset",
    "forgot",
    "forgotten",
    "change",
    "send",
    "expire",
    "force",
    "clear",
    "end",
    "kill",
    "revoke",
    "terminate",
    "signout",
    "logout",
    "unlock",
    "suspend",
    "unsuspend",
    "reactivate",
    "activate",
    "deactivate",
    "offboard",
    "disable",
    "freeze",
    "restore",
    "add",
    "put",
    "remove",
    "kick",
    "drop",
    "take",
    "same",
    "via",
    "by",
    "email",
    "link",
    "two",
    "enroll",
    "enrol",
    "enrolment",
    "re",
    "where",
    "when",
    "if",
    "we",
    "our",
    "us",
    "should",
    "must",
    "may",
    "might",
    "set",
    "setup",
    "lift",
    "suspension",
    "immediately",
    "use",
    "work",
    "working",
    "works",
    "fix",
    "make",
    "back",
    "unblock",
];

/// Words that mean "the person asking".
const SELF_WORDS: &[&str] = &["me", "my", "myself", "i", "im", "mine"];

/// Recognises one request.
pub fn parse(text: &str) -> Parsed {
    let explicit = explicit_target(text);
    // Slack markup (<@U…>, <!channel>, <http://…|…>) never carries words; mentions were taken above.
    let norm = normalize(&strip_markup(text));
    let words: Vec<&str> = norm.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    let has_any = |ws: &[&str]| ws.iter().any(|w| has(w));
    let phrase = |p: &str| format!(" {norm} ").contains(&format!(" {p} "));
    let phrase_any = |ps: &[&str]| ps.iter().any(|p| phrase(p));

    if words.is_empty() {
        return Parsed::Unknown;
    }
    if matches!(
        norm.as_str(),
        "help" | "what can you do" | "commands" | "what do you do" | "how do i use this"
    ) {
        return Parsed::Help;
    }

    // "How do I …?" is a question for the help docs, not a command.
    if matches!(words.first(), Some(&"how")) && explicit.is_none() {
        return Parsed::Unknown;
    }
    let question = matches!(
        words.first(),
        Some(&("is" | "are" | "am" | "why" | "whats" | "does" | "has"))
    );
    let add = has_any(&["add", "put"]) || (has("give") && has("access"));
    let remove = has_any(&["remove", "kick", "drop"]) || phrase("take") && phrase("out of");
    let tool = if add && has_any(&["to", "in", "into"]) {
        Some(Tool::AddUserToGroup)
    } else if remove && (has("from") || phrase("out of")) {
        Some(Tool::RemoveUserFromGroup)
    } else if has_any(&["app", "apps", "applications", "application"]) {
        Some(Tool::ListUserApps)
    } else if phrase_any(&[
        "find group",
        "find the group",
        "look up group",
        "search group",
        "group named",
        "group called",
        "which group is",
        "find a group",
    ]) {
        Some(Tool::FindGroup)
    } else if has("groups") || phrase_any(&["member of", "belong to", "belongs to"]) {
        Some(Tool::ListUserGroups)
    } else if has_any(&["mfa", "2fa", "factor", "factors", "authenticator", "otp"])
        || phrase_any(&["okta verify", "two factor", "new phone"])
    {
        Some(Tool::ResetFactors)
    } else if (has("expire") && has_any(&["password", "passwords", "pw", "pwd"]))
        || phrase_any(&[
            "force password change",
            "force a password change",
            "must change password",
            "must change their password",
        ])
    {
        Some(Tool::ExpirePassword)
    } else if has_any(&["password", "passwords", "pw", "pwd"])
        && has_any(&["reset", "forgot", "forgotten", "new", "send", "change"])
    {
        Some(Tool::ResetPassword)
    } else if has_any(&["session", "sessions", "signout", "logout"])
        || (has_any(&["sign", "log"]) && has("out") && !phrase("locked out"))
        || phrase_any(&[
            "sign out",
            "log out",
            "sign them out",
            "log them out",
            "sign him out",
            "sign her out",
        ])
    {
        Some(Tool::ClearSessions)
    } else if has_any(&["unsuspend", "restore"]) || phrase("lift suspension") {
        Some(Tool::UnsuspendUser)
    } else if has_any(&["suspend", "freeze", "disable", "block"]) {
        Some(Tool::SuspendUser)
    } else if has_any(&["reactivate", "activate"]) {
        Some(Tool::ReactivateUser)
    } else if has_any(&["deactivate", "offboard"]) {
        Some(Tool::DeactivateUser)
    } else if has("unlock") {
        Some(Tool::UnlockUser)
    } else if phrase("locked out") && !question && explicit.is_none() && mentions_self(&words) {
        // "I'm locked out" is a request to unlock; "is @bob locked out?" is a question.
        Some(Tool::UnlockUser)
    } else if phrase_any(&[
        "locked out",
        "cant log",
        "cant sign",
        "cant login",
        "unable to log",
        "unable to sign",
        "not able to log",
        "cant get in",
        "trouble logging",
        "trouble signing",
    ]) || has_any(&["diagnose", "locked", "status"])
        || (has_any(&["cant", "unable"]) && has_any(&["log", "login", "sign", "signin", "access"]))
        || (has("why") && has_any(&["log", "login", "sign", "signin", "access"]))
        || phrase_any(&["whats wrong", "what is wrong"])
    {
        Some(Tool::DiagnoseUser)
    } else if phrase_any(&[
        "who is",
        "look up",
        "find user",
        "search for",
        "find",
        "lookup",
    ]) {
        Some(Tool::FindUser)
    } else {
        None
    };

    if tool.is_none()
        && explicit.is_none()
        && words.len() <= 6
        && !question
        && phrase_any(REFERENCES)
    {
        return Parsed::Refer;
    }
    let group = match tool {
        Some(Tool::AddUserToGroup) => group_after(text, &[" into ", " to ", " in "]),
        Some(Tool::RemoveUserFromGroup) => group_after(text, &[" out of ", " from "]),
        Some(Tool::FindGroup) => group_after(text, &[" named ", " called ", " group ", " is "]),
        _ => None,
    };
    let stop_at = match tool {
        Some(Tool::AddUserToGroup) => &["to", "into", "in"][..],
        Some(Tool::RemoveUserFromGroup) => &["from", "of"][..],
        Some(Tool::FindGroup) => &[][..],
        _ => &[][..],
    };
    let user = explicit
        .map(Target::Named)
        .or_else(|| named_word(&words, stop_at).map(Target::Named))
        .or_else(|| mentions_self(&words).then_some(Target::Requester));

    match tool {
        Some(Tool::FindGroup) => Parsed::Action {
            tool: Tool::FindGroup,
            user: None,
            group,
        },
        Some(tool) => Parsed::Action { tool, user, group },
        None => match user {
            Some(Target::Named(name)) if words.len() <= 3 => {
                Parsed::TargetOnly(Target::Named(name))
            }
            _ => Parsed::Unknown,
        },
    }
}

/// The first Slack mention, email or Okta id in the text, as written.
fn explicit_target(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| {
                matches!(
                    c,
                    ',' | '?' | '!' | ';' | ':' | '(' | ')' | '"' | '\'' | '.'
                )
            })
        })
        .find_map(|w| {
            if let Some(start) = w.find("<@") {
                let rest = &w[start..];
                let end = rest.find('>')?;
                let mention = &rest[..=end];
                return parse_mention(mention).map(|_| mention.to_string());
            }
            let w = w.trim_end_matches("'s");
            if is_email(w) || is_okta_user_id(w) {
                return Some(w.to_string());
            }
            None
        })
}

/// Replaces every `<…>` span with a space.
fn strip_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn is_email(word: &str) -> bool {
    let mut parts = word.splitn(2, '@');
    let (Some(local), Some(domain)) = (parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
}

/// Lower-cases, folds apostrophes and contractions, and turns punctuation into spaces (keeping
/// the characters logins use).
fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase().replace(['’', '‘'], "'");
    let lowered = lowered
        .replace("can't", "cant")
        .replace("cannot", "cant")
        .replace("can not", "cant")
        .replace("won't", "wont")
        .replace("what's", "whats")
        .replace("i'm", "im")
        .replace("un-suspend", "unsuspend")
        .replace("re-activate", "reactivate")
        .replace("log-in", "login")
        .replace("sign-in", "signin")
        .replace("'s ", " ");
    let cleaned: String = lowered
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '<' | '>' | '|') {
                c
            } else {
                ' '
            }
        })
        .collect();
    cleaned
        .split_whitespace()
        .map(|w| w.trim_matches(|c| matches!(c, '.' | '-' | '_')))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn mentions_self(words: &[&str]) -> bool {
    words.iter().any(|w| SELF_WORDS.contains(w))
}

/// The first word that could be a login or name, before any group delimiter.
fn named_word(words: &[&str], stop_at: &[&str]) -> Option<String> {
    for word in words {
        if stop_at.contains(word) {
            return None;
        }
        let word = word.trim_start_matches('@').trim_end_matches("'s");
        if word.is_empty()
            || FILLER.contains(&word)
            || SELF_WORDS.contains(&word)
            || word.starts_with('<')
            || word.chars().all(|c| c.is_ascii_digit())
        {
            continue;
        }
        return Some(word.to_string());
    }
    None
}

/// The group named after the last delimiter, without "the", "group" and pleasantries.
fn group_after(text: &str, delimiters: &[&str]) -> Option<String> {
    // ASCII lower-casing keeps every byte offset, so positions found in `lower` are valid in
    // `text`; full Unicode lower-casing does not ('İ' becomes three bytes).
    let lower = text.to_ascii_lowercase();
    let (at, delimiter) = delimiters
        .iter()
        .filter_map(|d| lower.rfind(d).map(|i| (i, *d)))
        .max_by_key(|(i, _)| *i)?;
    let tail = &text[at + delimiter.len()..];
    let mut words: Vec<&str> = tail
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, ',' | '?' | '!' | '.' | ';' | ':' | '"' | '\''))
        })
        .filter(|w| !w.is_empty())
        .collect();
    const LEADING: &[&str] = &["the", "our", "a", "okta"];
    const TRAILING: &[&str] = &[
        "group", "groups", "please", "pls", "thanks", "asap", "now", "today", "team", "in", "okta",
    ];
    while words
        .first()
        .is_some_and(|w| LEADING.contains(&w.to_lowercase().as_str()))
    {
        words.remove(0);
    }
    while words
        .last()
        .is_some_and(|w| TRAILING.contains(&w.to_lowercase().as_str()))
    {
        words.pop();
    }
    if words.iter().any(|w| w.starts_with("<@") || w.contains('@')) || words.is_empty() {
        return None;
    }
    Some(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_and_questions() {
        assert_eq!(
            parse("I'm locked out"),
            Parsed::Action {
                tool: Tool::UnlockUser,
                user: Some(Target::Requester),
                group: None
            }
        );
        assert_eq!(
            parse("is <@U0BOB> locked out?"),
            Parsed::Action {
                tool: Tool::DiagnoseUser,
                user: Some(Target::Named("<@U0BOB>".into())),
                group: None
            }
        );
        assert_eq!(
            parse("maria.rossini@example.com"),
            Parsed::TargetOnly(Target::Named("maria.rossini@example.com".into()))
        );
        assert_eq!(
            parse("what's the wifi password policy for guests in the office building"),
            Parsed::Unknown
        );
        assert_eq!(parse("help"), Parsed::Help);
    }

    /// Byte offsets from a lower-cased copy must never index the original text.
    #[test]
    fn letters_that_change_length_when_lower_cased_do_not_crash() {
        for text in [
            "add İİİİİİİİ to x",
            "remove ẞẞẞ from İİ",
            "add Ⱥ to Ȿ group",
            "add x to İstanbul",
        ] {
            let _ = parse(text);
        }
        assert_eq!(
            parse("add <@U0ANA> to İstanbul Office"),
            Parsed::Action {
                tool: Tool::AddUserToGroup,
                user: Some(Target::Named("<@U0ANA>".into())),
                group: Some("İstanbul Office".into()),
            }
        );
    }
}
