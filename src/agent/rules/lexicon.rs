//! The command engine's vocabulary: the words IT people use for each action, folded to one
//! canonical word each. It was built from help-desk language rather than from variations of
//! okta-agent's own examples: Okta's admin console and help center ("Reset Authenticators",
//! "Reset Multifactor", "re-enroll", "Clear User Sessions", "Unlock", "Suspend",
//! "Deactivate", "Reset Password", "Expire Password"), offboarding runbooks ("revoke
//! sessions", "sign out of all sessions", "force sign-out", "block sign in", "disable the
//! account", "leaver", "require re-register MFA", "remove from all groups"), help-desk KB
//! articles ("re-enable the account", "access back", "locked out", "reinstate") and ticket
//! templates ("reset the password … and also unlock their account", "forced password change",
//! "sent reset link", "new phone", "lost phone").

/// What a word means to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// An action word (verbs and their noun forms).
    Verb,
    /// A thing an action is about (password, MFA, sessions, apps, groups, account).
    Noun,
    /// Grammar and politeness: never a name.
    Filler,
    /// "me", "my", "I": the requester.
    SelfWord,
    /// "her", "him", "them": the person named earlier in the message.
    Pronoun,
    /// "everyone", "all", "users": words that name no one in particular.
    Nobody,
}

/// One surface form: how it is written, what it means, and its class.
pub struct Entry {
    pub surface: &'static str,
    pub canonical: &'static str,
    pub class: Class,
}

const fn verb(surface: &'static str, canonical: &'static str) -> Entry {
    Entry {
        surface,
        canonical,
        class: Class::Verb,
    }
}

const fn noun(surface: &'static str, canonical: &'static str) -> Entry {
    Entry {
        surface,
        canonical,
        class: Class::Noun,
    }
}

/// Action words. The canonical word is what the intent rules test for.
pub const VERBS: &[Entry] = &[
    // unlock
    verb("unlock", "unlock"),
    verb("unlocked", "unlock"),
    verb("unlocking", "unlock"),
    // unblock / enable: status decides (locked out → unlock, suspended → unsuspend, …)
    verb("unblock", "reenable"),
    verb("reenable", "reenable"),
    verb("enable", "reenable"),
    verb("enabled", "reenable"),
    verb("restore", "reenable"),
    verb("restored", "reenable"),
    // suspend
    verb("suspend", "suspend"),
    verb("suspended", "suspend"),
    verb("suspension", "suspend"),
    verb("disable", "suspend"),
    verb("disabled", "suspend"),
    verb("block", "suspend"),
    verb("blocked", "suspend"),
    verb("freeze", "suspend"),
    verb("frozen", "suspend"),
    verb("lock", "suspend"),
    verb("lockdown", "suspend"),
    // unsuspend
    verb("unsuspend", "unsuspend"),
    verb("unsuspended", "unsuspend"),
    verb("unfreeze", "unsuspend"),
    verb("reinstate", "unsuspend"),
    verb("reinstated", "unsuspend"),
    // deactivate
    verb("deactivate", "deactivate"),
    verb("deactivated", "deactivate"),
    verb("deactivation", "deactivate"),
    verb("offboard", "deactivate"),
    verb("offboarded", "deactivate"),
    verb("offboarding", "deactivate"),
    verb("deprovision", "deactivate"),
    verb("deprovisioned", "deactivate"),
    verb("terminate", "deactivate"),
    verb("terminated", "deactivate"),
    verb("leaver", "deactivate"),
    // reactivate
    verb("reactivate", "reactivate"),
    verb("reactivated", "reactivate"),
    verb("reactivation", "reactivate"),
    verb("activate", "reactivate"),
    verb("activation", "reactivate"),
    verb("rehire", "reactivate"),
    verb("rehired", "reactivate"),
    verb("reprovision", "reactivate"),
    // reset (password or MFA, decided by the noun)
    verb("reset", "reset"),
    verb("resets", "reset"),
    verb("resetting", "reset"),
    verb("reissue", "reset"),
    verb("forgot", "forgot"),
    verb("forgotten", "forgot"),
    verb("forget", "forgot"),
    verb("expire", "expire"),
    verb("expired", "expire"),
    verb("force", "force"),
    verb("require", "force"),
    verb("reenroll", "reenroll"),
    verb("reenrol", "reenroll"),
    verb("reregister", "reenroll"),
    verb("enroll", "reenroll"),
    verb("enrol", "reenroll"),
    // sessions
    verb("clear", "clear"),
    verb("kill", "end"),
    verb("end", "end"),
    verb("revoke", "revoke"),
    verb("signout", "signout"),
    verb("logout", "signout"),
    // groups
    verb("add", "add"),
    verb("added", "add"),
    verb("adding", "add"),
    verb("put", "add"),
    verb("include", "add"),
    verb("grant", "add"),
    verb("onboard", "add"),
    verb("remove", "remove"),
    verb("removed", "remove"),
    verb("removing", "remove"),
    verb("drop", "remove"),
    verb("kick", "remove"),
    verb("delete", "delete"),
    verb("deleted", "delete"),
    // reads
    verb("diagnose", "diagnose"),
    verb("troubleshoot", "diagnose"),
    verb("check", "check"),
    verb("find", "find"),
    verb("lookup", "find"),
    verb("search", "find"),
    verb("list", "list"),
    verb("show", "list"),
];

/// Things actions are about.
pub const NOUNS: &[Entry] = &[
    noun("password", "password"),
    noun("passwords", "password"),
    noun("passwd", "password"),
    noun("passcode", "password"),
    noun("pw", "password"),
    noun("pwd", "password"),
    noun("mfa", "mfa"),
    noun("2fa", "mfa"),
    noun("twofactor", "mfa"),
    noun("multifactor", "mfa"),
    noun("factor", "mfa"),
    noun("factors", "mfa"),
    noun("authenticator", "mfa"),
    noun("authenticators", "mfa"),
    noun("otp", "mfa"),
    noun("totp", "mfa"),
    noun("yubikey", "mfa"),
    noun("session", "sessions"),
    noun("sessions", "sessions"),
    noun("app", "apps"),
    noun("apps", "apps"),
    noun("aps", "apps"),
    noun("application", "apps"),
    noun("applications", "apps"),
    noun("tiles", "apps"),
    noun("group", "group"),
    noun("groups", "groups"),
    noun("grp", "group"),
    noun("grps", "groups"),
    noun("team", "group"),
    noun("teams", "groups"),
    noun("account", "account"),
    noun("accounts", "account"),
    noun("access", "access"),
    noun("login", "signin"),
    noun("logon", "signin"),
    noun("signin", "signin"),
    noun("phone", "phone"),
    noun("device", "phone"),
    noun("status", "status"),
    noun("member", "member"),
    noun("membership", "member"),
    noun("memberships", "member"),
];

/// Words that never name a person and carry no action.
pub const FILLER: &[&str] = &[
    "the",
    "a",
    "an",
    "for",
    "of",
    "to",
    "into",
    "in",
    "on",
    "at",
    "from",
    "with",
    "by",
    "via",
    "please",
    "pls",
    "plz",
    "pls.",
    "kindly",
    "can",
    "could",
    "would",
    "will",
    "you",
    "u",
    "hey",
    "hi",
    "hello",
    "yo",
    "need",
    "needs",
    "needed",
    "want",
    "wants",
    "is",
    "are",
    "am",
    "was",
    "were",
    "be",
    "been",
    "being",
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
    "where",
    "when",
    "cant",
    "cannot",
    "couldnt",
    "wont",
    "not",
    "no",
    "unable",
    "able",
    "get",
    "got",
    "getting",
    "out",
    "up",
    "back",
    "this",
    "that",
    "it",
    "its",
    "so",
    "just",
    "quick",
    "quickly",
    "urgent",
    "urgently",
    "asap",
    "now",
    "today",
    "again",
    "still",
    "keep",
    "keeps",
    "thanks",
    "thank",
    "thx",
    "ty",
    "cheers",
    "help",
    "there",
    "let",
    "lets",
    "know",
    "see",
    "tell",
    "give",
    "make",
    "sure",
    "should",
    "must",
    "may",
    "might",
    "shall",
    "longer",
    "anymore",
    "any",
    "more",
    "assigned",
    "belong",
    "belongs",
    "currently",
    "wrong",
    "issue",
    "issues",
    "problem",
    "problems",
    "trouble",
    "having",
    "about",
    "info",
    "details",
    "named",
    "called",
    "same",
    "if",
    "we",
    "our",
    "us",
    "set",
    "setup",
    "new",
    "lost",
    "broken",
    "working",
    "work",
    "works",
    "use",
    "using",
    "fix",
    "sort",
    "handle",
    "as",
    "per",
    "after",
    "before",
    "because",
    "since",
    "once",
    "while",
    "ticket",
    "request",
    "requests",
    "requested",
    "asked",
    "asking",
    "okay",
    "ok",
    "yes",
    "yeah",
    "alright",
    "go",
    "ahead",
    "also",
    "too",
    "right",
    "away",
    "immediately",
    "everywhere",
    "every",
    "all",
    "devices",
    "okta",
    "verify",
    "link",
    "email",
    "mail",
    "send",
    "sent",
    "change",
    "changed",
    "temp",
    "temporary",
    "like",
    "them",
    "left",
    "company",
    "leaving",
    "turn",
    "cut",
    "off",
    "shut",
    "take",
    "doesnt",
    "dont",
    "isnt",
    "arent",
    "hasnt",
    "im",
    "ive",
    "id",
    "is",
    "other",
    "another",
    "one",
    "only",
    "their",
    "his",
    "her",
    "hers",
    "theirs",
    "own",
    "locked",
    "lockout",
    "lockedout",
    "sign",
    "log",
    "signing",
    "logging",
    "logged",
    "signed",
    "look",
    "looking",
    "lift",
    "resend",
    "usr",
    "last",
    "day",
    "incident",
    "security",
    "stolen",
    "laptop",
    "some",
    "whatever",
    "until",
    "further",
    "notice",
    "temporarily",
    "again",
];

/// Words for the person asking.
pub const SELF_WORDS: &[&str] = &["me", "my", "myself", "i", "im", "mine", "ive", "id"];

/// Pronouns for a person named earlier in the same message.
pub const PRONOUNS: &[&str] = &["her", "him", "them", "their", "his", "she", "he", "they"];

/// Pronouns for one person ("it" is an account the engine resolved to its person): with two
/// people named earlier, which one is meant is asked.
pub const SINGULAR_PRONOUNS: &[&str] = &["her", "him", "his", "she", "he", "it"];

/// Words that name no one in particular; never taken as a person.
pub const NOBODY: &[&str] = &[
    "all",
    "everyone",
    "everybody",
    "anyone",
    "anybody",
    "someone",
    "somebody",
    "active",
    "inactive",
    "account",
    "accounts",
    "user",
    "users",
    "people",
    "person",
    "staff",
    "team",
    "employee",
    "employees",
    "member",
    "members",
    "folks",
    "guys",
    "admin",
    "admins",
    "contractor",
    "contractors",
    "guest",
    "guests",
    "new",
    "hire",
    "hires",
    "starter",
    "starters",
    "id",
    "the",
    "whole",
    "entire",
];

/// The class and canonical form of a known word.
pub fn lookup(word: &str) -> Option<(Class, &'static str)> {
    if let Some(e) = VERBS.iter().find(|e| e.surface == word) {
        return Some((e.class, e.canonical));
    }
    if let Some(e) = NOUNS.iter().find(|e| e.surface == word) {
        return Some((e.class, e.canonical));
    }
    if SELF_WORDS.contains(&word) {
        return Some((Class::SelfWord, "me"));
    }
    if PRONOUNS.contains(&word) {
        return Some((Class::Pronoun, "them"));
    }
    if NOBODY.contains(&word) {
        return Some((Class::Nobody, "nobody"));
    }
    if FILLER.contains(&word) {
        return Some((Class::Filler, "filler"));
    }
    None
}

/// The words a misspelling may be corrected into: distinctive ones only. Short everyday words
/// ("lock", "block", "list", "end", "look") are too close to other words — "look up" must
/// never become "lock" — so they are matched as written only.
const CORRECTABLE: &[&str] = &[
    "unlock",
    "suspend",
    "unsuspend",
    "disable",
    "freeze",
    "unfreeze",
    "reinstate",
    "deactivate",
    "offboard",
    "deprovision",
    "terminate",
    "reactivate",
    "activate",
    "reenable",
    "enable",
    "reset",
    "expire",
    "remove",
    "add",
    "diagnose",
    "troubleshoot",
    "search",
    "lookup",
    "delete",
    "clear",
    "revoke",
    "password",
    "passwords",
    "mfa",
    "factors",
    "authenticator",
    "authenticators",
    "multifactor",
    "twofactor",
    "session",
    "sessions",
    "apps",
    "application",
    "applications",
    "groups",
    "membership",
    "memberships",
    "activation",
    "suspension",
    "deactivation",
    "reactivation",
    "reenroll",
];

/// The verb or noun a misspelt word most likely is: the unique closest correctable word within
/// the allowed edits (one up to five letters, two above). Words under four letters are
/// corrected only where a verb stands (`verb_position`), and only into verbs. Ties between
/// different meanings are no match: the engine does not pick between readings.
pub fn correct(word: &str, verb_position: bool) -> Option<&'static Entry> {
    let short = word.chars().count() < 4;
    if (short && !verb_position)
        || word.chars().count() < 2
        || !word.chars().all(char::is_alphabetic)
    {
        return None;
    }
    let limit = crate::fuzzy::allowed_edits(word);
    let letters = word.chars().count();
    let mut best: Option<(usize, &'static Entry)> = None;
    let mut tied = false;
    for entry in VERBS.iter().chain(NOUNS) {
        // Cheap tests first: most words are too long or too short to be within reach (the
        // vocabulary is ASCII, so its length in bytes is its length in letters).
        if entry.surface.len().abs_diff(letters) > limit
            || (short && entry.class != Class::Verb)
            || !CORRECTABLE.contains(&entry.surface)
        {
            continue;
        }
        let Some(d) = crate::fuzzy::distance(word, entry.surface, limit) else {
            continue;
        };
        match best {
            None => best = Some((d, entry)),
            Some((bd, be)) if d < bd => {
                best = Some((d, entry));
                tied = false;
                let _ = be;
            }
            Some((bd, be)) if d == bd && be.canonical != entry.canonical => tied = true,
            Some(_) => {}
        }
    }
    match best {
        Some((_, entry)) if !tied => Some(entry),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_correct_to_one_meaning_or_none() {
        let canonical = |w: &str| correct(w, false).map(|e| e.canonical);
        assert_eq!(canonical("unlokc"), Some("unlock"));
        assert_eq!(canonical("suspedn"), Some("suspend"));
        assert_eq!(canonical("resset"), Some("reset"));
        assert_eq!(canonical("deactivte"), Some("deactivate"));
        assert_eq!(canonical("pasword"), Some("password"));
        assert_eq!(canonical("sesions"), Some("sessions"));
        // Names are not words of the vocabulary.
        for name in [
            "kate", "grace", "erin", "frank", "martin", "reed", "chen", "dana",
        ] {
            assert_eq!(canonical(name), None, "{name}");
        }
        // Short words are corrected only where a verb stands, and only into verbs.
        assert_eq!(canonical("ben"), None);
        assert_eq!(correct("ad", true).map(|e| e.canonical), Some("add"));
        // Everyday words are known as they are, so they are never "corrected" into actions
        // ("look up" must not become "lock").
        for word in ["look", "lift", "list", "lock", "resend", "kill"] {
            assert!(lookup(word).is_some(), "{word}");
        }
        assert!(lookup("look").is_some_and(|(class, _)| class == Class::Filler));
    }
}
