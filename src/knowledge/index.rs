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
signin = sign in, log in, login, logon, signin, signon, sign on, log on, logging in, signing in, sign into, log into, logging into, signing into, get in, access my account
mfa = mfa, 2fa, two factor, twofactor, multi factor, multifactor, okta verify, authenticator, authenticators, factor, factors, otp, second factor, 2 factor, verify app
lockout = locked out, lockout, locked, lock out, unlock, locks
password = password, passwords, pw, pwd, passwd, passcode
reset password = new password, change my password, change password, changing my password, reset my password, password reset
setup = set up, setup, re setup, reset up, setting up, configure, enrol, enroll, enrolling, enrolment, register
vpn = vpn, remote access, globalprotect, global protect
wifi = wifi, wi fi, wireless, wlan
email = email, emails, e mail, mail, gmail, outlook, mailbox, inbox
app = app, apps, application, applications, tile, tiles, chiclet
phone = phone, phones, iphone, android, mobile, smartphone, cell
newphone phone = new phone, switched phones, changed phones, changed my phone, replaced my phone, phone upgrade, upgraded my phone
forgot = forgot, forgotten, forget, remember
activation = activation, activate, activated, welcome email, invite, invitation
starter = new starter, starter, new hire, joiner, onboarding, onboard, first day, starting
leaver = leaver, leaving, offboard, offboarding, last day, departure, left the company, quitting, resigned
phishing = phishing, scam, suspicious, spam, weird email, strange email, fake email, dodgy email
missing = missing, disappeared, gone, vanished, cant find, cannot find, cant see, dont see, not showing
dashboard = dashboard, home page, homepage, okta page, okta portal
install = install, installed, installing, self service
securitykey = yubikey, yubi key, hardware key, security key
";

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "to", "of", "in", "on", "for", "is", "it", "my", "i", "me",
    "you", "your", "do", "does", "did", "how", "what", "whats", "can", "be", "with", "at", "by",
    "this", "that", "if", "are", "was", "after", "then", "so", "as", "from", "am", "get", "got",
    "im", "cant", "cannot", "not", "no", "any", "anyone", "some", "there", "here", "we", "our",
    "us", "will", "would", "should", "could", "have", "has", "had", "just", "now", "up", "out",
    "again", "please", "pls", "help", "thanks", "hi", "hey", "where", "when", "why", "who",
    "which", "keep", "keeps", "still", "need", "want", "one", "all", "its", "into", "about", "ive",
    "dont", "doesnt", "isnt", "wont", "yet", "too", "very", "really", "also", "ok", "know",
    "going", "goes", "go", "way", "thing", "things", "say", "says", "said", "tell", "like", "use",
    "using", "used", "make", "made", "see", "look", "new",
];

/// The synonym table: phrases (as word lists) folded to a canonical term, longest first.
#[derive(Clone, Debug, Default)]
pub struct Synonyms {
    phrases: Vec<(Vec<String>, String)>,
    /// The canonical terms, sorted.
    canonical: Vec<String>,
}

impl Synonyms {
    /// The built-in table plus a team's own (`[knowledge.synonyms]`: term = [variants]).
    pub fn new(extra: &[(String, Vec<String>)]) -> Self {
        let mut phrases: Vec<(Vec<String>, String)> = Vec::new();
        let mut add = |canonical: &str, variant: &str| {
            let words = words(variant);
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
        let mut canonical: Vec<String> = phrases
            .iter()
            .flat_map(|(_, c)| c.split(' ').map(str::to_string))
            .collect();
        canonical.sort();
        canonical.dedup();
        Self { phrases, canonical }
    }

    /// Whether `term` is a folded synonym (kept as is, not stemmed).
    fn is_canonical(&self, term: &str) -> bool {
        self.canonical
            .binary_search_by(|c| c.as_str().cmp(term))
            .is_ok()
    }

    fn fold(&self, words: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(words.len());
        let mut i = 0;
        'next: while i < words.len() {
            for (phrase, canonical) in &self.phrases {
                if words[i..].starts_with(phrase) {
                    out.extend(canonical.split(' ').map(str::to_string));
                    i += phrase.len();
                    continue 'next;
                }
            }
            out.push(words[i].clone());
            i += 1;
        }
        out
    }
}

/// Lower-cased words, apostrophes and hyphens inside words removed ("can't" → "cant",
/// "wi-fi" → "wifi").
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['\'', '’'], "")
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-').replace('-', " "))
        .flat_map(|w| {
            // "wi fi" from "wi-fi" stays two words only if the synonym table does not join
            // them; the fold step sees them as a phrase.
            w.split(' ').map(str::to_string).collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// English stemming (Snowball), so "resetting", "resets" and "reset" meet.
fn stem(word: &str) -> String {
    static STEMMER: std::sync::LazyLock<rust_stemmers::Stemmer> = std::sync::LazyLock::new(|| {
        rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English)
    });
    STEMMER.stem(word).into_owned()
}

/// Text to index terms: words, synonyms folded, stop words dropped (as written and as
/// stemmed, so "getting" goes with "get"), stemmed.
pub fn analyze(text: &str, synonyms: &Synonyms) -> Vec<String> {
    synonyms
        .fold(&words(text))
        .into_iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| {
            if synonyms.is_canonical(&w) {
                w
            } else {
                stem(&w)
            }
        })
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .collect()
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
}

/// BM25 over sections.
#[derive(Clone, Debug, Default)]
pub struct Index {
    entries: Vec<Entry>,
    terms: HashMap<String, u32>,
    /// Term id → term.
    names: Vec<String>,
    postings: Vec<Vec<(u32, f32)>>,
    idf: Vec<f32>,
    average_len: f32,
    /// One-letter deletions of terms of five letters or more → the terms.
    deletions: HashMap<String, Vec<u32>>,
    /// Per document: the distinct terms of its title, and of its title, tags and headings (the
    /// words its author chose to say what it is about), as sorted term ids.
    titles: Vec<Vec<u32>>,
    topics: Vec<Vec<u32>>,
}

const K1: f32 = 1.2;
const B: f32 = 0.75;
const TITLE_WEIGHT: f32 = 2.0;
const HEADING_WEIGHT: f32 = 2.0;
const TAG_WEIGHT: f32 = 2.0;

impl Index {
    pub fn build(docs: &[Doc], synonyms: &Synonyms) -> Self {
        let mut index = Index::default();
        let mut total_len = 0.0;
        for (d, doc) in docs.iter().enumerate() {
            let title = analyze(&doc.title, synonyms);
            let tags = analyze(&doc.tags.join(" "), synonyms);
            let mut title_ids: Vec<u32> = title.iter().map(|t| index.term_id(t.clone())).collect();
            title_ids.sort_unstable();
            title_ids.dedup();
            let headings: Vec<String> = doc
                .sections
                .iter()
                .flat_map(|s| analyze(&s.heading, synonyms))
                .collect();
            let mut topic_ids: Vec<u32> = tags
                .iter()
                .chain(&headings)
                .map(|t| index.term_id(t.clone()))
                .chain(title_ids.iter().copied())
                .collect();
            topic_ids.sort_unstable();
            topic_ids.dedup();
            index.titles.push(title_ids);
            index.topics.push(topic_ids);
            for (s, section) in doc.sections.iter().enumerate() {
                let mut weights: HashMap<String, f32> = HashMap::new();
                let mut len = 0.0;
                for (terms, weight) in [
                    (&title, TITLE_WEIGHT),
                    (&tags, TAG_WEIGHT),
                    (&analyze(&section.heading, synonyms), HEADING_WEIGHT),
                    (&analyze(&section.text, synonyms), 1.0),
                ] {
                    for term in terms.iter() {
                        *weights.entry(term.clone()).or_default() += weight;
                        len += weight;
                    }
                }
                let entry = index.entries.len() as u32;
                for (term, tf) in weights {
                    let id = index.term_id(term);
                    index.postings[id as usize].push((entry, tf));
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
        index.idf = index
            .postings
            .iter()
            .map(|p| {
                let df = p.len() as f32;
                ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
            })
            .collect();
        let mut deletions: HashMap<String, Vec<u32>> = HashMap::new();
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
    pub fn search(&self, query: &[String], limit: usize) -> Vec<Scored> {
        let mut terms: Vec<&String> = query.iter().collect();
        terms.sort();
        terms.dedup();
        let mut known: Vec<(u32, f32)> = Vec::new();
        let mut total_idf = 0.0;
        for term in terms {
            match self.known(term) {
                Some(id) => {
                    let idf = self.idf[id as usize];
                    if !known.iter().any(|(k, _)| *k == id) && known.len() < MAX_QUERY_TERMS {
                        known.push((id, idf));
                        total_idf += idf;
                    }
                }
                // A word no document uses says the question may be about something else.
                None => total_idf += self.max_idf() * UNKNOWN_WORD_WEIGHT,
            }
        }
        if known.is_empty() || total_idf <= 0.0 {
            return Vec::new();
        }
        let mut scores: HashMap<u32, f32> = HashMap::new();
        let mut doc_terms: HashMap<u32, u64> = HashMap::new();
        for (position, (id, idf)) in known.iter().enumerate() {
            for (entry, tf) in &self.postings[*id as usize] {
                let e = self.entries[*entry as usize];
                let norm = K1 * (1.0 - B + B * e.len / self.average_len);
                *scores.entry(*entry).or_default() += idf * tf * (K1 + 1.0) / (tf + norm);
                *doc_terms.entry(e.doc).or_default() |= 1 << position;
            }
        }
        // Coverage: the query's information the document matches, a word only in its body
        // counting for less than one in its title, tags or headings; none at all without one
        // of those (a word in passing is not what a document is about).
        let coverage = |doc: u32| {
            let bits = doc_terms.get(&doc).copied().unwrap_or_default();
            let topics = &self.topics[doc as usize];
            let mut on_topic = false;
            let matched: f32 = known
                .iter()
                .enumerate()
                .filter(|(position, _)| bits & (1 << position) != 0)
                .map(|(_, (id, idf))| {
                    if topics.binary_search(id).is_ok() {
                        on_topic = true;
                        *idf
                    } else {
                        idf * BODY_ONLY_WEIGHT
                    }
                })
                .sum();
            if on_topic {
                matched / total_idf
            } else {
                0.0
            }
        };
        // The share of a document's title the query says: "set up MFA" is the MFA set-up
        // page more than the new-phone page that also mentions setting up MFA.
        let title_match = |doc: u32| {
            let title = &self.titles[doc as usize];
            if title.is_empty() {
                return 0.0;
            }
            let said = title
                .iter()
                .filter(|id| known.iter().any(|(k, _)| k == *id))
                .count();
            said as f32 / title.len() as f32
        };
        let mut hits: Vec<Scored> = scores
            .into_iter()
            .map(|(entry, score)| {
                let e = self.entries[entry as usize];
                let coverage = coverage(e.doc);
                Scored {
                    doc: e.doc as usize,
                    section: e.section as usize,
                    score: score
                        * (1.0 + TITLE_BONUS * title_match(e.doc))
                        * (1.0 + LEAD_BONUS / (1.0 + e.section as f32)),
                    coverage,
                }
            })
            .collect();
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
    }
}
