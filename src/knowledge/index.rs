//! The retrieval index over help-document sections: text normalization (case, punctuation,
//! light stemming, a synonym table teams can extend), BM25 with field weights (title, heading
//! and tags count more than body text), and typo tolerance (one edit on words of five letters
//! or more, through a deletion index so a query never scans the vocabulary).

use std::collections::HashMap;

use super::doc::Doc;

/// Words and phrases folded to one term, so "log in", "sign-in" and "login" meet.
const BUILTIN_SYNONYMS: &[(&str, &[&str])] = &[
    (
        "signin",
        &[
            "sign in",
            "log in",
            "login",
            "logon",
            "signin",
            "signon",
            "sign on",
            "log on",
            "logging in",
            "signing in",
        ],
    ),
    (
        "mfa",
        &[
            "mfa",
            "2fa",
            "two factor",
            "twofactor",
            "multi factor",
            "multifactor",
            "okta verify",
            "authenticator",
            "authenticators",
            "factor",
            "factors",
            "otp",
            "second factor",
            "2 factor",
        ],
    ),
    (
        "lockout",
        &["locked out", "lockout", "locked", "lock out", "unlock"],
    ),
    (
        "password",
        &["password", "passwords", "pw", "pwd", "passwd", "passcode"],
    ),
    (
        "vpn",
        &["vpn", "remote access", "globalprotect", "global protect"],
    ),
    ("wifi", &["wifi", "wi fi", "wireless"]),
    ("email", &["email", "e mail", "mail", "gmail", "outlook"]),
    (
        "app",
        &[
            "app",
            "apps",
            "application",
            "applications",
            "tile",
            "tiles",
            "chiclet",
        ],
    ),
    (
        "phone",
        &["phone", "iphone", "android", "mobile", "smartphone", "cell"],
    ),
    ("forgot", &["forgot", "forgotten", "forget", "remember"]),
    (
        "activation",
        &[
            "activation",
            "activate",
            "activated",
            "welcome email",
            "invite",
        ],
    ),
    (
        "starter",
        &[
            "new starter",
            "starter",
            "new hire",
            "joiner",
            "onboarding",
            "first day",
            "starting",
        ],
    ),
    (
        "leaver",
        &[
            "leaver",
            "leaving",
            "offboard",
            "offboarding",
            "last day",
            "departure",
            "left the company",
        ],
    ),
    ("phishing", &["phishing", "scam", "suspicious", "spam"]),
    (
        "install",
        &["install", "installed", "installing", "self service"],
    ),
];

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
        for (canonical, variants) in BUILTIN_SYNONYMS {
            for variant in *variants {
                add(canonical, variant);
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
        Self { phrases }
    }

    fn fold(&self, words: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(words.len());
        let mut i = 0;
        'next: while i < words.len() {
            for (phrase, canonical) in &self.phrases {
                if words[i..].starts_with(phrase) {
                    out.push(canonical.clone());
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

/// A light English stemmer: plurals and common verb endings.
fn stem(word: &str) -> String {
    for (suffix, keep) in [("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")] {
        if word.len() > suffix.len() + 3 {
            if let Some(stripped) = word.strip_suffix(suffix) {
                if suffix == "s" && (stripped.ends_with('s') || stripped.ends_with('u')) {
                    continue;
                }
                // "resetting" → "resett" → "reset"; "installed" keeps its "ll".
                let bytes = stripped.as_bytes();
                let doubled = matches!(suffix, "ing" | "ed")
                    && bytes.len() >= 2
                    && bytes[bytes.len() - 1] == bytes[bytes.len() - 2]
                    && !matches!(bytes[bytes.len() - 1], b'l' | b's' | b'z' | b'e' | b'o');
                if doubled {
                    return stripped[..stripped.len() - 1].to_string();
                }
                return format!("{stripped}{keep}");
            }
        }
    }
    word.to_string()
}

/// Text to index terms: words, synonyms folded, stop words dropped, stemmed.
pub fn analyze(text: &str, synonyms: &Synonyms) -> Vec<String> {
    synonyms
        .fold(&words(text))
        .into_iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
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

    /// The best sections for these query terms, best first.
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
                    if !known.iter().any(|(k, _)| *k == id) {
                        known.push((id, idf));
                        total_idf += idf;
                    }
                }
                // A word no document uses says the question is about something else.
                None => total_idf += self.max_idf(),
            }
        }
        if known.is_empty() || total_idf <= 0.0 {
            return Vec::new();
        }
        let mut scores: HashMap<u32, (f32, f32)> = HashMap::new();
        for (id, idf) in &known {
            for (entry, tf) in &self.postings[*id as usize] {
                let len = self.entries[*entry as usize].len;
                let norm = K1 * (1.0 - B + B * len / self.average_len);
                let slot = scores.entry(*entry).or_default();
                slot.0 += idf * tf * (K1 + 1.0) / (tf + norm);
                slot.1 += idf;
            }
        }
        let mut hits: Vec<Scored> = scores
            .into_iter()
            .map(|(entry, (score, matched))| {
                let e = self.entries[entry as usize];
                Scored {
                    doc: e.doc as usize,
                    section: e.section as usize,
                    score,
                    coverage: matched / total_idf,
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
