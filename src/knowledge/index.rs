//! The retrieval index over help-document sections: text normalization (case, punctuation,
//! light stemming, a synonym table teams can extend), BM25 with field weights (title, heading
//! and tags count more than body text), and typo tolerance (one edit on words of five letters
//! or more, through a deletion index so a query never scans the vocabulary).

use std::collections::HashMap;

use super::doc::Doc;

/// Words and phrases folded to one term, so "log in", "sign-in" and "login" meet: one line
/// per term, `term = variant, variant, …`. A term of two words stands for both ("new
/// password" is a reset). Teams add their own in `[knowledge.synonyms]`.
const BUILTIN_SYNONYMS: &str = "
signin = sign in, log in, login, logon, signin, signon, sign on, log on, logging in, signing in, sign into, log into, logging into, signing into, get in, get into, getting into, access my account
mfa = mfa, okta app, 2fa, two factor, twofactor, multi factor, multifactor, okta verify, authenticator, authenticators, factor, factors, otp, second factor, 2 factor, verify app, two step, 2 step, 2sv, biometric, biometrics, face id, fingerprint, touch id
lockout = locked out, lockout, locked, lock out, unlock, locks, locking me out, locking, barred, shut out, locked me out
password = password, passwords, pw, pwd, passwd, passcode
passwordmanager = password manager, 1password, lastpass, bitwarden, keepass, dashlane, password managers
expire = expire, expires, expired, expiry, expiring, expiration
reset password = new password, change my password, change password, changing my password, reset my password, password reset
setup = set up, setup, re setup, reset up, setting up, configure, enrol, enroll, enrolling, enrolment, register
vpn = vpn, remote access, globalprotect, global protect
wifi = wifi, wi fi, wireless, wlan
email = email, emails, e mail, mail, gmail, outlook, mailbox, inbox
app = app, apps, application, applications, tile, tiles, chiclet
phone = phone, phones, iphone, android, mobile, smartphone, cell, handset, handsets, samsung, pixel, ipad, tablet
newphone phone = new phone, new iphone, new android, new mobile, new smartphone, switched phones, changed phones, changed my phone, replaced my phone, phone upgrade, upgraded my phone
forgot = forgot, forgotten, forget, remember
activation = activation, activate, activated, activating, welcome email, welcome mail, invite, invitation, setup email, set up email, setup mail, set up mail, setup link, set up link, welcome message, welcome link
starter = new starter, starter, new hire, joiner, onboarding, onboard, first day, starting, new employee, new joiner, first week, day one, week one
leaver = leaver, leaving, offboard, offboarding, last day, departure, departing, left the company, quitting, quits, resigned, resigning, quit, wraps up, wrapping up, retiring, retire, retires, retirement
phishing = phishing, scam, suspicious, spam, weird email, strange email, fake email, dodgy email
missing = missing, disappeared, gone, vanished, cant find, cannot find, cant see, dont see, not showing
dashboard = dashboard, home page, homepage, okta page, okta portal, launcher, app launcher, okta home
install = install, installed, installing, self service
securitykey = yubikey, yubi key, hardware key, security key
timeoff = annual leave, sick leave, leave request, book leave, time off, pto, holiday request, vacation request
license = license, licence, licenses, licences, licensing, licencing
";

/// Words too common to say what a question is about.
pub const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "to",
    "of",
    "in",
    "on",
    "for",
    "is",
    "it",
    "my",
    "i",
    "me",
    "you",
    "your",
    "do",
    "does",
    "did",
    "how",
    "what",
    "whats",
    "can",
    "be",
    "with",
    "at",
    "by",
    "this",
    "that",
    "if",
    "are",
    "was",
    "after",
    "then",
    "so",
    "as",
    "from",
    "am",
    "get",
    "got",
    "im",
    "cant",
    "cannot",
    "not",
    "no",
    "any",
    "anyone",
    "some",
    "there",
    "here",
    "we",
    "our",
    "us",
    "will",
    "would",
    "should",
    "could",
    "have",
    "has",
    "had",
    "just",
    "now",
    "up",
    "out",
    "again",
    "please",
    "pls",
    "help",
    "thanks",
    "hi",
    "hey",
    "where",
    "when",
    "why",
    "who",
    "which",
    "keep",
    "keeps",
    "still",
    "need",
    "want",
    "one",
    "all",
    "its",
    "into",
    "about",
    "ive",
    "dont",
    "doesnt",
    "isnt",
    "wont",
    "yet",
    "too",
    "very",
    "really",
    "also",
    "ok",
    "know",
    "going",
    "goes",
    "go",
    "way",
    "thing",
    "things",
    "say",
    "says",
    "said",
    "tell",
    "like",
    "use",
    "using",
    "used",
    "make",
    "made",
    "see",
    "look",
    "new",
    "every",
    "each",
    "always",
    "anymore",
    "ever",
    "nothing",
    "something",
    "anything",
    // When and how it happened, and how people open a message: not what it is about.
    "morning",
    "afternoon",
    "evening",
    "today",
    "tonight",
    "yesterday",
    "suddenly",
    "minute",
    "minutes",
    "few",
    "idea",
    "ideas",
    "anybody",
    "folks",
    "everything",
    "much",
    // People and time, as a message sets the scene: "my new hire says they…", "next week".
    "they",
    "them",
    "their",
    "theyre",
    "she",
    "he",
    "her",
    "his",
    "him",
    "someone",
    "somebody",
    "but",
    "next",
    "week",
    "weeks",
    "time",
    "happen",
    "happens",
    "happened",
    "since",
];

/// The built-in symptom table: situations people describe, and the topics they are about.
pub const BUILTIN_SYMPTOMS: &str = include_str!("symptoms.txt");

/// A situation and the topics it is about: one word (or phrase) of every group said, in any
/// order, anywhere in the message.
#[derive(Clone, Debug)]
struct Symptom {
    /// Each group's alternatives, each as its index terms.
    groups: Vec<Vec<Vec<String>>>,
    topics: Vec<String>,
}

/// The synonym table: phrases (as word lists) folded to a canonical term, longest first; and
/// the symptom table, which turns a described situation into its topics.
#[derive(Clone, Debug, Default)]
pub struct Synonyms {
    phrases: Vec<(Vec<String>, String)>,
    /// First word → the phrases starting with it (indexes into `phrases`, longest first), so
    /// folding a word costs one lookup.
    by_first_word: HashMap<String, Vec<usize>>,
    /// The canonical terms, sorted.
    canonical: Vec<String>,
    /// One-word variants of five letters or more, with their length in characters and term.
    single_words: Vec<(String, usize, String)>,
    symptoms: Vec<Symptom>,
    /// The first group's words → the symptoms they may start (indexes into `symptoms`), so a
    /// message is checked only against the few lines it could match.
    symptoms_by_word: HashMap<String, Vec<usize>>,
}

/// Parses one symptom line's right-hand side: groups joined by `+`, alternatives by `|`.
/// The error says what is wrong with it.
pub fn parse_situation(situation: &str) -> Result<Vec<Vec<String>>, String> {
    let groups: Vec<Vec<String>> = situation
        .split('+')
        .map(|group| {
            group
                .split('|')
                .map(|alternative| alternative.trim().to_string())
                .filter(|alternative| !alternative.is_empty())
                .collect::<Vec<String>>()
        })
        .collect();
    if groups.iter().any(Vec::is_empty) {
        return Err(format!(
            "'{situation}' has an empty group: write words joined by + (all said) and | (any one of them), e.g. 'phone + dropped|stolen'"
        ));
    }
    Ok(groups)
}

impl Synonyms {
    /// The built-in table plus a team's own (`[knowledge.synonyms]`: term = [variants]).
    pub fn new(extra: &[(String, Vec<String>)]) -> Self {
        Self::with_symptoms(extra, &[])
    }

    /// [`Self::new`], with the built-in symptom table plus a team's own
    /// (`[knowledge.symptoms]`: topics = [situations]). A situation that does not parse is
    /// skipped here; the configuration refuses it with its reason before this runs.
    pub fn with_symptoms(
        extra: &[(String, Vec<String>)],
        extra_symptoms: &[(String, Vec<String>)],
    ) -> Self {
        let mut synonyms = Self::words_only(extra);
        let builtin = BUILTIN_SYMPTOMS
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(topics, situation)| (topics.trim().to_string(), situation.to_string()));
        let extra = extra_symptoms.iter().flat_map(|(topics, situations)| {
            situations
                .iter()
                .map(move |situation| (topics.clone(), situation.clone()))
        });
        let mut symptoms = Vec::new();
        for (topics, situation) in builtin.chain(extra) {
            let Ok(groups) = parse_situation(&situation) else {
                continue;
            };
            let groups: Vec<Vec<Vec<String>>> = groups
                .iter()
                .map(|group| {
                    group
                        .iter()
                        .map(|alternative| {
                            words_to_terms(alternative, &synonyms)
                                .into_iter()
                                .map(|(term, _)| term)
                                .collect::<Vec<String>>()
                        })
                        .filter(|terms| !terms.is_empty())
                        .collect()
                })
                .collect();
            let topics = analyze(&topics, &synonyms);
            if topics.is_empty() || groups.iter().any(Vec::is_empty) {
                continue;
            }
            symptoms.push(Symptom { groups, topics });
        }
        let mut symptoms_by_word: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, symptom) in symptoms.iter().enumerate() {
            for alternative in &symptom.groups[0] {
                let entry = symptoms_by_word.entry(alternative[0].clone()).or_default();
                if entry.last() != Some(&i) {
                    entry.push(i);
                }
            }
        }
        synonyms.symptoms = symptoms;
        synonyms.symptoms_by_word = symptoms_by_word;
        synonyms
    }

    /// The synonym table alone.
    fn words_only(extra: &[(String, Vec<String>)]) -> Self {
        let mut phrases: Vec<(Vec<String>, String)> = Vec::new();
        let mut add = |canonical: &str, variant: &str| {
            let words: Vec<String> = words(&lower(variant)).map(str::to_string).collect();
            if !words.is_empty() {
                phrases.push((words, canonical.to_string()));
            }
        };
        for line in BUILTIN_SYNONYMS.lines() {
            if let Some((canonical, variants)) = line.split_once('=') {
                for variant in variants.split(',') {
                    add(canonical.trim(), variant);
                }
            }
        }
        for (canonical, variants) in extra {
            let canonical = canonical.to_lowercase();
            add(&canonical, &canonical);
            for variant in variants {
                add(&canonical, variant);
            }
        }
        phrases.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        let mut by_first_word: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (words, _)) in phrases.iter().enumerate() {
            by_first_word.entry(words[0].clone()).or_default().push(i);
        }
        let mut canonical: Vec<String> = phrases
            .iter()
            .flat_map(|(_, c)| c.split(' ').map(str::to_string))
            .collect();
        canonical.sort();
        canonical.dedup();
        let single_words = phrases
            .iter()
            .filter(|(words, _)| words.len() == 1 && words[0].chars().count() >= 5)
            .map(|(words, canonical)| {
                (
                    words[0].clone(),
                    words[0].chars().count(),
                    canonical.clone(),
                )
            })
            .collect();
        Self {
            phrases,
            by_first_word,
            canonical,
            single_words,
            symptoms: Vec::new(),
            symptoms_by_word: HashMap::new(),
        }
    }

    /// Replaces the words of each situation the terms describe with its topics ("my phone fell
    /// in the lake" is about a new phone and MFA), which weigh [`SITUATION_WEIGHT`] each; each
    /// word serves one situation at most.
    fn situations(&self, terms: Vec<(String, bool)>) -> Vec<(String, f32)> {
        // The lines whose first group a word of the message could say, in table order.
        let mut candidates: Vec<usize> = terms
            .iter()
            .filter_map(|(term, _)| self.symptoms_by_word.get(term))
            .flatten()
            .copied()
            .collect();
        if candidates.is_empty() {
            return terms
                .into_iter()
                .filter(|(_, stop)| !stop)
                .map(|(term, _)| (term, 1.0))
                .collect();
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut taken = vec![false; terms.len()];
        let mut topics: Vec<String> = Vec::new();
        for symptom in candidates.into_iter().map(|i| &self.symptoms[i]) {
            let mut chosen: Vec<usize> = Vec::new();
            let said = symptom.groups.iter().all(|group| {
                group.iter().any(|alternative| {
                    let positions: Vec<usize> = alternative
                        .iter()
                        .filter_map(|word| {
                            (0..terms.len())
                                .find(|&i| !taken[i] && !chosen.contains(&i) && terms[i].0 == *word)
                        })
                        .collect();
                    let found = positions.len() == alternative.len();
                    if found {
                        chosen.extend(positions);
                    }
                    found
                })
            });
            if said {
                for i in chosen {
                    taken[i] = true;
                }
                topics.extend(symptom.topics.iter().cloned());
            }
        }
        // A situation's own words stay as a bonus: a document that uses them matches them,
        // and one that does not is not held to them (the topics stand for them).
        terms
            .into_iter()
            .zip(taken)
            .filter(|((_, stop), _)| !stop)
            .map(|((term, _), taken)| (term, if taken { BONUS_WEIGHT } else { 1.0 }))
            .chain(topics.into_iter().map(|topic| (topic, SITUATION_WEIGHT)))
            .collect()
    }

    /// Whether `term` is a folded synonym (kept as is, not stemmed).
    pub(crate) fn is_canonical(&self, term: &str) -> bool {
        self.canonical
            .binary_search_by(|c| c.as_str().cmp(term))
            .is_ok()
    }

    /// The term of the one-word synonym of five letters or more that `word` misspells by one
    /// edit, if exactly one term is that close.
    fn near(&self, word: &str) -> Option<&str> {
        let mut found: Option<&str> = None;
        let length = word.chars().count();
        for (variant, variant_length, canonical) in &self.single_words {
            if variant_length.abs_diff(length) > 1 || variant == word {
                continue;
            }
            if crate::fuzzy::distance(word, variant, 1).is_some() {
                match found {
                    Some(other) if other != canonical => return None,
                    _ => found = Some(canonical),
                }
            }
        }
        found
    }

    /// Calls `each(word, canonical)` for every word after folding phrases to their terms.
    fn fold(&self, words: &[&str], mut each: impl FnMut(&str, bool)) {
        let mut i = 0;
        'next: while i < words.len() {
            if let Some(candidates) = self.by_first_word.get(words[i]) {
                for &p in candidates {
                    let (phrase, canonical) = &self.phrases[p];
                    let rest = &words[i..];
                    if rest.len() >= phrase.len() && same_phrase(phrase, rest) {
                        for part in canonical.split(' ') {
                            each(part, true);
                        }
                        i += phrase.len();
                        continue 'next;
                    }
                }
            }
            each(words[i], false);
            i += 1;
        }
    }
}

/// Whether `words` open with `phrase`; its last word may be plural ("security keys" is a
/// security key, "new phones" a new phone), as a single word is by stemming.
fn same_phrase(phrase: &[String], words: &[&str]) -> bool {
    let last = phrase.len().saturating_sub(1);
    phrase.iter().zip(words).enumerate().all(|(i, (a, b))| {
        a == b || (i == last && i > 0 && b.strip_suffix('s') == Some(a.as_str()))
    })
}

/// Lower case, apostrophes removed ("Can't" → "cant").
fn lower(text: &str) -> String {
    text.to_lowercase().replace(['\'', '’'], "")
}

/// The words of lower-cased text: runs of letters and digits ("wi-fi" is "wi" "fi", which the
/// synonym table joins).
fn words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

static STOP: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| STOP_WORDS.iter().copied().collect());

/// English stemming (Snowball), so "resetting", "resets" and "reset" meet.
fn stem(word: &str) -> String {
    static STEMMER: std::sync::LazyLock<rust_stemmers::Stemmer> = std::sync::LazyLock::new(|| {
        rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English)
    });
    STEMMER.stem(word).into_owned()
}

/// One folded word as an index term, or `None` for a stop word (as written or as stemmed, so
/// "getting" goes with "get"). Synonym terms are kept as they are.
fn term(word: &str, canonical: bool) -> Option<String> {
    if canonical {
        return Some(word.to_string());
    }
    if STOP.contains(word) {
        return None;
    }
    let stemmed = stem(word);
    (!STOP.contains(stemmed.as_str())).then_some(stemmed)
}

/// A question's text to index terms: words, synonyms folded (a one-letter slip in a synonym of
/// five letters or more too: "globalprotcet" is the VPN), stop words dropped, stemmed, and
/// described situations turned into their topics (the symptom table).
pub fn analyze(text: &str, synonyms: &Synonyms) -> Vec<String> {
    analyze_query(text, synonyms)
        .into_iter()
        .map(|(term, _)| term)
        .collect()
}

/// Whether analyzed terms hold a described situation's topics (the message reports a problem).
pub fn describes_situation(terms: &[(String, f32)]) -> bool {
    terms.iter().any(|(_, weight)| *weight > 1.0)
}

/// [`analyze`], each term with its weight: a situation's topics say more than a word.
pub fn analyze_query(text: &str, synonyms: &Synonyms) -> Vec<(String, f32)> {
    synonyms.situations(words_to_terms(text, synonyms))
}

/// What a topic read from a described situation counts for, against a word's 1: several words
/// together named it.
const SITUATION_WEIGHT: f32 = 2.0;
/// The weight of a word a situation's topics stand for: it counts when a document matches it,
/// and not against a document that does not.
const BONUS_WEIGHT: f32 = 0.0;

/// [`analyze`] without the symptom table.
/// Stop words are kept, marked, for the symptom table ("back from leave", "new phone").
fn words_to_terms(text: &str, synonyms: &Synonyms) -> Vec<(String, bool)> {
    let lower = lower(text);
    let words: Vec<&str> = words(&lower).collect();
    let mut out = Vec::with_capacity(words.len());
    synonyms.fold(&words, |word, folded| {
        if !folded && word.chars().count() >= 5 && !STOP.contains(word) {
            if let Some(canonical) = synonyms.near(word) {
                out.extend(canonical.split(' ').map(|t| (t.to_string(), false)));
                return;
            }
        }
        let canonical = folded || synonyms.is_canonical(word);
        match term(word, canonical) {
            Some(term) => out.push((term, false)),
            None => out.push((word.to_string(), true)),
        }
    });
    out
}

/// Term ids for words while an index is built: each distinct word is stemmed and looked up
/// once, however often it occurs.
#[derive(Default)]
struct TermCache {
    plain: HashMap<String, Option<u32>, Fnv>,
    canonical: HashMap<String, Option<u32>, Fnv>,
}

/// FNV-1a: a fast hash for the index's own maps while building. Their keys come from the help
/// documents, which the IT team controls, so SipHash's flooding resistance buys nothing.
type Fnv = std::hash::BuildHasherDefault<FnvHasher>;

struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl TermCache {
    fn ids(&mut self, index: &mut Index, text: &str, synonyms: &Synonyms) -> Vec<u32> {
        let lower = lower(text);
        let words: Vec<&str> = words(&lower).collect();
        let mut out = Vec::with_capacity(words.len());
        synonyms.fold(&words, |word, folded| {
            let cache = if folded {
                &mut self.canonical
            } else {
                &mut self.plain
            };
            let id = match cache.get(word) {
                Some(id) => *id,
                None => {
                    let canonical = folded || synonyms.is_canonical(word);
                    let id = term(word, canonical).map(|t| index.term_id(t));
                    cache.insert(word.to_string(), id);
                    id
                }
            };
            out.extend(id);
        });
        out
    }
}

/// One indexed section.
#[derive(Clone, Copy, Debug)]
struct Entry {
    doc: u32,
    section: u32,
    len: f32,
}

/// A scored section.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub doc: usize,
    pub section: usize,
    pub score: f32,
    /// Share of the query's information (by IDF) this section matches, 0 to 1.
    pub coverage: f32,
    /// The phrasing of the document the query matched (an index into the phrasings the index
    /// was built with), when that is what made it an answer.
    pub phrasing: Option<usize>,
    /// Which of the query's distinct terms the document uses, a bit each (the first 64).
    pub matched: u64,
    /// Whether the document uses a topic the symptom table read from a situation the query
    /// describes: several of its words, not one in passing.
    pub situation: bool,
}

/// A way people ask for a document: from its front matter `questions`, or learned from an IT
/// admin's answer. Matched like the document's own words; never shown as its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phrasing {
    /// The document, by its place in the list the index is built from.
    pub doc: usize,
    pub text: String,
    /// The learned phrasing's id in the store; `None` for front matter.
    pub learned: Option<i64>,
}

/// BM25 over sections.
#[derive(Clone, Debug, Default)]
pub struct Index {
    entries: Vec<Entry>,
    terms: HashMap<String, u32, Fnv>,
    /// Term id → term.
    names: Vec<String>,
    /// Term id → (section entry, BM25 term weight without IDF), by entry.
    postings: Vec<Vec<(u32, f32)>>,
    /// Term id → the documents that use it, once each (for coverage).
    doc_postings: Vec<Vec<u32>>,
    idf: Vec<f32>,
    average_len: f32,
    /// One-letter deletions of terms of five letters or more → the terms.
    deletions: HashMap<String, Vec<u32>, Fnv>,
    /// Per document: the distinct terms of its title, and of its title, tags and headings (the
    /// words its author chose to say what it is about), as sorted term ids.
    titles: Vec<Vec<u32>>,
    topics: Vec<Vec<u32>>,
    /// The same, inverted: term id → documents whose title / title, tags or headings use it.
    title_docs: Vec<Vec<u32>>,
    topic_docs: Vec<Vec<u32>>,
    /// Per phrasing: its document and its distinct terms; and term id → the phrasings using it.
    phrasing_docs: Vec<u32>,
    /// Whether each phrasing was learned from an admin (it outranks a document's own).
    phrasing_learned: Vec<bool>,
    /// (term id, weight), each term once.
    phrasing_terms: Vec<Vec<(u32, f32)>>,
    phrasing_postings: Vec<Vec<u32>>,
    /// Whether each phrasing says what its document is about (a word of its title, tags or
    /// headings): such a phrasing matches only a message that says it too.
    phrasing_says_topic: Vec<bool>,
}

const K1: f32 = 1.2;
const B: f32 = 0.75;
const TITLE_WEIGHT: f32 = 2.0;
const HEADING_WEIGHT: f32 = 2.0;
const TAG_WEIGHT: f32 = 2.0;

impl Index {
    pub fn build(docs: &[Doc], phrasings: &[Phrasing], synonyms: &Synonyms) -> Self {
        let mut index = Index::default();
        let mut cache = TermCache::default();
        for phrasing in phrasings {
            // Terms as a question is analyzed, situations included, so the two meet.
            let mut ids: Vec<(u32, f32)> = analyze_query(&phrasing.text, synonyms)
                .into_iter()
                .map(|(term, weight)| (index.term_id(term), weight))
                .collect();
            ids.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
            ids.dedup_by_key(|(id, _)| *id);
            index.phrasing_docs.push(phrasing.doc as u32);
            index.phrasing_learned.push(phrasing.learned.is_some());
            index.phrasing_terms.push(ids);
        }
        let mut total_len = 0.0;
        // Term frequencies of one section, by term id, reused across sections.
        let mut weights: HashMap<u32, f32, Fnv> = HashMap::default();
        for (d, doc) in docs.iter().enumerate() {
            let title = cache.ids(&mut index, &doc.title, synonyms);
            let tags = cache.ids(&mut index, &doc.tags.join(" "), synonyms);
            let headings: Vec<Vec<u32>> = doc
                .sections
                .iter()
                .map(|s| cache.ids(&mut index, &s.heading, synonyms))
                .collect();
            let mut title_ids = title.clone();
            title_ids.sort_unstable();
            title_ids.dedup();
            let mut topic_ids: Vec<u32> = tags
                .iter()
                .chain(headings.iter().flatten())
                .chain(&title_ids)
                .copied()
                .collect();
            topic_ids.sort_unstable();
            topic_ids.dedup();
            index.titles.push(title_ids);
            index.topics.push(topic_ids);
            for (s, section) in doc.sections.iter().enumerate() {
                weights.clear();
                let mut len = 0.0;
                let body = cache.ids(&mut index, &section.text, synonyms);
                for (terms, weight) in [
                    (&title, TITLE_WEIGHT),
                    (&tags, TAG_WEIGHT),
                    (&headings[s], HEADING_WEIGHT),
                    (&body, 1.0),
                ] {
                    for id in terms.iter() {
                        *weights.entry(*id).or_default() += weight;
                        len += weight;
                    }
                }
                let entry = index.entries.len() as u32;
                for (id, tf) in &weights {
                    index.postings[*id as usize].push((entry, *tf));
                }
                index.entries.push(Entry {
                    doc: d as u32,
                    section: s as u32,
                    len,
                });
                total_len += len;
            }
        }
        let n = index.entries.len() as f32;
        index.average_len = if n > 0.0 { total_len / n } else { 1.0 };
        // The length-normalized term weight is fixed once the index is built, so queries only
        // multiply by IDF and add.
        let entries = &index.entries;
        let average_len = index.average_len;
        for postings in &mut index.postings {
            for (entry, tf) in postings.iter_mut() {
                let len = entries[*entry as usize].len;
                let norm = K1 * (1.0 - B + B * len / average_len);
                *tf = *tf * (K1 + 1.0) / (*tf + norm);
            }
        }
        let mut title_docs = vec![Vec::new(); index.names.len()];
        let mut topic_docs = vec![Vec::new(); index.names.len()];
        for (doc, (title, topics)) in index.titles.iter().zip(&index.topics).enumerate() {
            for id in title {
                title_docs[*id as usize].push(doc as u32);
            }
            for id in topics {
                topic_docs[*id as usize].push(doc as u32);
            }
        }
        index.title_docs = title_docs;
        index.topic_docs = topic_docs;
        let mut phrasing_postings = vec![Vec::new(); index.names.len()];
        for (phrasing, ids) in index.phrasing_terms.iter().enumerate() {
            for (id, _) in ids {
                phrasing_postings[*id as usize].push(phrasing as u32);
            }
        }
        index.phrasing_postings = phrasing_postings;
        index.phrasing_says_topic = (0..index.phrasing_terms.len() as u32)
            .map(|phrasing| {
                index.phrasing_terms[phrasing as usize]
                    .iter()
                    .any(|(id, _)| index.is_topic_of(phrasing, *id))
            })
            .collect();
        index.doc_postings = index
            .postings
            .iter()
            .map(|postings| {
                let mut docs: Vec<u32> = postings
                    .iter()
                    .map(|(entry, _)| entries[*entry as usize].doc)
                    .collect();
                docs.dedup();
                docs
            })
            .collect();
        index.idf = index
            .postings
            .iter()
            .map(|p| {
                let df = p.len() as f32;
                ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
            })
            .collect();
        let mut deletions: HashMap<String, Vec<u32>, Fnv> = HashMap::default();
        for (term, id) in &index.terms {
            if term.chars().count() >= 5 {
                for variant in one_deletions(term) {
                    deletions.entry(variant).or_default().push(*id);
                }
            }
        }
        index.deletions = deletions;
        index
    }

    fn term_id(&mut self, term: String) -> u32 {
        if let Some(id) = self.terms.get(&term) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(term.clone());
        self.postings.push(Vec::new());
        self.terms.insert(term, id);
        id
    }

    pub fn sections(&self) -> usize {
        self.entries.len()
    }

    pub fn vocabulary(&self) -> usize {
        self.terms.len()
    }

    /// The highest IDF in the index: what an unknown word counts for.
    fn max_idf(&self) -> f32 {
        let n = self.entries.len() as f32;
        ((n + 0.5) / 0.5 + 1.0).ln()
    }

    /// Whether a document's title says `term` (as analyzed when the index was built).
    pub fn title_says(&self, doc: usize, term: &str) -> bool {
        self.terms
            .get(term)
            .zip(self.titles.get(doc))
            .is_some_and(|(id, title)| title.binary_search(id).is_ok())
    }

    /// A query term as the index knows it: itself, or the most common term one edit away
    /// (for words of five letters or more).
    fn known(&self, term: &str) -> Option<u32> {
        if let Some(id) = self.terms.get(term) {
            return Some(*id);
        }
        if term.chars().count() < 5 {
            return None;
        }
        let mut candidates: Vec<u32> = Vec::new();
        for probe in std::iter::once(term.to_string()).chain(one_deletions(term)) {
            if let Some(ids) = self.deletions.get(&probe) {
                candidates.extend(ids);
            }
            if let Some(id) = self.terms.get(&probe) {
                candidates.push(*id);
            }
        }
        candidates
            .into_iter()
            .filter(|id| crate::fuzzy::distance(term, &self.names[*id as usize], 1).is_some())
            .max_by_key(|id| self.postings[*id as usize].len())
    }

    /// The best sections for these query terms, best first. A section's coverage is the
    /// share of the query its whole document matches (title, tags and every section), since
    /// a question's words are often spread over a document.
    pub fn search(&self, query: &[(String, f32)], limit: usize) -> Vec<Scored> {
        // Each term once, at its highest weight.
        let mut terms: Vec<(&String, f32)> = query.iter().map(|(t, w)| (t, *w)).collect();
        terms.sort_by(|a, b| a.0.cmp(b.0).then(b.1.total_cmp(&a.1)));
        terms.dedup_by(|later, earlier| later.0 == earlier.0);
        // (term id, its IDF times its weight, whether it counts in the query's total).
        let mut known: Vec<(u32, f32, bool)> = Vec::new();
        // The positions in `known` of topics read from a described situation, a bit each.
        let mut situational = 0_u64;
        let mut total_idf = 0.0;
        // The query's weight as phrasings see it: a word only phrasings use is a rare word.
        let mut phrasing_query_weight = 0.0;
        let unknown_weight = self.max_idf() * UNKNOWN_WORD_WEIGHT;
        for (term, weight) in terms {
            let counted = weight != BONUS_WEIGHT;
            match self.known(term) {
                Some(id) => {
                    if known.iter().any(|(k, _, _)| *k == id) || known.len() >= MAX_QUERY_TERMS {
                        continue;
                    }
                    let idf = self.idf[id as usize] * weight.max(1.0);
                    if counted {
                        phrasing_query_weight += idf;
                        total_idf += if self.postings[id as usize].is_empty() {
                            // Only phrasings use it: to the documents' text it is unknown.
                            unknown_weight * weight
                        } else {
                            idf
                        };
                    }
                    // Fewer than MAX_QUERY_TERMS (64) are known, so the bit fits.
                    if weight == SITUATION_WEIGHT {
                        situational |= 1 << known.len();
                    }
                    known.push((id, idf, counted));
                }
                // A topic from the symptom table that no document has is the table's word,
                // not the person's: it says nothing about the documents.
                None if weight == SITUATION_WEIGHT => {}
                // A word no document uses says the question may be about something else.
                None => {
                    total_idf += unknown_weight * weight;
                    phrasing_query_weight += unknown_weight * weight;
                }
            }
        }
        if known.is_empty() || total_idf <= 0.0 {
            return Vec::new();
        }
        let phrased = self.phrasing_matches(&known, phrasing_query_weight);
        // Dense arrays, not maps: a common word touches most sections.
        let mut scores = vec![0.0_f32; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        let documents = self.titles.len();
        // Per document, one bit per query term: used anywhere / in title, tags or headings.
        let mut used = vec![0_u64; documents];
        let mut on_topic = vec![0_u64; documents];
        let mut title_said = vec![0_u8; documents];
        for (position, (id, idf, _)) in known.iter().enumerate() {
            let id = *id as usize;
            for (entry, weight) in &self.postings[id] {
                let slot = &mut scores[*entry as usize];
                if *slot == 0.0 {
                    touched.push(*entry);
                }
                *slot += idf * weight;
            }
            for doc in &self.doc_postings[id] {
                used[*doc as usize] |= 1 << position;
            }
            for doc in &self.topic_docs[id] {
                on_topic[*doc as usize] |= 1 << position;
            }
            for doc in &self.title_docs[id] {
                title_said[*doc as usize] = title_said[*doc as usize].saturating_add(1);
            }
        }
        // Coverage: the query's information the document matches, a word only in its body
        // counting for less than one in its title, tags or headings; none at all without one
        // of those (a word in passing is not what a document is about).
        let coverage = |doc: usize| {
            if on_topic[doc] == 0 {
                return 0.0;
            }
            let mut bits = used[doc];
            let mut matched = 0.0;
            while bits != 0 {
                let position = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let idf = known[position].1;
                matched += if on_topic[doc] & (1 << position) != 0 {
                    idf
                } else {
                    idf * BODY_ONLY_WEIGHT
                };
            }
            (matched / total_idf).min(1.0)
        };
        // The share of a document's title the query says: "set up MFA" is the MFA set-up
        // page more than the new-phone page that also mentions setting up MFA.
        let title_bonus = |doc: usize| {
            let title = self.titles[doc].len();
            if title == 0 {
                return 1.0;
            }
            1.0 + TITLE_BONUS * f32::from(title_said[doc]) / title as f32
        };
        // The best `limit` sections, kept in a small heap while scanning: sorting every
        // touched section would cost more than scoring them. Scores are never negative, so
        // their bit patterns order like the numbers; ties go to the earlier section.
        let mut per_doc = vec![(f32::NAN, 0.0_f32); documents];
        let mut best: std::collections::BinaryHeap<
            std::cmp::Reverse<(u32, std::cmp::Reverse<u32>)>,
        > = std::collections::BinaryHeap::with_capacity(limit + 1);
        for entry in touched {
            let e = self.entries[entry as usize];
            let doc = e.doc as usize;
            if per_doc[doc].0.is_nan() {
                per_doc[doc] = (coverage(doc), title_bonus(doc));
            }
            let score = scores[entry as usize]
                * per_doc[doc].1
                * (1.0 + LEAD_BONUS / (1.0 + e.section as f32));
            let key = std::cmp::Reverse((score.to_bits(), std::cmp::Reverse(entry)));
            if best.len() < limit {
                best.push(key);
            } else if best.peek().is_some_and(|worst| key < *worst) {
                best.pop();
                best.push(key);
            }
        }
        let mut hits: Vec<Scored> = best
            .into_iter()
            .map(|std::cmp::Reverse((bits, std::cmp::Reverse(entry)))| {
                let e = self.entries[entry as usize];
                Scored {
                    doc: e.doc as usize,
                    section: e.section as usize,
                    score: f32::from_bits(bits),
                    coverage: per_doc[e.doc as usize].0,
                    phrasing: None,
                    matched: used[e.doc as usize],
                    situation: used[e.doc as usize] & situational != 0,
                }
            })
            .collect();
        self.lift_phrased(&mut hits, &phrased);
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.doc.cmp(&b.doc))
                .then(a.section.cmp(&b.section))
        });
        hits.truncate(limit);
        hits
    }
}

impl Index {
    /// Per document, its phrasing closest to the query, when close enough: (document,
    /// phrasing, similarity). Similarity is the smaller of the shares of the query's and of the
    /// phrasing's information (by IDF) they have in common, so a short question inside a long
    /// phrasing, or a phrasing's one word inside a long message, is no match.
    fn phrasing_matches(
        &self,
        known: &[(u32, f32, bool)],
        query_weight: f32,
    ) -> Vec<(usize, usize, f32)> {
        if known
            .iter()
            .all(|(id, _, _)| self.phrasing_postings[*id as usize].is_empty())
        {
            return Vec::new();
        }
        // The information each phrasing shares with the query, dense: phrasings are few; and
        // whether what is shared includes a word its document is about.
        let mut shared = vec![(0.0_f32, false); self.phrasing_terms.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (id, weighted_idf, _) in known.iter().filter(|(_, _, counted)| *counted) {
            for phrasing in &self.phrasing_postings[*id as usize] {
                // A term counts at the lower of its weights in the two.
                let own = self.phrasing_terms[*phrasing as usize]
                    .iter()
                    .find(|(term, _)| term == id)
                    .map_or(0.0, |(_, weight)| self.idf[*id as usize] * weight);
                let (common, topic) = &mut shared[*phrasing as usize];
                if *common == 0.0 {
                    touched.push(*phrasing);
                }
                *common += weighted_idf.min(own);
                *topic = *topic || self.is_topic_of(*phrasing, *id);
            }
        }
        let mut best: Vec<(usize, usize, f32)> = Vec::new();
        for phrasing in touched {
            // A phrasing that says what its document is about ("the wifi in the east wing
            // drops") matches only a message that says it too, not one that shares the rest
            // ("the heating in the east wing"). One that never says it ("HR's automated
            // message never came") is matched on its own words, as before.
            let (common, shares_topic) = shared[phrasing as usize];
            if !shares_topic && self.phrasing_says_topic[phrasing as usize] {
                continue;
            }
            let own: f32 = self.phrasing_terms[phrasing as usize]
                .iter()
                .map(|(id, weight)| self.idf[*id as usize] * weight)
                .sum();
            if own <= 0.0 || query_weight <= 0.0 {
                continue;
            }
            let similarity = (common / query_weight).min(common / own);
            if similarity < PHRASING_MATCH {
                continue;
            }
            let doc = self.phrasing_docs[phrasing as usize] as usize;
            match best.iter_mut().find(|(d, _, _)| *d == doc) {
                Some(slot)
                    if slot.2 < similarity
                        || (slot.2 == similarity && slot.1 > phrasing as usize) =>
                {
                    *slot = (doc, phrasing as usize, similarity);
                }
                Some(_) => {}
                None => best.push((doc, phrasing as usize, similarity)),
            }
        }
        best
    }

    /// Whether `term` is one of the words the phrasing's document says it is about (its
    /// title, tags or headings).
    fn is_topic_of(&self, phrasing: u32, term: u32) -> bool {
        let doc = self.phrasing_docs[phrasing as usize] as usize;
        self.topics
            .get(doc)
            .is_some_and(|topics| topics.binary_search(&term).is_ok())
    }

    /// A document a phrasing matched covers the query at least as much as the phrasing, and
    /// its best section (or its first, when its text matched nothing) rises to the top,
    /// higher the closer the phrasing.
    fn lift_phrased(&self, hits: &mut Vec<Scored>, phrased: &[(usize, usize, f32)]) {
        if phrased.is_empty() {
            return;
        }
        let top = hits
            .iter()
            .map(|h| h.score)
            .fold(0.0_f32, f32::max)
            .max(1.0);
        for (doc, phrasing, similarity) in phrased {
            // An admin said this question is that document's: at equal closeness, it wins.
            let taught = if self.phrasing_learned[*phrasing] {
                LEARNED_BONUS
            } else {
                0.0
            };
            let lifted = top * (0.5 + similarity + taught);
            match hits
                .iter_mut()
                .filter(|h| h.doc == *doc)
                .max_by(|a, b| a.score.total_cmp(&b.score))
            {
                Some(hit) => {
                    hit.score = hit.score.max(lifted);
                    hit.coverage = hit.coverage.max(*similarity);
                    hit.phrasing = Some(*phrasing);
                }
                None => hits.push(Scored {
                    doc: *doc,
                    section: 0,
                    score: lifted,
                    coverage: *similarity,
                    phrasing: Some(*phrasing),
                    matched: 0,
                    situation: false,
                }),
            }
            for hit in hits.iter_mut().filter(|h| h.doc == *doc) {
                hit.coverage = hit.coverage.max(*similarity);
            }
        }
    }
}

/// How much a learned phrasing adds to the lift of a document's own `questions`.
const LEARNED_BONUS: f32 = 0.1;

/// How close a question must be to one of a document's phrasings to count as asking it.
const PHRASING_MATCH: f32 = 0.6;

/// Query terms beyond this many are ignored (a pasted paragraph is not a question).
const MAX_QUERY_TERMS: usize = 64;
/// What a word no document uses counts for, as a share of the highest IDF.
const UNKNOWN_WORD_WEIGHT: f32 = 0.5;
/// What a query word found only in a document's body (not its title, tags or headings)
/// counts for.
const BODY_ONLY_WEIGHT: f32 = 0.5;
/// How much being first in its document adds to a section's score (halved for the second,
/// and so on): a document usually opens with its main answer.
const LEAD_BONUS: f32 = 0.2;
/// How much a fully said title adds to a section's score.
const TITLE_BONUS: f32 = 0.5;

fn one_deletions(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    (0..chars.len())
        .map(|i| chars[..i].iter().chain(&chars[i + 1..]).collect::<String>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_fold_the_ways_people_say_it() {
        let s = Synonyms::new(&[("sso".into(), vec!["single sign-on".into()])]);
        let a = |t: &str| analyze(t, &s);
        assert_eq!(a("I can't log in"), a("cannot sign-in"));
        assert!(a("login problem").contains(&"signin".to_string()));
        for t in ["2FA", "MFA", "two-factor", "Okta Verify", "authenticator"] {
            assert_eq!(a(t), vec!["mfa"], "{t}");
        }
        for t in ["locked", "lockout", "locked out"] {
            assert_eq!(a(t), vec!["lockout"], "{t}");
        }
        for t in ["pw", "pwd", "password", "passcode"] {
            assert_eq!(a(t), vec!["password"], "{t}");
        }
        assert_eq!(a("remote access"), a("VPN"));
        assert_eq!(a("single sign-on"), vec!["sso"], "a team's own synonym");
        assert_eq!(a("Resetting passwords"), vec!["reset", "password"]);
        // A phrase's last word may be plural; its others may not.
        assert_eq!(a("security keys"), a("security key"));
        assert_eq!(a("hardware keys"), vec!["securitykey"]);
        assert_ne!(a("securitys key"), vec!["securitykey"]);
        assert_eq!(a("single sign-ons"), vec!["sso"]);
        // Spellings and word forms the stemmer keeps apart.
        assert_eq!(a("licence"), a("license"));
        assert_eq!(a("password expiry"), a("passwords expire"));
        assert_eq!(a("departing"), a("leaver"));
    }

    fn index(texts: &[(&str, &str)]) -> (Index, Synonyms) {
        let synonyms = Synonyms::new(&[]);
        let docs: Vec<Doc> = texts
            .iter()
            .map(|(name, text)| {
                super::super::doc::parse(name, text, super::super::doc::Format::Markdown).unwrap()
            })
            .collect();
        (Index::build(&docs, &[], &synonyms), synonyms)
    }

    #[test]
    fn one_typo_is_forgiven_in_words_of_five_letters_or_more() {
        let (index, synonyms) = index(&[
            (
                "vpn.md",
                "# Connect to the VPN\n## Connect\nOpen Tunnelblick and approve the push.",
            ),
            (
                "printers.md",
                "# Printers\n## Toner\nOrder toner from the front desk.",
            ),
        ]);
        let best = |q: &str| {
            index
                .search(&analyze_query(q, &synonyms), 1)
                .first()
                .map(|h| h.doc)
        };
        assert_eq!(best("tunnelblikc"), Some(0), "two letters swapped");
        assert_eq!(best("tunelblick"), Some(0), "a missing letter");
        assert_eq!(best("tunnellblick"), Some(0), "an extra letter");
        assert_eq!(best("printerz"), Some(1), "a wrong letter");
        assert_eq!(best("tunelblikc"), None, "two edits are too many");
        assert_eq!(
            best("globalprotcet"),
            Some(0),
            "a slip in a synonym: GlobalProtect is the VPN"
        );
        assert_eq!(best("tonr"), None, "short words must be spelled right");
    }

    #[test]
    fn a_document_matched_only_in_passing_does_not_cover_a_question() {
        let (index, synonyms) = index(&[(
            "password-policy.md",
            "---\ntags: [password rules]\n---\n# Password rules\n## Managers\nNever share passwords in Slack.",
        )]);
        let coverage = |q: &str| {
            index
                .search(&analyze_query(q, &synonyms), 1)
                .first()
                .map_or(0.0, |h| h.coverage)
        };
        assert!(coverage("what are the password rules?") > 0.9);
        // "share" is in the body only: the slides question is not about this document.
        assert_eq!(coverage("can someone share the slides?"), 0.0);
    }

    #[test]
    fn the_built_in_symptom_table_reads_whole() {
        let synonyms = Synonyms::new(&[]);
        let mut lines = 0;
        for line in BUILTIN_SYMPTOMS.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            lines += 1;
            let (topics, situation) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{line}: no ="));
            assert!(!analyze(topics, &synonyms).is_empty(), "{line}: no topics");
            for group in parse_situation(situation).unwrap() {
                for alternative in group {
                    // Every word of the table is matched: none is lost to folding.
                    assert!(
                        !words_to_terms(&alternative, &synonyms).is_empty(),
                        "{line}: '{alternative}' comes to nothing"
                    );
                }
            }
        }
        assert_eq!(Synonyms::with_symptoms(&[], &[]).symptoms.len(), lines);
        assert!(parse_situation("phone + ")
            .unwrap_err()
            .contains("empty group"));
    }

    #[test]
    fn a_described_situation_becomes_its_topics() {
        let synonyms = Synonyms::with_symptoms(&[], &[]);
        let terms = analyze_query("my phone fell in the lake", &synonyms);
        assert!(describes_situation(&terms));
        assert!(terms.contains(&("newphone".to_string(), SITUATION_WEIGHT)));
        assert!(terms.contains(&("mfa".to_string(), SITUATION_WEIGHT)));
        // The words it was said in stay, as a bonus; the rest count as ever.
        assert!(terms.contains(&("fell".to_string(), BONUS_WEIGHT)));
        assert!(terms.contains(&("lake".to_string(), 1.0)));
        // Water damage of any kind.
        let washed = analyze_query("phone went through the washing machine", &synonyms);
        assert!(washed.contains(&("newphone".to_string(), SITUATION_WEIGHT)));
        // Every group must be said: a phone alone is no situation.
        assert!(!describes_situation(&analyze_query(
            "my phone is on the desk",
            &synonyms
        )));
        // Stop words count in a situation, and not otherwise.
        let back = analyze_query(
            "back from parental leave and my account is suspended",
            &synonyms,
        );
        assert!(describes_situation(&back), "{back:?}");
        assert!(!back.iter().any(|(t, _)| t == "and" || t == "from"));
        // A team's own line.
        let own =
            Synonyms::with_symptoms(&[], &[("vpn".into(), vec!["badge + reader|door".into()])]);
        let terms = analyze_query("the badge door rejects me", &own);
        assert!(
            terms.contains(&("vpn".to_string(), SITUATION_WEIGHT)),
            "{terms:?}"
        );
    }

    #[test]
    fn situations_from_the_eighth_and_ninth_rounds_read_as_their_topics() {
        let synonyms = Synonyms::with_symptoms(&[], &[]);
        let has = |q: &str, term: &str| {
            analyze_query(q, &synonyms)
                .iter()
                .any(|(t, w)| t == term && *w == SITUATION_WEIGHT)
        };
        // A rule about being made to change: the policy, not a reset.
        assert!(has("how often are we forced to change it?", "polici"));
        // Time off is HR's: booking leave is no leaver, coming back from it still is time away.
        let booking = analyze_query("how do I book annual leave in the HR portal", &synonyms);
        assert!(!booking.iter().any(|(t, _)| t == "leaver"), "{booking:?}");
        assert!(has(
            "back from sick leave and my account is suspended",
            "signin"
        ));
        // "approve" and "approved" stem alike: approving a push is about MFA, and never
        // reads as an app granted but missing from the dashboard.
        assert!(has("approve notifications never buzz", "mfa"));
        assert!(!has(
            "approve notifications stopped showing up",
            "dashboard"
        ));
        assert!(has(
            "I was granted salesforce but there's no icon",
            "dashboard"
        ));
        // People from outside and leavers, by role.
        assert!(has("an analyst joins my team monday", "starter"));
        assert!(has("our vendor wraps up friday", "leaver"));
    }

    /// Markdown documents from (file name, text) pairs.
    fn markdown(files: &[(&str, &str)]) -> Vec<Doc> {
        files
            .iter()
            .map(|(name, text)| {
                super::super::doc::parse(name, text, super::super::doc::Format::Markdown).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_phrasing_answers_for_its_document_and_only_when_close() {
        let synonyms = Synonyms::new(&[]);
        let docs = markdown(&[
            (
                "badge.md",
                "# Building badges\nBadges open the doors from 7 to 19.",
            ),
            (
                "vpn.md",
                "# Connect to the VPN\nOpen GlobalProtect and sign in.",
            ),
        ]);
        let phrasings = [Phrasing {
            doc: 0,
            text: "the front door beeps red at me".into(),
            learned: Some(7),
        }];
        let index = Index::build(&docs, &phrasings, &synonyms);
        let best = |q: &str| {
            index
                .search(&analyze_query(q, &synonyms), 3)
                .first()
                .copied()
        };
        let hit = best("front door beeps red").unwrap();
        assert_eq!((hit.doc, hit.phrasing), (0, Some(0)));
        assert!(hit.coverage >= PHRASING_MATCH);
        // One word of the phrasing in a long message is no match.
        assert!(best("red wine at the team dinner tonight, bring a friend")
            .is_none_or(|h| h.phrasing.is_none()));
        // Without the phrasing, the document's words alone do not reach it.
        let bare = Index::build(&docs, &[], &synonyms);
        assert!(bare
            .search(&analyze_query("front door beeps red", &synonyms), 3)
            .first()
            .is_none_or(|h| h.coverage < 0.4));
    }

    #[test]
    fn a_phrasing_that_says_its_topic_matches_only_messages_that_say_it() {
        let synonyms = Synonyms::new(&[]);
        let docs = markdown(&[
            (
                "wifi.md",
                "# Office Wi-Fi\n## Slow or dropping\nMove closer to an access point.",
            ),
            (
                "activation.md",
                "# Activation email\nIT sends it on your first day.",
            ),
        ]);
        let learned = |doc: usize, text: &str| Phrasing {
            doc,
            text: text.into(),
            learned: Some(1),
        };
        let phrasings = [
            learned(0, "wifi in the east wing drops every few minutes"),
            learned(1, "HR promised an automated message, nada"),
        ];
        let index = Index::build(&docs, &phrasings, &synonyms);
        let phrased = |q: &str| {
            index
                .search(&analyze_query(q, &synonyms), 3)
                .first()
                .and_then(|hit| hit.phrasing.map(|p| (hit.doc, p)))
        };
        // Said in other words, with its topic: the learned phrasing's document.
        assert_eq!(
            phrased("the wireless in the east wing drops every few minutes"),
            Some((0, 0))
        );
        // The same place without the topic is someone else's problem.
        assert_eq!(
            phrased("the heating in the east wing stops every few minutes"),
            None
        );
        // A phrasing with no word of its document's topics matches on its own words.
        assert_eq!(phrased("HR promised an automated message"), Some((1, 1)));
    }
}
