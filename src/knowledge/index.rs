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

/// Words too common to say what a question is about.
pub const STOP_WORDS: &[&str] = &[
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
    /// First word → the phrases starting with it (indexes into `phrases`, longest first), so
    /// folding a word costs one lookup.
    by_first_word: HashMap<String, Vec<usize>>,
    /// The canonical terms, sorted.
    canonical: Vec<String>,
    /// One-word variants of five letters or more, with their length in characters and term.
    single_words: Vec<(String, usize, String)>,
}

impl Synonyms {
    /// The built-in table plus a team's own (`[knowledge.synonyms]`: term = [variants]).
    pub fn new(extra: &[(String, Vec<String>)]) -> Self {
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
        }
    }

    /// Whether `term` is a folded synonym (kept as is, not stemmed).
    fn is_canonical(&self, term: &str) -> bool {
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
                    if rest.len() >= phrase.len() && phrase.iter().zip(rest).all(|(a, b)| a == b) {
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
/// five letters or more too: "globalprotcet" is the VPN), stop words dropped, stemmed.
pub fn analyze(text: &str, synonyms: &Synonyms) -> Vec<String> {
    let lower = lower(text);
    let words: Vec<&str> = words(&lower).collect();
    let mut out = Vec::with_capacity(words.len());
    synonyms.fold(&words, |word, folded| {
        if !folded && word.chars().count() >= 5 && !STOP.contains(word) {
            if let Some(canonical) = synonyms.near(word) {
                out.extend(canonical.split(' ').map(str::to_string));
                return;
            }
        }
        let canonical = folded || synonyms.is_canonical(word);
        if let Some(term) = term(word, canonical) {
            out.push(term);
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
}

const K1: f32 = 1.2;
const B: f32 = 0.75;
const TITLE_WEIGHT: f32 = 2.0;
const HEADING_WEIGHT: f32 = 2.0;
const TAG_WEIGHT: f32 = 2.0;

impl Index {
    pub fn build(docs: &[Doc], synonyms: &Synonyms) -> Self {
        let mut index = Index::default();
        let mut cache = TermCache::default();
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
        // Dense arrays, not maps: a common word touches most sections.
        let mut scores = vec![0.0_f32; self.entries.len()];
        let mut touched: Vec<u32> = Vec::new();
        let documents = self.titles.len();
        // Per document, one bit per query term: used anywhere / in title, tags or headings.
        let mut used = vec![0_u64; documents];
        let mut on_topic = vec![0_u64; documents];
        let mut title_said = vec![0_u8; documents];
        for (position, (id, idf)) in known.iter().enumerate() {
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
            matched / total_idf
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
                }
            })
            .collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.doc.cmp(&b.doc))
                .then(a.section.cmp(&b.section))
        });
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

    fn index(texts: &[(&str, &str)]) -> (Index, Synonyms) {
        let synonyms = Synonyms::new(&[]);
        let docs: Vec<Doc> = texts
            .iter()
            .map(|(name, text)| {
                super::super::doc::parse(name, text, super::super::doc::Format::Markdown).unwrap()
            })
            .collect();
        (Index::build(&docs, &synonyms), synonyms)
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
                .search(&analyze(q, &synonyms), 1)
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
                .search(&analyze(q, &synonyms), 1)
                .first()
                .map_or(0.0, |h| h.coverage)
        };
        assert!(coverage("what are the password rules?") > 0.9);
        // "share" is in the body only: the slides question is not about this document.
        assert_eq!(coverage("can someone share the slides?"), 0.0);
    }
}
