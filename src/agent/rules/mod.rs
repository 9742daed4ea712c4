//! The deterministic command engine, used when no model is configured (and as the fallback
//! when the model is unreachable). It understands what IT people type in a hurry: typos
//! ("unlokc"), paraphrases and passive forms ("bob needs to be suspended", "sign her out
//! everywhere", "X no longer needs Zoom"), several targets or actions in one message ("suspend
//! @a and @b", "unlock @a and reset her MFA"), quoted and short group names. It never guesses a
//! target: mentions, emails, Okta ids and names are taken as written, words that name no one
//! ("all", "everyone") are never a person, and a reading it is unsure of becomes a question.
//! Pure text in, intents out: no I/O.
//!
//! * [`tokens`]: mentions, emails, ids, quoted names, words, separators.
//! * [`lexicon`]: the vocabulary, folded to canonical words.
//! * [`duration`]: "for 8 hours" (time-bound access).
//! * `crate::fuzzy` (shared with help-doc retrieval): spelling distance.

pub mod duration;
pub mod lexicon;
pub mod tokens;

use crate::tools::{Risk, SubjectKind, Tool};
use lexicon::Class;
use tokens::{Kind, Token};

/// Who a request is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// "me", "my", "I'm": the person asking.
    Requester,
    /// A mention, email, Okta id, or a name as written.
    Named(String),
}

/// What a clause asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Tool(Tool),
    /// "re-enable", "restore", "unblock": the account's status decides which action.
    Reenable,
    /// "delete": okta-agent does not delete accounts; it asks whether deactivate is meant.
    Delete,
    /// "reset bob" with neither password nor MFA: it asks which.
    ResetWhich,
}

/// A group as the message names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupName {
    pub name: String,
    /// Written as a plural ("the engineering groups"): several groups may be meant.
    pub plural: bool,
}

/// One action on one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub intent: Intent,
    pub user: Option<Target>,
    pub group: Option<GroupName>,
    /// The word as typed when it was a misspelling, or a paraphrase of a destructive action
    /// ("offboard" for deactivate): the card shows it.
    pub as_written: Option<String>,
    /// "for 8 hours": time-bound access, in seconds.
    pub access_seconds: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// One or more actions, each on one target.
    Actions(Vec<Action>),
    /// Only a person, e.g. the answer to "which Maria?".
    TargetOnly(Target),
    /// "do that", "go ahead": a clear reference to the latest request in the thread.
    Refer,
    /// "yes": the answer to okta-agent's "Did you mean …?".
    Confirm,
    /// "no" to that question.
    Deny,
    /// A how-to question for the help documents.
    HelpQuestion,
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
    "action that",
    "action this",
];

const CONFIRMATIONS: &[&str] = &[
    "yes",
    "y",
    "yep",
    "yeah",
    "yup",
    "correct",
    "yes please",
    "yes correct",
    "thats right",
    "that is right",
    "exactly",
    "sure",
    "confirm",
    "confirmed",
    "yes that one",
    "that one",
];

const DENIALS: &[&str] = &[
    "no",
    "n",
    "nope",
    "wrong",
    "not that one",
    "no thanks",
    "cancel",
];

const HELP: &[&str] = &[
    "help",
    "what can you do",
    "commands",
    "what do you do",
    "how do i use this",
    "how do i use you",
];

/// The most actions one message may carry; more is asked to be split.
pub const MAX_ACTIONS: usize = 5;

/// A word after the classifier: its class and canonical form, or a possible name.
#[derive(Clone, Debug)]
struct Word {
    token: Token,
    class: Option<Class>,
    canonical: &'static str,
    /// Fixed from a misspelling.
    corrected: bool,
}

impl Word {
    fn canon(&self) -> &str {
        if self.class.is_some() && matches!(self.class, Some(Class::Verb | Class::Noun)) {
            self.canonical
        } else {
            &self.token.norm
        }
    }

    fn is_name(&self) -> bool {
        self.token.kind == Kind::Word
            && self.class.is_none()
            && !self.token.norm.chars().all(|c| c.is_ascii_digit())
            && self.token.norm.chars().any(char::is_alphanumeric)
    }
}

/// Politeness that may stand before the verb ("please unlock", "can you unlock").
const BEFORE_VERB: &[&str] = &["please", "pls", "plz", "you", "u", "kindly", "hey", "hi"];

fn classify(token: Token, verb_position: bool) -> Word {
    if token.kind != Kind::Word {
        return Word {
            token,
            class: None,
            canonical: "",
            corrected: false,
        };
    }
    if let Some((class, canonical)) = lexicon::lookup(&token.norm) {
        return Word {
            token,
            class: Some(class),
            canonical,
            corrected: false,
        };
    }
    if let Some(entry) = lexicon::correct(&token.norm, verb_position) {
        return Word {
            token,
            class: Some(entry.class),
            canonical: entry.canonical,
            corrected: true,
        };
    }
    Word {
        token,
        class: None,
        canonical: "",
        corrected: false,
    }
}

/// Recognises a message.
pub fn parse(text: &str) -> Parsed {
    let (text, access_seconds) = duration::take_duration(text);
    match parse_without_duration(&text) {
        Parsed::Actions(mut actions) if access_seconds.is_some() => {
            for action in &mut actions {
                action.access_seconds = access_seconds;
            }
            Parsed::Actions(actions)
        }
        parsed => parsed,
    }
}

fn parse_without_duration(text: &str) -> Parsed {
    let tokens = tokens::tokenize(text);
    if tokens.is_empty() {
        return Parsed::Unknown;
    }
    let plain: Vec<String> = tokens
        .iter()
        .filter(|t| !(t.kind == Kind::Separator && tokens::CLAUSE_MARKS.contains(&t.raw.as_str())))
        .map(|t| t.norm.clone())
        .collect();
    let joined = plain.join(" ");
    if HELP.contains(&joined.as_str()) {
        return Parsed::Help;
    }
    if CONFIRMATIONS.contains(&joined.as_str()) {
        return Parsed::Confirm;
    }
    if DENIALS.contains(&joined.as_str()) {
        return Parsed::Deny;
    }
    // "How do I …?" and "Where do I …?" are for the help documents, unless they name someone.
    if matches!(plain.first().map(String::as_str), Some("how" | "where"))
        && !tokens.iter().any(Token::is_explicit_target)
    {
        return Parsed::HelpQuestion;
    }
    let mut words: Vec<Word> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let verb_position = words.last().is_none_or(|w| {
            w.token.kind == Kind::Separator || BEFORE_VERB.contains(&w.token.norm.as_str())
        });
        words.push(classify(token, verb_position));
    }
    let clauses = clauses(&words);
    // "it" is resolved first: "reset it" after "her password expired" is a password reset.
    let mut memory = Memory::default();
    let clauses: Vec<(Vec<Word>, Option<String>)> = clauses
        .into_iter()
        .map(|clause| {
            let clause = memory.resolve(clause);
            memory.note(&clause);
            let earlier_group = memory.one_group();
            (clause, earlier_group)
        })
        .collect();
    let message_groups = clauses
        .iter()
        .any(|(c, _)| ClauseView::new(c, false).group_context());
    // A clause that explains ("she was suspended by mistake") is not a request when another
    // clause asks for something ("unsuspend @erin"); alone, it is what the person wants done
    // ("@carol forgot her password").
    let read: Vec<(Option<Reading>, bool)> = clauses
        .iter()
        .map(|(c, _)| (ClauseView::new(c, message_groups).intent(), explains(c)))
        .collect();
    let asks = read
        .iter()
        .any(|(intent, explains)| intent.is_some() && !explains);
    let mut actions: Vec<Pending> = Vec::new();
    // People named in clauses without an action ("X and Y can't log in", "HR deactivated
    // X by mistake"): they belong to the next action that names no one else.
    let mut orphans: Vec<Target> = Vec::new();
    // The orphans were only listed ("@bob and @kate can't log in"): they join the next action
    // whoever else it names.
    let mut listed = true;
    // Everyone named so far: "his" with two of them is a question, not a guess.
    let mut people: Vec<Target> = Vec::new();
    for ((clause, earlier_group), (intent, told)) in clauses.iter().zip(read) {
        let view = ClauseView::new(clause, message_groups);
        let explanation = told && asks;
        // Who "her" or "them" would be: the people waiting for an action, else the last one's.
        let recent: &[Target] = match actions.last() {
            Some(last) if orphans.is_empty() => &last.targets,
            _ => &orphans,
        };
        let ambiguous = view.ambiguous_pronoun(&people);
        let intent = match intent {
            _ if explanation => None,
            // Alone, "my account got suspended" says what was done, not what to do.
            Some((intent, _)) if told && tells_what_was_done(clause, intent) => None,
            intent => intent,
        };
        match intent {
            Some((intent, as_written)) => {
                let group = view.group(intent).or_else(|| {
                    // "add her back": the group the message named earlier, when it named one.
                    let membership = matches!(intent, Intent::Tool(t) if t.subject_kind() == SubjectKind::Membership);
                    membership
                        .then(|| earlier_group.clone())
                        .flatten()
                        .map(|name| GroupName { name, plural: false })
                });
                let mut targets = if ambiguous {
                    Vec::new()
                } else {
                    view.targets(intent, recent)
                };
                if !ambiguous && (targets.is_empty() || listed) {
                    let mut all = std::mem::take(&mut orphans);
                    all.extend(targets);
                    targets = all;
                }
                orphans.clear();
                listed = true;
                note_people(&mut people, &targets);
                if targets.is_empty() && !view.names_anyone() {
                    if let Some(last) = actions.last() {
                        // "X lost her phone, reset mfa": the same action again, or a second
                        // action on the same people ("suspend @x and clear sessions").
                        if last.intent == intent {
                            continue;
                        }
                        if last.explicit {
                            targets = last.targets.clone();
                        }
                    }
                }
                let explicit = view.has_explicit_target()
                    || (view.names_anyone() && targets.iter().all(|t| matches!(t, Target::Named(n) if n.starts_with("<@") || n.contains('@'))));
                let named = !targets.is_empty() || view.names_anyone();
                actions.push(Pending {
                    intent,
                    targets,
                    group,
                    as_written,
                    explicit,
                    named,
                });
            }
            None => {
                let found = if ambiguous {
                    Vec::new()
                } else {
                    view.targets(Intent::Tool(Tool::FindUser), recent)
                };
                let last = actions.last_mut().filter(|_| !explanation);
                let Some(last) = last else {
                    // Before any action, or explaining one: the people wait for the next.
                    listed &= clause.iter().all(|w| w.token.is_explicit_target());
                    note_people(&mut people, &found);
                    for person in found {
                        if !orphans.contains(&person) {
                            orphans.push(person);
                        }
                    }
                    continue;
                };
                // After people named exactly, only people named exactly join ("…, security
                // incident" is not a person).
                let targets: Vec<Target> = if last.explicit {
                    view.explicit_targets()
                } else {
                    view.targets(Intent::Tool(Tool::FindUser), &[])
                };
                if targets.is_empty() {
                    continue;
                }
                note_people(&mut people, &targets);
                let group = view.group(last.intent);
                match (&last.group, group) {
                    (_, None) => last.targets.extend(targets),
                    (None, Some(group)) => {
                        last.targets.extend(targets);
                        last.group = Some(group);
                    }
                    (Some(_), Some(group)) => {
                        let next = Pending {
                            intent: last.intent,
                            targets,
                            group: Some(group),
                            as_written: last.as_written.clone(),
                            explicit: last.explicit,
                            named: true,
                        };
                        actions.push(next);
                    }
                }
            }
        }
    }
    if actions.is_empty() {
        return without_action(&words, &clauses, &joined, &plain, text);
    }
    // "reset mfa and clear sessions for @ana": an action that named no one takes the people
    // of the action right after it.
    for i in (0..actions.len().saturating_sub(1)).rev() {
        if !actions[i].named && actions[i + 1].named && actions[i + 1].explicit {
            actions[i].targets = actions[i + 1].targets.clone();
        }
    }
    let mut out = Vec::new();
    for pending in actions {
        if pending.targets.is_empty() {
            out.push(Action {
                intent: pending.intent,
                user: None,
                group: pending.group,
                as_written: pending.as_written,
                access_seconds: None,
            });
            continue;
        }
        for target in pending.targets {
            if out.iter().any(|a: &Action| {
                a.intent == pending.intent
                    && a.user.as_ref() == Some(&target)
                    && a.group == pending.group
            }) {
                continue;
            }
            out.push(Action {
                intent: pending.intent,
                user: Some(target),
                group: pending.group.clone(),
                as_written: pending.as_written.clone(),
                access_seconds: None,
            });
        }
    }
    Parsed::Actions(out)
}

/// What a message without an action is: a reference ("do that"), a person (the answer to
/// "which one?"), a question for the help docs, or nothing.
fn without_action(
    words: &[Word],
    clauses: &[(Vec<Word>, Option<String>)],
    joined: &str,
    plain: &[String],
    text: &str,
) -> Parsed {
    let explicit = words.iter().any(|w| w.token.is_explicit_target());
    if words.len() <= 6
        && !explicit
        && REFERENCES
            .iter()
            .any(|r| format!(" {joined} ").contains(&format!(" {r} ")))
    {
        return Parsed::Refer;
    }
    let asks = matches!(
        plain.first().map(String::as_str),
        Some(
            "how"
                | "where"
                | "what"
                | "whats"
                | "when"
                | "who"
                | "why"
                | "can"
                | "is"
                | "are"
                | "do"
                | "does"
                | "which"
        )
    );
    if asks && !explicit {
        return Parsed::HelpQuestion;
    }
    // A person alone: named exactly, or a bare name of one to three words.
    let all: Vec<Target> = clauses
        .iter()
        .flat_map(|(c, _)| ClauseView::new(c, false).targets(Intent::Tool(Tool::FindUser), &[]))
        .collect();
    let bare_name = words.len() <= 3 && words.iter().all(Word::is_name);
    if let [one] = all.as_slice() {
        if explicit || bare_name {
            return Parsed::TargetOnly(one.clone());
        }
    }
    if asks || text.trim_end().ends_with('?') {
        return Parsed::HelpQuestion;
    }
    Parsed::Unknown
}

/// What a clause asks for, and, for a misspelt or paraphrased destructive verb, the word as
/// typed.
type Reading = (Intent, Option<String>);

/// An action being assembled from clauses.
#[derive(Clone, Debug)]
struct Pending {
    intent: Intent,
    targets: Vec<Target>,
    group: Option<GroupName>,
    as_written: Option<String>,
    /// Its people were named exactly (mentions, emails, ids).
    explicit: bool,
    /// Its own clause named anyone (a target, "me", a pronoun or a name).
    named: bool,
}

/// Adds the people of one clause to everyone the message has named (the requester aside).
fn note_people(people: &mut Vec<Target>, found: &[Target]) {
    for person in found {
        if *person != Target::Requester && !people.contains(person) {
            people.push(person.clone());
        }
    }
}

/// Words that open a clause explaining a request ("…, because she was locked out").
const SUBORDINATORS: &[&str] = &[
    "because", "since", "cause", "cuz", "coz", "bc", "after", "when", "while", "though",
    "although", "whereas",
];

/// Auxiliaries of the past and the passive ("was reset", "got locked", "had … suspended").
const AUXILIARIES: &[&str] = &[
    "was", "were", "got", "gotten", "been", "had", "has", "have", "is", "are",
];

/// Past forms the lexicon files as filler, or writes like the present ("was reset").
const PAST_FORMS: &[&str] = &[
    "reset",
    "locked",
    "lost",
    "stolen",
    "forgot",
    "forgotten",
    "frozen",
    "left",
    "broken",
    "wiped",
    "blocked",
];

/// Words that make a clause a request, whatever its tense ("he needs to be reactivated").
const ASKING: &[&str] = &[
    "please", "pls", "plz", "kindly", "can", "could", "would", "need", "needs", "needed", "want",
    "wants", "should", "must",
];

/// Whether a clause says how things came to be rather than what to do: it opens with
/// "because"/"since"/"after"…, or tells of an action in the past or the passive ("she was
/// suspended by mistake", "HR deactivated him", "her password expired").
fn explains(words: &[Word]) -> bool {
    let Some(first) = words.first() else {
        return false;
    };
    if first.token.kind == Kind::Word && SUBORDINATORS.contains(&first.token.norm.as_str()) {
        return true;
    }
    if words
        .iter()
        .any(|w| ASKING.contains(&w.token.norm.as_str()))
    {
        return false;
    }
    fn norm(w: &Word) -> &str {
        w.token.norm.as_str()
    }
    (1..words.len()).any(|i| {
        let word = &words[i];
        let past_verb = word.class == Some(Class::Verb)
            && (norm(word).ends_with("ed")
                || matches!(norm(word), "forgot" | "forgotten" | "frozen"));
        let after_auxiliary = words[i.saturating_sub(3)..i]
            .iter()
            .any(|w| AUXILIARIES.contains(&norm(w)));
        let previous = &words[i - 1];
        let after_subject = previous.token.is_explicit_target()
            || previous.is_name()
            || matches!(
                previous.class,
                Some(Class::Pronoun | Class::SelfWord | Class::Noun)
            );
        (after_auxiliary && (past_verb || PAST_FORMS.contains(&norm(word))))
            || (after_subject
                && (past_verb || matches!(norm(word), "locked" | "lost" | "left" | "wiped")))
    })
}

/// Whether an explaining clause tells of the very action it would be read as ("she was
/// suspended", "his password was reset"): that was done already, and is no request to do it.
fn tells_what_was_done(words: &[Word], intent: Intent) -> bool {
    let Intent::Tool(tool) = intent else {
        return false;
    };
    words.iter().any(|w| {
        w.class == Some(Class::Verb)
            && (w.token.norm.ends_with("ed") || w.token.norm == "reset")
            && (Some(w.canonical) == tool.word()
                || (w.canonical == "reset"
                    && matches!(tool, Tool::ResetPassword | Tool::ResetFactors)))
    })
}

/// What a message has named so far, for the words that point back at it: "reset it" (a
/// password, MFA or the account), "remove her from it" and "add her back" (a group).
#[derive(Default)]
struct Memory {
    /// "password", "mfa" or "account", in the order first named.
    things: Vec<&'static str>,
    groups: Vec<String>,
}

impl Memory {
    fn note(&mut self, clause: &[Word]) {
        for (i, word) in clause.iter().enumerate() {
            let thing = match word.canon() {
                "password" => "password",
                "mfa" | "phone" => "mfa",
                "verify" if i > 0 && clause[i - 1].token.norm == "okta" => "mfa",
                "account" => "account",
                _ => continue,
            };
            if !self.things.contains(&thing) {
                self.things.push(thing);
            }
        }
        let view = ClauseView::new(clause, false);
        let named = [Tool::AddUserToGroup, Tool::RemoveUserFromGroup]
            .into_iter()
            .filter_map(|tool| view.group_words(tool))
            .chain(view.group_after_joining());
        for (words, _) in named {
            // A name has a word of its own ("Sales"), not only grammar ("his account").
            if !words
                .iter()
                .any(|w| w.is_name() || w.token.kind == Kind::Quoted)
            {
                continue;
            }
            let name = group_name(&words);
            if !self.groups.iter().any(|g| g.eq_ignore_ascii_case(&name)) {
                self.groups.push(name);
            }
        }
    }

    /// The one group named so far.
    fn one_group(&self) -> Option<String> {
        match self.groups.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// `clause` with each "it" that refers back replaced by what it refers to, when that is
    /// one thing: after "to"/"from"/"out of", the one group named; after an action word, the
    /// password or MFA named (both: left for the engine to ask), else the account (that is,
    /// the person).
    fn resolve(&self, mut clause: Vec<Word>) -> Vec<Word> {
        for i in 1..clause.len() {
            if clause[i].token.kind != Kind::Word || clause[i].token.norm != "it" {
                continue;
            }
            let previous = clause[i - 1].token.norm.as_str();
            let group_slot = INTO.contains(&previous) || OUT_OF.contains(&previous);
            let replacement = if group_slot {
                self.one_group().map(|name| Token {
                    kind: Kind::Quoted,
                    norm: name.to_lowercase(),
                    raw: name,
                    possessive: false,
                })
            } else if clause[i - 1].class == Some(Class::Verb) {
                let password = self.things.contains(&"password");
                let mfa = self.things.contains(&"mfa");
                match (password, mfa) {
                    (true, true) => None,
                    (true, false) => Some(word_token("password")),
                    (false, true) => Some(word_token("mfa")),
                    (false, false) if self.things.contains(&"account") => {
                        clause[i].class = Some(Class::Pronoun);
                        None
                    }
                    (false, false) => None,
                }
            } else {
                None
            };
            if let Some(token) = replacement {
                clause[i] = classify(token, false);
            }
        }
        clause
    }
}

/// A word the engine writes itself (what "it" stood for).
fn word_token(word: &str) -> Token {
    Token {
        kind: Kind::Word,
        raw: word.to_string(),
        norm: word.to_string(),
        possessive: false,
    }
}

/// Splits at separators. Inside a group name after "to"/"from", "and"/"&" belong to the name
/// ("Sales and Marketing") unless a person or an action follows.
fn clauses(words: &[Word]) -> Vec<Vec<Word>> {
    let mut out: Vec<Vec<Word>> = Vec::new();
    let mut current: Vec<Word> = Vec::new();
    let mut in_group_name = false;
    for (i, word) in words.iter().enumerate() {
        if word.token.kind == Kind::Separator {
            let next = words[i + 1..]
                .iter()
                .find(|w| w.token.kind != Kind::Separator);
            let sentence_end = tokens::SENTENCE_ENDS.contains(&word.token.raw.as_str());
            let continues_name = in_group_name
                && !sentence_end
                && next.is_some_and(|n| {
                    !n.token.is_explicit_target()
                        && !matches!(
                            n.class,
                            Some(Class::Verb | Class::SelfWord | Class::Pronoun)
                        )
                });
            if continues_name {
                current.push(word.clone());
                continue;
            }
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            in_group_name = false;
            continue;
        }
        // "…, because she was locked out": an explanation starts here (not as the first
        // word: "when was bob locked?" is a question).
        if i > 0
            && word.token.kind == Kind::Word
            && SUBORDINATORS.contains(&word.token.norm.as_str())
        {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            in_group_name = false;
        }
        if matches!(word.token.norm.as_str(), "to" | "into" | "from") {
            in_group_name = true;
        }
        current.push(word.clone());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// One clause, with helpers for the intent rules.
struct ClauseView<'a> {
    words: &'a [Word],
    canon: Vec<&'a str>,
    /// Some clause of the message names a group ("add @a and @b to Zoom").
    message_groups: bool,
}

/// Group delimiters, with the words that begin a group name after them.
const INTO: &[&str] = &["to", "into", "in"];
const OUT_OF: &[&str] = &["from", "of", "off"];

impl<'a> ClauseView<'a> {
    fn new(words: &'a [Word], message_groups: bool) -> Self {
        let canon = words.iter().map(Word::canon).collect();
        Self {
            words,
            canon,
            message_groups,
        }
    }

    /// A read asked for by a noun alone ("apps for @bob", "groups @kate") only when nothing
    /// else is said: with a person named exactly, every other word is known vocabulary ("@ana
    /// moved teams" is a statement, not a request to list her groups).
    fn only_about_people(&self) -> bool {
        !self.has_explicit_target() || !self.words.iter().any(Word::is_name)
    }

    fn has_explicit_target(&self) -> bool {
        self.words.iter().any(|w| w.token.is_explicit_target())
    }

    /// Whether the clause names anyone: a target, "me", or a pronoun.
    fn names_anyone(&self) -> bool {
        self.has_explicit_target()
            || self
                .words
                .iter()
                .any(|w| matches!(w.class, Some(Class::SelfWord | Class::Pronoun)))
    }

    /// "her" or "his" (or "it" for an account) naming no one in this clause, when the
    /// message has named more than one person: which one is meant is a question.
    fn ambiguous_pronoun(&self, people: &[Target]) -> bool {
        people.len() > 1
            && !self.has_explicit_target()
            && !self.words.iter().any(|w| w.class == Some(Class::SelfWord))
            && self.words.iter().any(|w| {
                w.class == Some(Class::Pronoun)
                    && lexicon::SINGULAR_PRONOUNS.contains(&w.token.norm.as_str())
            })
    }

    fn explicit_targets(&self) -> Vec<Target> {
        self.words
            .iter()
            .filter(|w| w.token.is_explicit_target())
            .map(|w| Target::Named(w.token.raw.clone()))
            .collect()
    }

    fn has(&self, word: &str) -> bool {
        self.canon.contains(&word)
    }

    fn has_any(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.has(w))
    }

    /// `a` followed by `b` within `gap` words.
    fn near(&self, a: &str, b: &str, gap: usize) -> bool {
        self.canon
            .iter()
            .enumerate()
            .any(|(i, w)| *w == a && self.canon[i + 1..].iter().take(gap + 1).any(|x| *x == b))
    }

    fn first(&self) -> &str {
        self.canon.first().copied().unwrap_or_default()
    }

    /// A question about a state ("is bob locked out?"), not a request ("can you unlock bob").
    fn is_question(&self) -> bool {
        let second = self.canon.get(1).copied().unwrap_or_default();
        match self.first() {
            "is" | "are" | "am" | "why" | "whats" | "does" | "did" | "has" | "was" | "were"
            | "which" | "who" => true,
            "what" => !matches!(second, "apps" | "groups" | "group"),
            "can" | "could" => !matches!(
                second,
                "you"
                    | "u"
                    | "someone"
                    | "somebody"
                    | "anyone"
                    | "we"
                    | "i"
                    | "me"
                    | "pls"
                    | "please"
                    | "ya"
                    | "yall"
            ),
            _ => false,
        }
    }

    fn group_context(&self) -> bool {
        self.words.iter().any(|w| w.token.kind == Kind::Quoted)
            || self.has_any(&["group", "groups"])
            || self.delimiter(INTO).is_some()
            || self.delimiter(OUT_OF).is_some()
    }

    /// The position of the last delimiter word from `set` that starts a group name ("of" only
    /// as "out of").
    fn delimiter(&self, set: &[&str]) -> Option<usize> {
        (0..self.words.len()).rev().find(|&i| {
            let w = &self.words[i];
            w.token.kind == Kind::Word
                && set.contains(&w.token.norm.as_str())
                && (w.token.norm != "of" || (i > 0 && self.words[i - 1].token.norm == "out"))
        })
    }

    /// The intent and, for a misspelt or paraphrased destructive verb, the word as typed.
    fn intent(&self) -> Option<Reading> {
        let tool = |t: Tool| Some(Intent::Tool(t));
        let question = self.is_question();
        let password = self.has("password");
        let group_ctx = self.group_context() || self.message_groups;
        let mfa = self.has("mfa") || self.near("okta", "verify", 0);
        let named_group = self.words.iter().any(|w| w.token.kind == Kind::Quoted)
            || self.has_any(&["group", "groups"]);
        let no_longer_needs = (self.near("no", "longer", 0)
            && (self.has("need") || self.has("needs")))
            || (self.has_any(&["doesnt", "dont"]) && self.has_any(&["need", "needs"]));
        let add = !no_longer_needs
            && (self.has("add")
                || (self.near("be", "in", 0) && named_group)
                || (self.has("reenroll") && named_group && !mfa)
                || (self.has("access")
                    && (self.canon.contains(&"give")
                        || self.near("need", "access", 1)
                        || self.near("needs", "access", 1)
                        || self.near("needed", "access", 1))
                    && self.delimiter(INTO).is_some()));
        let remove = self.has("remove")
            || no_longer_needs
            || (self.has("revoke") && (self.has("access") || group_ctx) && !self.has("sessions"))
            || (self.canon.contains(&"take")
                && (self.near("out", "of", 0) || self.canon.contains(&"off")));
        // "is erin suspended?": a question about a state, not a request to change it.
        let state_question = question
            && self.words.iter().any(|w| {
                w.class == Some(Class::Verb)
                    && (w.token.norm.ends_with("ed") || w.token.norm == "frozen")
            });
        let state_question = state_question
            || (question && self.has_any(&["locked", "active", "enabled", "disabled"]));
        let intent = if self.has("delete") && !group_ctx {
            Some(Intent::Delete)
        } else if state_question {
            tool(Tool::DiagnoseUser)
        } else if add && mfa && !group_ctx {
            tool(Tool::ResetFactors)
        } else if add {
            tool(Tool::AddUserToGroup)
        } else if remove && mfa {
            tool(Tool::ResetFactors)
        } else if remove && self.has("sessions") {
            tool(Tool::ClearSessions)
        } else if remove
            || (self.has("deactivate") && self.delimiter(OUT_OF).is_some() && group_ctx)
        {
            // "remove @ana" alone: a membership change; the engine asks which group.
            tool(Tool::RemoveUserFromGroup)
        } else if self.has("apps") && !add && !remove && !mfa && self.only_about_people() {
            tool(Tool::ListUserApps)
        } else if self.finds_group() {
            tool(Tool::FindGroup)
        } else if !add
            && !remove
            && self.only_about_people()
            && (self.has("groups")
                || self.has("member")
                || self.near("member", "of", 0)
                || self
                    .canon
                    .windows(2)
                    .any(|w| w == ["belong", "to"] || w == ["belongs", "to"])
                || (self.first() == "what" && self.has("group") && self.has("in")))
        {
            tool(Tool::ListUserGroups)
        } else if mfa
            || (self.has("phone") && self.has_any(&["new", "lost", "broken", "changed"]))
            || self.has("reenroll")
        {
            if question && !self.has_any(&["reset", "clear"]) {
                tool(Tool::DiagnoseUser)
            } else {
                tool(Tool::ResetFactors)
            }
        } else if (self.has("expire") && !self.has("account"))
            || (self.has("force") && (self.canon.contains(&"change") || self.has("reset")))
            || self.near("change", "next", 3)
            || (password && self.near("next", "time", 0))
        {
            tool(Tool::ExpirePassword)
        } else if self.has("forgot")
            || (password
                && (self.has("reset")
                    || self.has_any(&["new", "send", "change", "temp", "temporary", "link"])))
            || (self.has("reset") && self.has_any(&["account", "link", "email"]) && !mfa)
        {
            tool(Tool::ResetPassword)
        } else if self.has("reset") && !password {
            Some(Intent::ResetWhich)
        } else if self.has("sessions")
            || self.has("signout")
            || self.near("sign", "out", 2)
            || self.near("log", "out", 2)
            || self.near("signed", "out", 2)
            || self.near("logged", "out", 2)
            || self.near("out", "everywhere", 1)
        {
            tool(Tool::ClearSessions)
        } else if self.has("unsuspend") || self.near("lift", "suspend", 1) {
            tool(Tool::UnsuspendUser)
        } else if self.has("reenable")
            || (self.canon.contains(&"turn") && self.near("back", "on", 0))
            || self.near("access", "back", 1)
        {
            Some(Intent::Reenable)
        } else if self.has("suspend") {
            tool(Tool::SuspendUser)
        } else if self.has("reactivate") {
            tool(Tool::ReactivateUser)
        } else if self.has("deactivate") || self.near("left", "company", 1) {
            tool(Tool::DeactivateUser)
        } else if self.has("unlock") {
            tool(Tool::UnlockUser)
        } else if self.near("locked", "out", 1) || self.has_any(&["lockedout", "lockout"]) {
            if question {
                tool(Tool::DiagnoseUser)
            } else {
                tool(Tool::UnlockUser)
            }
        } else if self.has_any(&["diagnose", "status"])
            || (self.has("check") && !self.has("apps"))
            || (self.has_any(&["cant", "cannot", "unable", "couldnt"])
                && self.has_any(&[
                    "signin", "sign", "log", "access", "get", "logging", "signing",
                ]))
            || (question && self.has_any(&["signin", "sign", "log", "logging", "signing"]))
            || self.near("whats", "wrong", 0)
            || self.near("what", "wrong", 1)
            || self.near("let", "in", 2)
        {
            tool(Tool::DiagnoseUser)
        } else if self.has("find") || self.near("who", "is", 0) || self.near("look", "up", 0) {
            tool(Tool::FindUser)
        } else if question
            && self.has_explicit_target()
            && !self.has_any(&["apps", "groups", "group"])
        {
            // Any other question about someone named exactly: what is going on with them.
            tool(Tool::DiagnoseUser)
        } else {
            None
        }?;
        Some((intent, self.as_written(intent)))
    }

    /// "find group Zoom", "which group is Zoom", "look up the Zoom group".
    fn finds_group(&self) -> bool {
        let explicit = self.words.iter().any(|w| w.token.is_explicit_target());
        !explicit
            && self.has_any(&["group", "groups"])
            && (self.has("find")
                || self.near("look", "up", 0)
                || self.near("which", "group", 0)
                || self.near("group", "named", 0)
                || self.near("group", "called", 0))
    }

    /// For a destructive action reached through a misspelling or another word ("offboard",
    /// "disable", "kick"), the word as typed; and for any misspelt verb.
    fn as_written(&self, intent: Intent) -> Option<String> {
        let Intent::Tool(tool) = intent else {
            return None;
        };
        let corrected = self
            .words
            .iter()
            .find(|w| w.corrected && w.class == Some(Class::Verb));
        if let Some(word) = corrected {
            return Some(word.token.raw.clone());
        }
        if tool.risk() != Risk::Destructive {
            return None;
        }
        let plain_word = tool.word()?;
        let driving = self
            .words
            .iter()
            .find(|w| w.class == Some(Class::Verb) && w.canonical == plain_word);
        match driving {
            Some(word) if !word.token.norm.starts_with(plain_word) => Some(word.token.raw.clone()),
            Some(_) => None,
            None if tool == Tool::RemoveUserFromGroup => {
                let typed: Vec<&str> = self
                    .words
                    .iter()
                    .filter(|w| {
                        matches!(
                            w.token.norm.as_str(),
                            "no" | "longer"
                                | "need"
                                | "needs"
                                | "revoke"
                                | "take"
                                | "doesnt"
                                | "dont"
                        )
                    })
                    .map(|w| w.token.raw.as_str())
                    .collect();
                (!typed.is_empty()).then(|| typed.join(" "))
            }
            None if tool == Tool::DeactivateUser => Some("left the company".into()),
            None => None,
        }
    }

    /// The group this clause names, for group tools: a quoted name, or the words after
    /// "to"/"into"/"in" (adds) or "from"/"out of" (removals), or after "needs" ("X no longer
    /// needs Zoom"), without articles, "group", "team" and pleasantries.
    fn group(&self, intent: Intent) -> Option<GroupName> {
        let Intent::Tool(tool) = intent else {
            return None;
        };
        match tool.subject_kind() {
            SubjectKind::Membership | SubjectKind::Group => {}
            SubjectKind::User | SubjectKind::Query => return None,
        }
        let (words, plural) = self.group_words(tool)?;
        Some(GroupName {
            name: group_name(&words),
            plural,
        })
    }

    /// The words of the group name for `tool` (see [`Self::group`]), and whether it was
    /// written as a plural.
    fn group_words(&self, tool: Tool) -> Option<(Vec<&'a Word>, bool)> {
        let kind = tool.subject_kind();
        if let Some(quoted) = self.words.iter().find(|w| w.token.kind == Kind::Quoted) {
            let plural = self
                .words
                .iter()
                .any(|w| matches!(w.token.norm.as_str(), "groups" | "teams" | "grps"));
            return Some((vec![quoted], plural));
        }
        let start = match kind {
            SubjectKind::Membership => self.membership_group_start(tool).map(|i| i + 1),
            SubjectKind::Group | SubjectKind::User | SubjectKind::Query => self
                .words
                .iter()
                .rposition(|w| {
                    matches!(
                        w.token.norm.as_str(),
                        "named" | "called" | "group" | "groups" | "grp" | "grps" | "is"
                    )
                })
                .map(|i| i + 1),
        }?;
        let words: &'a [Word] = self.words;
        let mut span: Vec<&'a Word> = words[start..]
            .iter()
            // "…from Sales by mistake": the name ends where the explanation begins.
            .take_while(|w| !GROUP_NAME_ENDS.contains(&w.token.norm.as_str()))
            .filter(|w| !w.token.is_explicit_target())
            .collect();
        // "look up the Engineering group": the name stands before the word "group".
        if tool == Tool::FindGroup && span.is_empty() && start > 0 {
            span = words[..start - 1]
                .iter()
                .filter(|w| w.is_name() || w.class.is_none())
                .collect();
        }
        let plural = trim_group_name(&mut span);
        // "remove her from it", with no one group to refer to: no name (the engine asks).
        if span.is_empty()
            || (span.len() == 1
                && matches!(
                    span[0].token.norm.as_str(),
                    "it" | "that" | "this" | "there"
                ))
        {
            return None;
        }
        Some((span, plural))
    }

    /// "@erin left Sales", "@kate joined Zoom Users": a group named without "to" or "from"
    /// (up to three words that are no known vocabulary).
    fn group_after_joining(&self) -> Option<(Vec<&'a Word>, bool)> {
        let words: &'a [Word] = self.words;
        let at = words.iter().position(|w| {
            matches!(
                w.token.norm.as_str(),
                "left" | "joined" | "joining" | "leaving"
            )
        })?;
        let mut span: Vec<&'a Word> = words[at + 1..]
            .iter()
            .take_while(|w| w.is_name())
            .take(3)
            .collect();
        let plural = trim_group_name(&mut span);
        (!span.is_empty()).then_some((span, plural))
    }

    /// Where a membership change's group name begins: after "to"/"into"/"in" for adds; after
    /// "from"/"out of"/"off", "access to" or "needs" for removals.
    fn membership_group_start(&self, tool: Tool) -> Option<usize> {
        if tool == Tool::AddUserToGroup {
            return self.delimiter(INTO);
        }
        self.delimiter(OUT_OF)
            .or_else(|| self.access_to())
            .or_else(|| {
                self.words
                    .iter()
                    .rposition(|w| matches!(w.token.norm.as_str(), "need" | "needs"))
            })
    }

    /// "…access to G": the position of that "to".
    fn access_to(&self) -> Option<usize> {
        (1..self.words.len())
            .rev()
            .find(|&i| self.words[i].token.norm == "to" && self.words[i - 1].token.norm == "access")
    }

    /// The people this clause names: mentions, emails and ids as written; else "me"; else a
    /// pronoun for the people of the previous action; else a name (up to three words, outside
    /// the group name).
    fn targets(&self, intent: Intent, recent: &[Target]) -> Vec<Target> {
        let group_start = match intent {
            Intent::Tool(tool) => match tool.subject_kind() {
                SubjectKind::Membership => self.membership_group_start(tool),
                SubjectKind::Group => return Vec::new(),
                SubjectKind::User | SubjectKind::Query => None,
            },
            Intent::Reenable | Intent::Delete | Intent::ResetWhich => None,
        };
        let before_group = &self.words[..group_start.unwrap_or(self.words.len())];
        let explicit: Vec<Target> = self
            .words
            .iter()
            .filter(|w| w.token.is_explicit_target())
            .map(|w| Target::Named(w.token.raw.clone()))
            .collect();
        if !explicit.is_empty() {
            return explicit;
        }
        if before_group
            .iter()
            .any(|w| w.class == Some(Class::SelfWord))
        {
            return vec![Target::Requester];
        }
        if before_group.iter().any(|w| w.class == Some(Class::Pronoun)) && !recent.is_empty() {
            return recent.to_vec();
        }
        // A name never follows "in"/"from"/"at" ("deactivate everyone in Sales"), and a word
        // before "team" or "group" names a group, not a person ("the whole sales team").
        let group_noun = |i: usize| {
            before_group.get(i + 1).is_some_and(|w| {
                matches!(
                    w.token.norm.as_str(),
                    "team" | "teams" | "group" | "groups" | "grp" | "department" | "dept"
                )
            })
        };
        // "okta verify is blank": what follows "is" describes a thing; it names someone only
        // after a word for a person ("the user is bob.smith") or in a question ("who is …").
        let describes_thing = |i: usize| {
            i >= 2
                && matches!(
                    before_group[i - 1].token.norm.as_str(),
                    "is" | "are" | "was" | "were" | "looks" | "seems" | "looked" | "seemed"
                )
                && !matches!(
                    before_group[i - 2].token.norm.as_str(),
                    "user"
                        | "person"
                        | "name"
                        | "username"
                        | "login"
                        | "email"
                        | "account"
                        | "id"
                        | "who"
                        | "what"
                        | "where"
                )
        };
        let Some(start) = (0..before_group.len()).find(|&i| {
            before_group[i].is_name()
                && !group_noun(i)
                && !describes_thing(i)
                && (i == 0
                    || !matches!(
                        before_group[i - 1].token.norm.as_str(),
                        "in" | "from" | "at" | "within" | "inside"
                    ))
        }) else {
            return Vec::new();
        };
        let name: Vec<&str> = before_group[start..]
            .iter()
            .take_while(|w| w.is_name())
            .take(3)
            .map(|w| w.token.raw.as_str())
            .collect();
        vec![Target::Named(name.join(" "))]
    }
}

/// Words that end a group name: what follows explains ("…from Sales by mistake").
const GROUP_NAME_ENDS: &[&str] = &[
    "by", "but", "because", "since", "when", "after", "while", "until", "though", "although",
    "cause", "bc", "due",
];

/// Strips articles before a group name and "group", "team" and pleasantries after it;
/// returns whether a plural was written ("the engineering groups").
fn trim_group_name(span: &mut Vec<&Word>) -> bool {
    // "…access to Zoom": the group follows "access to".
    // Not "okta": group names start with it ("Okta Administrators").
    const LEADING: &[&str] = &["the", "our", "a", "an", "my", "access", "to", "for", "of"];
    const TRAILING: &[&str] = &[
        "group", "groups", "grp", "grps", "team", "teams", "please", "pls", "thanks", "thx",
        "asap", "now", "today", "in", "okta", "access", "too", "anymore", "as", "well", "either",
        "also", "app", "again", "yet", "back", "there",
    ];
    while span
        .first()
        .is_some_and(|w| LEADING.contains(&w.token.norm.as_str()))
    {
        span.remove(0);
    }
    let mut plural = false;
    while let Some(last) = span.last() {
        let norm = last.token.norm.as_str();
        if !TRAILING.contains(&norm) && last.token.kind != Kind::Separator {
            break;
        }
        plural |= matches!(norm, "groups" | "teams" | "grps");
        span.pop();
    }
    plural
}

/// A group name as written.
fn group_name(words: &[&Word]) -> String {
    words
        .iter()
        .map(|w| w.token.raw.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The canonical command for a tool on a person (and group): what "Did you mean: …?" offers,
/// and what a "yes" parses back to exactly.
pub fn command(tool: Tool, user: &str, group: Option<&str>) -> String {
    crate::tools::fill(
        tool.command_template(),
        &[("user", user), ("group", group.unwrap_or_default())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Action {
        match parse(text) {
            Parsed::Actions(actions) if actions.len() == 1 => actions[0].clone(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn self_and_questions() {
        assert_eq!(one("I'm locked out").intent, Intent::Tool(Tool::UnlockUser));
        assert_eq!(one("I'm locked out").user, Some(Target::Requester));
        assert_eq!(
            one("is <@U0BOB> locked out?").intent,
            Intent::Tool(Tool::DiagnoseUser)
        );
        assert_eq!(
            parse("maria.rossini@example.com"),
            Parsed::TargetOnly(Target::Named("maria.rossini@example.com".into()))
        );
        assert_eq!(parse("help"), Parsed::Help);
        assert_eq!(parse("yes"), Parsed::Confirm);
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
        let add = one("add <@U0ANA> to İstanbul Office");
        assert_eq!(add.group.unwrap().name, "İstanbul Office");
    }

    fn actions(text: &str) -> Vec<(Intent, Option<String>, Option<String>)> {
        match parse(text) {
            Parsed::Actions(actions) => actions
                .into_iter()
                .map(|a| {
                    let user = a.user.map(|u| match u {
                        Target::Requester => "me".to_string(),
                        Target::Named(n) => n,
                    });
                    (a.intent, user, a.group.map(|g| g.name))
                })
                .collect(),
            other => panic!("{text}: {other:?}"),
        }
    }

    fn tool(t: Tool) -> Intent {
        Intent::Tool(t)
    }

    #[test]
    fn an_explanation_is_not_a_second_request_but_alone_it_is_the_request() {
        let bob = Some("<@U0BOB>".to_string());
        // Past tense, passive and "because …" beside a request: only the request.
        for text in [
            "reactivate <@U0BOB>, he was deactivated by mistake",
            "reactivate <@U0BOB> because HR deactivated him",
            "HR deactivated <@U0BOB> last week. Please reactivate him",
        ] {
            assert_eq!(
                actions(text),
                [(tool(Tool::ReactivateUser), bob.clone(), None)],
                "{text}"
            );
        }
        // Alone, a statement is what the person wants done.
        assert_eq!(
            actions("<@U0BOB> forgot his password"),
            [(tool(Tool::ResetPassword), bob.clone(), None)]
        );
        // Alone, a statement of what was done is no request to do it again.
        assert!(!matches!(
            parse("my account got suspended, please fix"),
            Parsed::Actions(_)
        ));
        // Two requests stay two requests.
        assert_eq!(actions("suspend <@U0BOB> and clear his sessions").len(), 2);
    }

    #[test]
    fn it_and_pronouns_refer_back_to_the_one_thing_and_person_named() {
        let kate = Some("<@U0KATE>".to_string());
        assert_eq!(
            actions("<@U0KATE>'s password expired, reset it"),
            [(tool(Tool::ResetPassword), kate.clone(), None)]
        );
        assert_eq!(
            actions("<@U0KATE>'s okta verify broke, reset it"),
            [(tool(Tool::ResetFactors), kate.clone(), None)]
        );
        assert_eq!(
            actions("<@U0KATE>'s account is locked, unlock it"),
            [(tool(Tool::UnlockUser), kate.clone(), None)]
        );
        assert_eq!(
            actions("<@U0KATE> is in Sales by mistake, remove her from it"),
            [(
                tool(Tool::RemoveUserFromGroup),
                kate.clone(),
                Some("Sales".into())
            )]
        );
        // Two things: "it" is asked about ("Reset what…?").
        assert_eq!(
            actions("<@U0KATE>'s password and mfa are both broken, reset it"),
            [(Intent::ResetWhich, kate.clone(), None)]
        );
        // Two groups: which one is asked.
        assert_eq!(
            actions("<@U0KATE> is in Sales and in Zoom Users, remove her from it"),
            [(tool(Tool::RemoveUserFromGroup), kate.clone(), None)]
        );
        // Two people: "her" is asked about; "them" is both.
        assert_eq!(
            actions("<@U0BOB> and <@U0KATE> are locked out, unlock her"),
            [(tool(Tool::UnlockUser), None, None)]
        );
        assert_eq!(
            actions("<@U0BOB> and <@U0KATE> are locked out, unlock them").len(),
            2
        );
    }

    #[test]
    fn a_group_name_ends_where_its_explanation_begins() {
        assert_eq!(
            actions("add <@U0ANA> to Zoom Users again by request of her manager"),
            [(
                tool(Tool::AddUserToGroup),
                Some("<@U0ANA>".into()),
                Some("Zoom Users".into())
            )]
        );
    }

    #[test]
    fn every_canonical_command_parses_back_to_its_tool() {
        for tool in Tool::ALL {
            if tool == Tool::SearchHelpDocs {
                continue;
            }
            let text = command(tool, "<@U0BOB>", Some("Zoom Users"));
            let action = one(&text);
            assert_eq!(action.intent, Intent::Tool(tool), "{text}");
            if tool != Tool::FindGroup {
                assert_eq!(
                    action.user,
                    Some(Target::Named("<@U0BOB>".into())),
                    "{text}"
                );
            }
            if matches!(
                tool.subject_kind(),
                SubjectKind::Membership | SubjectKind::Group
            ) {
                assert_eq!(action.group.unwrap().name, "Zoom Users", "{text}");
            }
        }
    }
}
