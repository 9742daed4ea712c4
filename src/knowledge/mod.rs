//! The help-document store behind the virtual assistant: documents from a folder (Markdown
//! with front matter, plain text, HTML) and from intranet pages (cached on disk), split into
//! sections and indexed for retrieval; answers that quote the best section and cite it; and
//! the restraint that keeps the assistant quiet when a message is not an IT question or no
//! document fits. The store reloads in place ([`Knowledge::reload`]) on a folder change or
//! SIGHUP; a broken file is reported by name and the rest stay served.
//!
//! * [`doc`]: parsing one document into metadata and sections.
//! * [`index`]: normalization, synonyms, typo tolerance, BM25 over sections.
//! * [`semantic`]: optional embeddings, mixed with BM25 when configured.
//! * [`classifier`]: which document a message is about, learned from the documents.
//! * [`lexical`]: that classifier over the documents' spelling, with no model.
//! * [`sources`]: the folder, web pages and their cache, change detection.
//! * [`watch`]: page fetching, change detection and SIGHUP reloads while running.
//! * [`eval`]: the labelled help-channel set and its figures.

pub mod classifier;
pub mod doc;
pub mod eval;
pub mod index;
pub mod lexical;
pub mod semantic;
pub mod sources;
pub mod watch;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use doc::{Doc, Format};
use index::{analyze_query, describes_situation, Index, Phrasing, Scored, Synonyms};

use crate::tools::Tool;

#[derive(Debug, thiserror::Error)]
#[error("knowledge: {0}")]
pub struct KnowledgeError(pub String);

/// Where an answer came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citation {
    /// The document's title, and the section's heading when it is not the title.
    pub title: String,
    /// The link to the section (front matter `link` with the section's anchor).
    pub link: Option<String>,
    /// The file name or URL.
    pub source: String,
}

/// An answer from the help documents.
#[derive(Clone, Debug, PartialEq)]
pub struct HelpAnswer {
    /// What to show: the best section, quoted and trimmed (or a model's grounded answer).
    pub text: String,
    /// The best section first, then up to two "see also".
    pub citations: Vec<Citation>,
    /// A self-service action the best document offers (front matter `self_service`).
    pub self_service: Option<Tool>,
    /// The retrieved sections, for a model to answer from.
    pub sections: Vec<(Citation, String)>,
    /// No document answered for sure, and these two came close: "These may help".
    pub may_help: bool,
}

/// A phrasing an IT admin taught: a question people asked, and the document that answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LearnedPhrasing {
    /// Its id in the store (`help-docs --forget ID`).
    pub id: i64,
    /// The document, by its source (file name or URL).
    pub doc: String,
    pub phrasing: String,
    /// The Slack user id of the admin who taught it, and when (Unix seconds).
    pub taught_by: String,
    pub taught_at: i64,
}

impl HelpAnswer {
    /// The answer as plain text with its sources (terminal chat, the model's tool result).
    pub fn plain(&self) -> String {
        let mut text = self.text.clone();
        if self.may_help {
            let sources: Vec<String> = self
                .citations
                .iter()
                .map(|c| format!("{} ({})", c.title, c.link.as_deref().unwrap_or(&c.source)))
                .collect();
            text.push_str(&format!("\nSources: {}", sources.join("; ")));
            return text;
        }
        if let Some(best) = self.citations.first() {
            text.push_str(&format!(
                "\nSource: {}{}",
                best.title,
                best.link
                    .as_deref()
                    .map_or(format!(" ({})", best.source), |l| format!(" ({l})"))
            ));
        }
        let others: Vec<String> = self.citations[1.min(self.citations.len())..]
            .iter()
            .map(|c| c.title.clone())
            .collect();
        if !others.is_empty() {
            text.push_str(&format!("\nSee also: {}", others.join("; ")));
        }
        text
    }
}

/// What the documents have for a message: an answer, or why there is none.
#[derive(Clone, Debug)]
pub enum Reply {
    Answer(HelpAnswer),
    /// Closer in meaning to a message for another team, or small talk, than to any help text.
    OffTopic,
    /// It reads as a question or a problem, but no document answers it for sure: the best
    /// section of each of the closest documents, for a model to judge. Without one, silence.
    Unsure(HelpAnswer),
    /// No document answers it.
    Nothing,
}

/// Below these, a match is not an answer. Coverage is the share of the question's
/// information (by IDF) the best section matches; a message that reads as a question needs
/// less than one that does not.
const MIN_COVERAGE_QUESTION: f32 = 0.4;
const MIN_COVERAGE_STATEMENT: f32 = 0.5;
/// A question whose best two documents both cover at least this share of what is needed is
/// answered with both ("These may help"), when neither covers it all.
const MAY_HELP_SHARE: f32 = 0.75;
/// A question whose best document uses this many of its words (distinct terms) or more
/// answers at this share of the coverage a question needs.
const SEVERAL_WORDS: u32 = 2;
const SEVERAL_WORDS_SHARE: f32 = 0.5;
/// How much closer a message must be to an off-topic message than to every help text to get
/// no answer. Chosen on the tuned evaluation sets, where it cost no right answer with either
/// sentence model measured (docs/assistant.md).
const OFF_TOPIC_MARGIN: f32 = 0.05;
/// How many documents a model judges when none answers a question for sure: the closest four,
/// the same number of sections it reads when one does.
const UNSURE_DOCUMENTS: usize = 4;
/// The classifier over spelling answers a question nothing else answers from this
/// probability unless `[knowledge] min_confidence` says otherwise. Chosen on the tuned
/// evaluation sets (docs/assistant.md); the same as the embeddings classifier's default.
const LEXICAL_MIN_CONFIDENCE: f32 = 0.7;
/// Quotes are trimmed to this many characters, at a sentence end where possible.
const QUOTE_CHARS: usize = 600;
/// A quote shorter than this continues with the next section.
const SHORT_QUOTE_CHARS: usize = 250;

/// The documents and their index: one immutable snapshot.
#[derive(Clone, Debug, Default)]
pub struct HelpDocs {
    docs: Vec<Doc>,
    index: Index,
    synonyms: Synonyms,
    /// One unit vector per section, in index order, when embeddings are configured.
    vectors: Vec<Arc<[f32]>>,
    /// One per phrasing, in the phrasings' order; `None` for a phrasing learned since the
    /// last embedding (it matches on keywords until it is embedded).
    phrasing_vectors: Vec<Option<Arc<[f32]>>>,
    /// The documents' `questions` and the learned phrasings, in the index's order.
    phrasings: Vec<Phrasing>,
    /// Trained on the vectors once they are all there, with the off-topic messages' (see
    /// [`Self::trained`]).
    classifier: Option<Arc<classifier::Classifier>>,
    /// Trained on the sections' and phrasings' spelling the first time a question needs it
    /// (see [`Self::spelled`]); a lesson builds a new snapshot, and so trains it again.
    lexical: OnceLock<Option<Arc<lexical::Lexical>>>,
    /// The messages not for IT it learns from; `None` for the built-in ones.
    off_topic: Option<Arc<[String]>>,
    /// The probability from which its document answers (`[knowledge] min_confidence`); `None`
    /// for [`LEXICAL_MIN_CONFIDENCE`].
    min_confidence: Option<f32>,
}

/// The starter set: realistic IT help documents a team edits (`okta-agent help-docs --write`).
pub const STARTER: &[(&str, &str)] = &[
    (
        "reset-password.md",
        include_str!("starter/reset-password.md"),
    ),
    ("locked-out.md", include_str!("starter/locked-out.md")),
    ("new-phone-mfa.md", include_str!("starter/new-phone-mfa.md")),
    ("mfa-setup.md", include_str!("starter/mfa-setup.md")),
    ("vpn.md", include_str!("starter/vpn.md")),
    (
        "missing-app-tile.md",
        include_str!("starter/missing-app-tile.md"),
    ),
    (
        "request-access.md",
        include_str!("starter/request-access.md"),
    ),
    ("new-starter.md", include_str!("starter/new-starter.md")),
    ("offboarding.md", include_str!("starter/offboarding.md")),
    ("wifi.md", include_str!("starter/wifi.md")),
    (
        "email-on-phone.md",
        include_str!("starter/email-on-phone.md"),
    ),
    (
        "password-policy.md",
        include_str!("starter/password-policy.md"),
    ),
    ("phishing.md", include_str!("starter/phishing.md")),
    (
        "software-request.md",
        include_str!("starter/software-request.md"),
    ),
    (
        "activation-email.md",
        include_str!("starter/activation-email.md"),
    ),
    (
        "sign-in-problems.md",
        include_str!("starter/sign-in-problems.md"),
    ),
];

impl HelpDocs {
    pub fn new(docs: Vec<Doc>, synonyms: Synonyms) -> Self {
        Self::with_phrasings(docs, synonyms, &[])
    }

    /// The documents, with their front matter `questions` and these learned phrasings (those
    /// of documents not in the set are left out: a document removed takes its phrasings along).
    fn with_phrasings(docs: Vec<Doc>, synonyms: Synonyms, learned: &[LearnedPhrasing]) -> Self {
        let mut phrasings: Vec<Phrasing> = docs
            .iter()
            .enumerate()
            .flat_map(|(d, doc)| {
                doc.questions.iter().map(move |text| Phrasing {
                    doc: d,
                    text: text.clone(),
                    learned: None,
                })
            })
            .collect();
        for taught in learned {
            if let Some(d) = docs.iter().position(|doc| doc.source == taught.doc) {
                phrasings.push(Phrasing {
                    doc: d,
                    text: taught.phrasing.clone(),
                    learned: Some(taught.id),
                });
            }
        }
        let index = Index::build(&docs, &phrasings, &synonyms);
        Self {
            docs,
            index,
            synonyms,
            vectors: Vec::new(),
            phrasing_vectors: Vec::new(),
            phrasings,
            classifier: None,
            lexical: OnceLock::new(),
            off_topic: None,
            min_confidence: None,
        }
    }

    /// The same documents with these learned phrasings instead of the ones they had.
    pub fn with_learned(self, learned: &[LearnedPhrasing]) -> Self {
        if learned.is_empty() && self.phrasings.iter().all(|p| p.learned.is_none()) {
            return self;
        }
        // A phrasing's vector depends on its text alone: those kept keep theirs.
        let embedded: HashMap<String, Arc<[f32]>> = self
            .phrasings
            .iter()
            .zip(&self.phrasing_vectors)
            .filter_map(|(phrasing, vector)| Some((phrasing.text.clone(), vector.clone()?)))
            .collect();
        let (vectors, off_topic, min_confidence) =
            (self.vectors, self.off_topic, self.min_confidence);
        let mut docs = Self::with_phrasings(self.docs, self.synonyms, learned);
        docs.vectors = vectors;
        docs.off_topic = off_topic;
        docs.min_confidence = min_confidence;
        if !docs.vectors.is_empty() {
            docs.phrasing_vectors = docs
                .phrasings
                .iter()
                .map(|phrasing| embedded.get(&phrasing.text).cloned())
                .collect();
        }
        docs
    }

    /// The document a link points to (its `link`, with or without an anchor, or a page's URL).
    pub fn doc_linked(&self, url: &str) -> Option<&Doc> {
        let url = url.split('#').next().unwrap_or(url).trim_end_matches('/');
        self.docs
            .iter()
            .find(|doc| doc.link.as_deref() == Some(url) || doc.source.trim_end_matches('/') == url)
    }

    /// The phrasing behind a hit, when a phrasing made it.
    pub fn phrasing_of(&self, hit: &Scored) -> Option<&Phrasing> {
        self.phrasings.get(hit.phrasing?)
    }

    /// The texts to embed: one per section in index order (title, heading and text), then
    /// every phrasing in order. People ask alike far more than they write like the documents,
    /// so a question is compared with the ways people ask too, not only with the sections.
    pub fn texts_to_embed(&self) -> Vec<String> {
        self.docs
            .iter()
            .flat_map(|doc| {
                doc.sections
                    .iter()
                    .map(move |s| format!("{} — {}\n{}", doc.title, s.heading, s.text))
            })
            .chain(self.phrasings.iter().map(|p| p.text.clone()))
            .collect()
    }

    /// The same documents with the vectors of [`Self::texts_to_embed`], in its order (see
    /// [`semantic::Semantic::embed_docs`]).
    pub fn with_vectors(mut self, mut vectors: Vec<Arc<[f32]>>) -> Self {
        let phrasings = vectors.split_off(self.index.sections().min(vectors.len()));
        self.vectors = vectors;
        self.phrasing_vectors = phrasings.into_iter().map(Some).collect();
        self.classifier = None;
        self
    }

    /// The same documents with a classifier trained on every section's and phrasing's vector,
    /// and on these off-topic messages' as the class of messages not for IT. Takes a while
    /// (docs/measurements.md): call it off the async threads.
    pub fn trained(mut self, off_topic: &[Arc<[f32]>]) -> Self {
        let mut examples: Vec<(Arc<[f32]>, usize)> = Vec::new();
        if self.has_vectors() {
            let vectors = self
                .vectors
                .iter()
                .map(Some)
                .chain(self.phrasing_vectors.iter().map(Option::as_ref));
            examples = vectors
                .zip(self.text_documents())
                .filter_map(|(vector, doc)| Some((vector?.clone(), doc)))
                .collect();
        }
        self.classifier =
            classifier::Classifier::train(self.docs.len(), &examples, off_topic).map(Arc::new);
        self
    }

    /// The document of each of [`Self::texts_to_embed`]'s texts, in order.
    fn text_documents(&self) -> impl Iterator<Item = usize> + '_ {
        self.docs
            .iter()
            .enumerate()
            .flat_map(|(d, doc)| std::iter::repeat_n(d, doc.sections.len()))
            .chain(self.phrasings.iter().map(|phrasing| phrasing.doc))
    }

    /// Trains the classifier over spelling now unless it is trained (otherwise the first
    /// question that needs it does); whether there is one (see
    /// [`classifier::MAX_STEP_WORK`]). Takes a while: call it off the async threads.
    pub fn train_spelling(&self) -> bool {
        self.lexical().is_some()
    }

    /// Whether the classifier over spelling has been trained (or found impossible to train):
    /// asking for it now costs nothing.
    pub fn spelling_ready(&self) -> bool {
        self.lexical.get().is_some()
    }

    /// The same documents, with these messages (not for IT) for the classifier over spelling
    /// to learn from instead of the built-in ones (`[knowledge] off_topic`).
    pub fn with_off_topic(mut self, off_topic: Vec<String>) -> Self {
        self.off_topic = Some(off_topic.into());
        self.lexical = OnceLock::new();
        self
    }

    /// The same documents, their classifier over spelling answering from this probability
    /// instead of [`LEXICAL_MIN_CONFIDENCE`] (`[knowledge] min_confidence`; 1 turns it off).
    pub fn with_min_confidence(mut self, min_confidence: f32) -> Self {
        self.min_confidence = Some(min_confidence);
        self
    }

    /// The probability from which the classifier over spelling answers.
    fn spelling_confidence(&self) -> f32 {
        self.min_confidence.unwrap_or(LEXICAL_MIN_CONFIDENCE)
    }

    /// The classifier over the documents' spelling, trained on first use (docs/measurements.md
    /// has the time it takes). None without messages that are not for IT: it could not tell
    /// them apart, and would send every question to some document.
    fn lexical(&self) -> Option<&lexical::Lexical> {
        self.lexical
            .get_or_init(|| {
                let texts = self.texts_to_embed();
                let examples: Vec<(&str, usize)> = texts
                    .iter()
                    .map(String::as_str)
                    .zip(self.text_documents())
                    .collect();
                let built_in;
                let off_topic: &[String] = match &self.off_topic {
                    Some(configured) => configured,
                    None => {
                        built_in = semantic::built_in_off_topic();
                        &built_in
                    }
                };
                if off_topic.is_empty() {
                    return None;
                }
                let off_topic: Vec<&str> = off_topic.iter().map(String::as_str).collect();
                lexical::Lexical::train(self.docs.len(), &examples, &off_topic).map(Arc::new)
            })
            .as_deref()
    }

    /// Whether the classifier has been trained on the vectors in place.
    pub fn is_trained(&self) -> bool {
        self.classifier.is_some()
    }

    /// Whether every section has a vector.
    pub fn has_vectors(&self) -> bool {
        !self.vectors.is_empty() && self.vectors.len() == self.index.sections()
    }

    /// Whether some section or phrasing has no vector yet (one learned since the last
    /// embedding).
    pub fn lacks_vectors(&self) -> bool {
        !self.has_vectors()
            || self.phrasing_vectors.len() != self.phrasings.len()
            || self.phrasing_vectors.iter().any(Option::is_none)
    }

    /// The starter set, with the built-in synonyms: the demo's documents.
    pub fn starter() -> Self {
        let docs = STARTER
            .iter()
            .filter_map(|(name, text)| doc::parse(name, text, Format::Markdown).ok())
            .collect();
        Self::new(docs, Synonyms::new(&[]))
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn sections(&self) -> usize {
        self.index.sections()
    }

    pub fn docs(&self) -> &[Doc] {
        &self.docs
    }

    /// Distinct index terms.
    pub fn vocabulary(&self) -> usize {
        self.index.vocabulary()
    }

    /// The best sections for a question, best first.
    pub fn search(&self, question: &str, limit: usize) -> Vec<Scored> {
        self.search_terms(&analyze_query(question, &self.synonyms), limit)
    }

    fn search_terms(&self, terms: &[(String, f32)], limit: usize) -> Vec<Scored> {
        self.index.search(terms, limit)
    }

    /// Whether a message reads as a question or a problem: said so ([`reads_as_question`]),
    /// or a situation from the symptom table ("my phone fell in the lake").
    fn reads_as_problem(&self, message: &str, terms: &[(String, f32)]) -> bool {
        reads_as_question(message) || describes_situation(terms)
    }

    fn citation(&self, hit: &Scored) -> Citation {
        let doc = &self.docs[hit.doc];
        let section = &doc.sections[hit.section];
        let title = if section.heading.is_empty() || section.heading == doc.title {
            doc.title.clone()
        } else {
            format!("{} › {}", doc.title, section.heading)
        };
        Citation {
            title,
            link: doc.link_to(section),
            source: doc.source.clone(),
        }
    }

    /// An answer to a help-channel message, or `None` when it is not an IT question this
    /// store can answer: chatter, off-topic, or no section matches enough of it.
    pub fn answer(&self, message: &str) -> Option<HelpAnswer> {
        self.answer_with(message, None)
    }

    /// [`Self::answer`], with the question's embedding and how its meaning counts, when
    /// semantic recall is configured.
    pub fn answer_with(
        &self,
        message: &str,
        semantic: Option<semantic::Meaning>,
    ) -> Option<HelpAnswer> {
        match self.reply_with(message, semantic) {
            Reply::Answer(answer) => Some(answer),
            Reply::Unsure(_) | Reply::OffTopic | Reply::Nothing => None,
        }
    }

    /// [`Self::reply_with`]'s answer, once the message is ranked and not off topic.
    fn answer_ranked(&self, message: &str, ranked: &Ranked) -> Option<HelpAnswer> {
        let Ranked {
            terms,
            question,
            needed,
            hits,
            ..
        } = ranked;
        let (question, needed) = (*question, *needed);
        let best = hits.first()?;
        if !question && thanks(message) {
            return None;
        }
        // A question that names one document's subject ("which vpn client do we use and where
        // do I download it?") is about that document, whatever else it says, when no other
        // document comes close.
        // Asked only when the rules below need it.
        let named = || {
            question
                && best.coverage >= needed * MAY_HELP_SHARE
                && hits
                    .iter()
                    .find(|hit| hit.doc != best.doc)
                    .is_none_or(|hit| hit.coverage < needed * SEVERAL_WORDS_SHARE)
                && self.names_subject(terms, best.doc)
        };
        if best.coverage < needed {
            if !question {
                return None;
            }
            if let Some(leads) = self.may_help(hits, needed) {
                return Some(leads);
            }
            // A question that tells its story first ("started Monday, recruiter said I'd get
            // a link, nothing yet, is that normal?") covers little of itself with any one
            // document, but several of its words in one document are not a coincidence.
            let several = (best.matched.count_ones() >= SEVERAL_WORDS || best.situation)
                && best.coverage >= needed * SEVERAL_WORDS_SHARE;
            if !several && !named() {
                return None;
            }
        }
        // A coincidence, unless the question names the document's subject.
        if coincidence(best, terms) && !named() {
            return None;
        }
        Some(self.answer_from(best, hits, needed))
    }

    /// The answer from `best`'s section on, citing up to two more documents among `hits` that
    /// come close.
    fn answer_from(&self, best: &Scored, hits: &[Scored], needed: f32) -> HelpAnswer {
        let doc = &self.docs[best.doc];
        let mut citations = vec![self.citation(best)];
        let mut seen = vec![best.doc];
        for hit in hits.iter().filter(|hit| hit.doc != best.doc) {
            if citations.len() == 3 {
                break;
            }
            if seen.contains(&hit.doc) || hit.coverage < needed / 2.0 {
                continue;
            }
            seen.push(hit.doc);
            let other = &self.docs[hit.doc];
            citations.push(Citation {
                title: other.title.clone(),
                link: other.link.clone(),
                source: other.source.clone(),
            });
        }
        let sections = hits
            .iter()
            .take(4)
            .map(|h| {
                (
                    self.citation(h),
                    self.docs[h.doc].sections[h.section].text.clone(),
                )
            })
            .collect();
        HelpAnswer {
            text: quote(&doc.sections[best.section..]),
            citations,
            self_service: doc.self_service,
            sections,
            may_help: false,
        }
    }

    /// What the documents have for a message: [`Self::answer_with`]'s answer, or why there is
    /// none.
    pub fn reply_with(&self, message: &str, semantic: Option<semantic::Meaning>) -> Reply {
        self.reply_ranked(message, semantic, &self.rank(message, semantic))
    }

    /// [`Self::reply_with`], once the message is ranked.
    fn reply_ranked(
        &self,
        message: &str,
        semantic: Option<semantic::Meaning>,
        ranked: &Ranked,
    ) -> Reply {
        if self.off_topic(semantic, ranked).is_some() {
            return Reply::OffTopic;
        }
        if let Some(answer) = self.answer_ranked(message, ranked) {
            return Reply::Answer(answer);
        }
        if let Some(answer) = self.classified(ranked, semantic) {
            return Reply::Answer(answer);
        }
        if let Some(answer) = self.spelled(message, ranked) {
            return Reply::Answer(answer);
        }
        self.unsure(ranked).map_or(Reply::Nothing, Reply::Unsure)
    }

    /// The classifier's verdict on a message, when its vector is given and the classifier is
    /// trained. Asked only when the rules leave a question unanswered, or to explain: most
    /// messages never need it.
    fn verdict(&self, semantic: Option<semantic::Meaning>) -> Option<classifier::Verdict> {
        let vector = semantic.filter(|_| self.has_vectors())?.vector;
        self.classifier.as_ref()?.classify(vector)
    }

    /// The answer of the document the classifier is sure a question is about, for a question
    /// the rules above leave unanswered: its best section among the hits, or its first. Only
    /// questions, as with the model's judgement: a statement the rules leave alone is rarely
    /// one for IT.
    fn classified(
        &self,
        ranked: &Ranked,
        semantic: Option<semantic::Meaning>,
    ) -> Option<HelpAnswer> {
        let confidence = semantic?.recall.min_confidence;
        if !ranked.question || confidence >= 1.0 {
            return None;
        }
        let Some(classifier::Verdict::Doc(doc, probability)) = self.verdict(semantic) else {
            return None;
        };
        if probability < confidence {
            return None;
        }
        Some(self.answer_of(doc, ranked))
    }

    /// The answer of the document the classifier over spelling is sure a question is about,
    /// for a question nothing above answers: the same restraint as [`Self::classified`], with
    /// no model.
    fn spelled(&self, message: &str, ranked: &Ranked) -> Option<HelpAnswer> {
        let confidence = self.spelling_confidence();
        if !ranked.question || confidence >= 1.0 {
            return None;
        }
        let classifier::Verdict::Doc(doc, probability) = self.lexical()?.classify(message)? else {
            return None;
        };
        // The rules' own reason for silence stands: one word in common with a longer message
        // ("locked myself out of the house") is a coincidence, however the pieces of that
        // word lean.
        let coincidental = ranked
            .hits
            .iter()
            .find(|hit| hit.doc == doc)
            .is_some_and(|hit| coincidence(hit, &ranked.terms));
        (probability >= confidence && !coincidental).then(|| self.answer_of(doc, ranked))
    }

    /// `doc`'s answer to a ranked question: from its best section among the hits, or its
    /// first.
    fn answer_of(&self, doc: usize, ranked: &Ranked) -> HelpAnswer {
        let best = ranked
            .hits
            .iter()
            .find(|hit| hit.doc == doc)
            .cloned()
            .unwrap_or(Scored {
                doc,
                section: 0,
                score: 0.0,
                coverage: 0.0,
                phrasing: None,
                matched: 0,
                situation: false,
            });
        self.answer_from(&best, &ranked.hits, ranked.needed)
    }

    /// The closest documents to a question that none answers for sure: the best section of
    /// each of the [`UNSURE_DOCUMENTS`] closest, for a model to judge, when the message reads
    /// as a question or a problem and one of them shares a word with it. Statements and
    /// messages no document touches get `None`: nothing to judge.
    fn unsure(&self, ranked: &Ranked) -> Option<HelpAnswer> {
        let Ranked { question, hits, .. } = ranked;
        if !question || hits.iter().all(|hit| hit.matched == 0) {
            return None;
        }
        let mut closest: Vec<&Scored> = Vec::with_capacity(UNSURE_DOCUMENTS);
        for hit in hits {
            if closest.len() == UNSURE_DOCUMENTS {
                break;
            }
            if !closest.iter().any(|seen| seen.doc == hit.doc) {
                closest.push(hit);
            }
        }
        let best = closest.first()?;
        Some(HelpAnswer {
            text: String::new(),
            citations: vec![self.citation(best)],
            self_service: None,
            sections: closest
                .iter()
                .map(|hit| {
                    (
                        self.citation(hit),
                        self.docs[hit.doc].sections[hit.section].text.clone(),
                    )
                })
                .collect(),
            may_help: false,
        })
    }

    /// The message's terms, whether it reads as a question or a problem, the coverage that
    /// makes an answer, and the best sections: BM25's, blended with the similarities when the
    /// question's vector is given.
    fn rank(&self, message: &str, semantic: Option<semantic::Meaning>) -> Ranked {
        let terms = analyze_query(message, &self.synonyms);
        let question = self.reads_as_problem(message, &terms);
        let needed = if question {
            MIN_COVERAGE_QUESTION
        } else {
            MIN_COVERAGE_STATEMENT
        };
        let mut hits = self.search_terms(&terms, 50);
        let mut closest_help = None;
        if let Some(semantic::Meaning { vector, recall, .. }) =
            semantic.filter(|_| self.has_vectors())
        {
            // A statement needs a closer match than a question, as with coverage.
            let required = if question {
                recall.min_similarity
            } else {
                recall.min_similarity + 0.1
            };
            let (blended, closest) = self.blend(hits, vector, recall.weight, required, needed);
            hits = blended;
            closest_help = Some(closest);
        }
        hits.truncate(8);
        Ranked {
            terms,
            question,
            needed,
            hits,
            closest_help,
        }
    }

    /// Whether the message says the subject of a document's title: a word of the title that
    /// the synonym table folds ("VPN", "locked out"), not a word any title may hold ("report",
    /// "office", "new").
    fn names_subject(&self, terms: &[(String, f32)], doc: usize) -> bool {
        terms.iter().any(|(term, weight)| {
            *weight > 0.0 && self.synonyms.is_canonical(term) && self.index.title_says(doc, term)
        })
    }

    /// The best two documents, when both come close to answering and neither does alone.
    fn may_help(&self, hits: &[Scored], needed: f32) -> Option<HelpAnswer> {
        let bar = needed * MAY_HELP_SHARE;
        let best = hits.first().filter(|hit| hit.coverage >= bar)?;
        let second = hits
            .iter()
            .find(|hit| hit.doc != best.doc)
            .filter(|hit| hit.coverage >= bar)?;
        // Together they must match two words of it at least: one word in common with both is a
        // coincidence, not a lead ("a charger for my phone?").
        if (best.matched | second.matched).count_ones() < 2 {
            return None;
        }
        let lines: Vec<String> = [best, second]
            .iter()
            .map(|hit| {
                let doc = &self.docs[hit.doc];
                format!(
                    "• {}: {}",
                    doc.title,
                    first_sentence(&doc.sections[hit.section].text)
                )
            })
            .collect();
        Some(HelpAnswer {
            text: format!("These may help:\n{}", lines.join("\n")),
            citations: vec![self.citation(best), self.citation(second)],
            self_service: None,
            sections: [best, second]
                .iter()
                .map(|h| {
                    (
                        self.citation(h),
                        self.docs[h.doc].sections[h.section].text.clone(),
                    )
                })
                .collect(),
            may_help: true,
        })
    }
}

/// Whether a hit is one word in common with a message of three or more: a coincidence ("the
/// coffee machine is broken" and the page on broken phones), unless a phrasing or meaning
/// matched, or it is the topic of a situation the message describes (several of its words
/// together).
fn coincidence(hit: &Scored, terms: &[(String, f32)]) -> bool {
    if hit.phrasing.is_some() || hit.situation || hit.matched.count_ones() != 1 {
        return false;
    }
    let mut said: Vec<&str> = terms
        .iter()
        .filter(|(_, weight)| *weight > 0.0)
        .map(|(term, _)| term.as_str())
        .collect();
    said.sort_unstable();
    said.dedup();
    said.len() >= 3
}

/// Whether a message opens by thanking someone ("thanks so much, that worked!"): said of a
/// statement, it closes a conversation rather than asking anything.
fn thanks(message: &str) -> bool {
    let first = message
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_lowercase();
    matches!(
        first.as_str(),
        "thanks" | "thank" | "thx" | "ty" | "cheers" | "ta" | "tysm"
    )
}

/// What [`HelpDocs::rank`] found for a message.
struct Ranked {
    terms: Vec<(String, f32)>,
    question: bool,
    needed: f32,
    hits: Vec<Scored>,
    /// The similarity of the help text (section or phrasing) closest in meaning, when the
    /// question's vector was given.
    closest_help: Option<f32>,
}

/// A section's first sentence, or its first 160 characters.
fn first_sentence(text: &str) -> String {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    let sentence = &text[..end];
    if sentence.chars().count() <= 160 {
        return sentence.trim().replace('\n', " ");
    }
    let cut: String = sentence.chars().take(160).collect();
    format!("{}…", cut.trim_end().replace('\n', " "))
}

impl HelpDocs {
    /// What the assistant would do with a message, and why: the answer or the silence, the
    /// best sections with their scores and coverage, and the terms the message came down to.
    pub fn explain(&self, message: &str) -> String {
        self.explain_with(message, None)
    }

    /// [`Self::explain`] with the question's vector and how its meaning counts, as
    /// [`Self::answer_with`] answers when semantic recall is configured.
    pub fn explain_with(&self, message: &str, semantic: Option<semantic::Meaning>) -> String {
        let ranked = self.rank(message, semantic);
        let Ranked {
            terms: weighted,
            question,
            needed,
            hits,
            ..
        } = &ranked;
        let terms: Vec<&str> = weighted.iter().map(|(term, _)| term.as_str()).collect();
        let mut out = format!(
            "Terms:    {}\nReads as: {} (needs coverage {:.2})\n",
            terms.join(" "),
            if *question {
                "a question or a problem"
            } else {
                "a statement"
            },
            needed
        );
        if let Some(meaning) = semantic.filter(|_| self.has_vectors()) {
            out.push_str(&format!(
                "Meaning:  compared with the sections and the phrasings (min_similarity {:.2}, semantic_weight {:.2})\n",
                meaning.recall.min_similarity, meaning.recall.weight
            ));
            match self.verdict(semantic) {
                Some(classifier::Verdict::Doc(doc, probability)) => out.push_str(&format!(
                    "Classed:  {} ({probability:.2}; answers a question nothing else answers from {:.2})\n",
                    self.docs[doc].title, meaning.recall.min_confidence
                )),
                Some(classifier::Verdict::OffTopic(probability)) => out.push_str(&format!(
                    "Classed:  not for IT ({probability:.2})\n"
                )),
                None => {}
            }
        }
        match self.lexical().and_then(|lexical| lexical.classify(message)) {
            Some(classifier::Verdict::Doc(doc, probability)) => out.push_str(&format!(
                "Spelled:  {} ({probability:.2}; answers a question nothing else answers from {:.2})\n",
                self.docs[doc].title,
                self.spelling_confidence()
            )),
            Some(classifier::Verdict::OffTopic(probability)) => out.push_str(&format!(
                "Spelled:  not for IT ({probability:.2})\n"
            )),
            None => {}
        }
        if let Some((help, (similarity, example))) = self.off_topic(semantic, &ranked) {
            out.push_str(&format!(
                "Off topic: closer to \"{example}\" ({similarity:.2}), a message for another team or small talk, than to any help text ({help:.2})\n"
            ));
        }
        match self.reply_ranked(message, semantic, &ranked) {
            Reply::Answer(answer) => out.push_str(&format!(
                "Answer:   {}\n\n",
                answer.plain().replace('\n', "\n          ")
            )),
            Reply::Unsure(closest) => {
                let titles: Vec<String> = closest
                    .sections
                    .iter()
                    .map(|(citation, _)| citation.title.clone())
                    .collect();
                out.push_str(&format!(
                    "Answer:   none for sure; without a model the assistant stays quiet, with one it judges the closest: {}\n\n",
                    titles.join("; ")
                ));
            }
            Reply::OffTopic | Reply::Nothing => {
                out.push_str("Answer:   none; the assistant stays quiet\n\n")
            }
        }
        for hit in hits.iter().take(5) {
            out.push_str(&format!(
                "  score {:>6.2}  coverage {:.2}  {}\n",
                hit.score,
                hit.coverage,
                self.citation(hit).title
            ));
            if let Some(phrasing) = self.phrasing_of(hit) {
                let origin = match phrasing.learned {
                    Some(id) => format!("learned phrasing #{id}"),
                    None => "its questions".to_string(),
                };
                out.push_str(&format!(
                    "                                matched {origin}: \"{}\"\n",
                    phrasing.text
                ));
            }
        }
        out
    }
}

impl HelpDocs {
    /// The closest help text's similarity and the closest off-topic message, when that message
    /// is closer to it by more than [`OFF_TOPIC_MARGIN`]: the message is for another team or
    /// small talk, and gets no answer. The help texts were compared while ranking.
    fn off_topic<'a>(
        &self,
        semantic: Option<semantic::Meaning<'a>>,
        ranked: &Ranked,
    ) -> Option<(f32, (f32, &'a str))> {
        let help = ranked.closest_help?;
        let (similarity, example) = semantic?.off_topic?;
        (similarity > help + OFF_TOPIC_MARGIN).then_some((help, (similarity, example)))
    }

    /// BM25 hits and vector similarities in one ranking: the cosine similarity (a section's own
    /// or its document's closest phrasing's, whichever is higher) counts for `weight` of the
    /// score, the normalized BM25 score for the rest. A section at least `required` similar
    /// counts as covering the question (`needed`) even when its words differ; below that,
    /// coverage is BM25's. Also returns the closest help text's similarity, for the off-topic
    /// gate.
    fn blend(
        &self,
        hits: Vec<Scored>,
        question: &[f32],
        weight: f32,
        required: f32,
        needed: f32,
    ) -> (Vec<Scored>, f32) {
        let mut offsets = Vec::with_capacity(self.docs.len());
        let mut total = 0;
        for doc in &self.docs {
            offsets.push(total);
            total += doc.sections.len();
        }
        let locate = |entry: usize| {
            let doc = offsets.partition_point(|start| *start <= entry) - 1;
            (doc, entry - offsets[doc])
        };
        let similarities: Vec<f32> = self
            .vectors
            .iter()
            .map(|v| semantic::similarity(question, v))
            .collect();
        let max_score = hits.iter().map(|h| h.score).fold(0.0_f32, f32::max);
        let mut doc_coverage: HashMap<usize, f32> = Default::default();
        for hit in &hits {
            let slot = doc_coverage.entry(hit.doc).or_default();
            *slot = slot.max(hit.coverage);
        }
        let mut candidates: Vec<(usize, usize, f32, Option<usize>)> = hits
            .iter()
            .map(|h| (h.doc, h.section, h.score, h.phrasing))
            .collect();
        let mut by_similarity: Vec<usize> = (0..similarities.len()).collect();
        by_similarity.sort_by(|a, b| similarities[*b].total_cmp(&similarities[*a]));
        for entry in by_similarity.into_iter().take(8) {
            let (doc, section) = locate(entry);
            if !candidates
                .iter()
                .any(|(d, s, _, _)| *d == doc && *s == section)
            {
                candidates.push((doc, section, 0.0, None));
            }
        }
        // Each document's closest phrasing by meaning, and the documents whose phrasings come
        // closest join the candidates at their lead section.
        let mut closest: Vec<Option<(usize, f32)>> = vec![None; self.docs.len()];
        for (index, (phrasing, vector)) in self
            .phrasings
            .iter()
            .zip(&self.phrasing_vectors)
            .enumerate()
        {
            let Some(vector) = vector else { continue };
            let similarity = semantic::similarity(question, vector);
            let slot = &mut closest[phrasing.doc];
            if slot.is_none_or(|(_, best)| similarity > best) {
                *slot = Some((index, similarity));
            }
        }
        let mut by_phrasing: Vec<(usize, f32)> = closest
            .iter()
            .enumerate()
            .filter_map(|(doc, best)| best.map(|(_, similarity)| (doc, similarity)))
            .collect();
        by_phrasing.sort_by(|a, b| b.1.total_cmp(&a.1));
        let closest_help = similarities
            .iter()
            .chain(by_phrasing.first().map(|(_, similarity)| similarity))
            .fold(f32::MIN, |best, similarity| best.max(*similarity));
        for (doc, _) in by_phrasing.into_iter().take(4) {
            if !candidates.iter().any(|(d, _, _, _)| *d == doc) {
                candidates.push((doc, 0, 0.0, None));
            }
        }
        let mut blended: Vec<Scored> = candidates
            .into_iter()
            .map(|(doc, section, score, phrasing)| {
                let own = similarities[offsets[doc] + section];
                let (similarity, phrasing) = match closest[doc] {
                    Some((index, asked)) if asked > own => (
                        asked,
                        phrasing.or(Some(index).filter(|_| asked >= required)),
                    ),
                    _ => (own, phrasing),
                };
                let lexical = if max_score > 0.0 {
                    score / max_score
                } else {
                    0.0
                };
                let coverage = doc_coverage.get(&doc).copied().unwrap_or(0.0);
                Scored {
                    doc,
                    section,
                    score: (1.0 - weight) * lexical + weight * similarity,
                    coverage: if similarity >= required {
                        coverage.max(needed)
                    } else {
                        coverage
                    },
                    phrasing,
                    matched: hits.iter().find(|h| h.doc == doc).map_or(0, |h| h.matched),
                    situation: hits.iter().any(|h| h.doc == doc && h.situation),
                }
            })
            .collect();
        blended.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.doc.cmp(&b.doc))
                .then(a.section.cmp(&b.section))
        });
        (blended, closest_help)
    }
}

/// Whether a message reads as a question or a request for help (rather than chatter): a
/// question mark, a question word first, or a problem said plainly ("I can't…", "…not
/// working", "I forgot…").
pub fn reads_as_question(message: &str) -> bool {
    let lower = message.to_lowercase().replace(['’', '\''], "");
    if lower.trim_end().ends_with('?') {
        return true;
    }
    // A question word opening the message or any of its clauses: "just joined, where do I
    // begin", "got a weird email, is it real".
    let opens_with_question = |clause: &str| {
        let first = clause.split_whitespace().next().unwrap_or_default();
        matches!(
            first,
            "how"
                | "what"
                | "whats"
                | "where"
                | "why"
                | "when"
                | "who"
                | "which"
                | "can"
                | "could"
                | "is"
                | "are"
                | "do"
                | "does"
                | "did"
                | "should"
                | "any"
        )
    };
    if lower
        .split([',', '.', ';', ':', '!', '\n', '(', '–', '—'])
        .any(opens_with_question)
    {
        return true;
    }
    const PROBLEMS: &[&str] = &[
        "cant",
        "cannot",
        "unable",
        "not working",
        "doesnt work",
        "wont",
        "isnt working",
        "not getting",
        "never got",
        "didnt get",
        "lost",
        "forgot",
        "broke",
        "broken",
        "stuck",
        "error",
        "locked",
        "need",
        "help",
        "issue",
        "problem",
        "missing",
        "expired",
        "stopped",
        "keeps",
        "not syncing",
        "disappeared",
        "stolen",
        "never",
        "anymore",
        "not responding",
        "not coming",
        "isnt coming",
        "not arriving",
        "hasnt arrived",
        "wont load",
        "not loading",
        "times out",
        "timing out",
    ];
    let words = lower
        .split(|c: char| !c.is_alphanumeric())
        .collect::<Vec<_>>()
        .join(" ");
    PROBLEMS.iter().any(|p| words.contains(p))
}

/// The best section's text, trimmed to a readable length at a sentence end; a short one is
/// followed by the next section under its heading ("why it happens", then "get back in").
fn quote(sections: &[doc::Section]) -> String {
    let mut text = String::new();
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            if text.chars().count() >= SHORT_QUOTE_CHARS {
                break;
            }
            text.push_str(&format!("\n\n*{}*\n", section.heading));
        }
        text.push_str(&section.text);
    }
    if text.chars().count() <= QUOTE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(QUOTE_CHARS).collect();
    match cut.rfind(". ") {
        Some(end) if end > QUOTE_CHARS / 2 => format!("{}…", &cut[..=end]),
        _ => format!("{}…", cut.trim_end()),
    }
}

/// The live store: the current snapshot, swapped whole on reload, what the last load could
/// not read, and the embeddings when semantic recall is configured.
#[derive(Debug)]
pub struct Knowledge {
    current: RwLock<Arc<HelpDocs>>,
    sources: sources::Sources,
    problems: RwLock<Vec<String>>,
    semantic: Option<semantic::Semantic>,
    /// The phrasings learned from IT admins (kept in the store), applied to every snapshot.
    learned: RwLock<Vec<LearnedPhrasing>>,
}

/// How long a question's embedding may take before the answer goes ahead on BM25 alone.
const QUESTION_EMBEDDING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Knowledge {
    /// A fixed set (the demo, tests).
    pub fn fixed(docs: HelpDocs) -> Self {
        Self {
            current: RwLock::new(Arc::new(docs)),
            sources: sources::Sources::default(),
            problems: RwLock::new(Vec::new()),
            semantic: None,
            learned: RwLock::new(Vec::new()),
        }
    }

    /// Loads from the configured sources (a missing folder is an error; a broken file is a
    /// problem, reported by name, and skipped).
    pub fn load(sources: sources::Sources) -> Result<Self, KnowledgeError> {
        let (docs, problems) = sources.load()?;
        log_problems(&problems);
        Ok(Self {
            current: RwLock::new(Arc::new(docs)),
            sources,
            problems: RwLock::new(problems),
            semantic: None,
            learned: RwLock::new(Vec::new()),
        })
    }

    /// Adds semantic recall; sections are embedded by [`Self::refresh`] (the watcher runs it
    /// at start), and until then answers use BM25 alone.
    pub fn with_semantic(mut self, semantic: semantic::Semantic) -> Self {
        self.semantic = Some(semantic);
        self
    }

    pub fn semantic(&self) -> Option<&semantic::Semantic> {
        self.semantic.as_ref()
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<HelpDocs> {
        self.current
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// [`Self::current`], its classifier over spelling trained off the async threads when no
    /// refresh has trained it yet (the first message after start), which a large store would
    /// hold for seconds: for answering from the async threads.
    pub async fn current_trained(&self) -> Arc<HelpDocs> {
        let docs = self.current();
        if !docs.spelling_ready() {
            let training = docs.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || training.train_spelling()).await {
                tracing::warn!(error = %e, "training the classifier over spelling stopped unexpectedly");
            }
        }
        docs
    }

    /// The files the last load could not read, with why.
    pub fn problems(&self) -> Vec<String> {
        self.problems
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn sources(&self) -> &sources::Sources {
        &self.sources
    }

    /// Swaps in a snapshot that already carries the learned phrasings.
    fn install(&self, docs: HelpDocs, problems: Vec<String>) {
        if let Ok(mut slot) = self.current.write() {
            *slot = Arc::new(docs);
        }
        if let Ok(mut slot) = self.problems.write() {
            *slot = problems;
        }
    }

    /// The learned phrasings in use.
    pub fn learned(&self) -> Vec<LearnedPhrasing> {
        self.learned
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Puts these learned phrasings in place of the ones in use (the store's, after a change
    /// here or by another replica); the index is rebuilt only when they differ. Rebuilding a
    /// large set takes a while: call it off the async threads.
    pub fn set_learned(&self, learned: Vec<LearnedPhrasing>) {
        if self.learned() == learned {
            return;
        }
        let docs = (*self.current()).clone().with_learned(&learned);
        docs.train_spelling();
        match self.learned.write() {
            Ok(mut slot) => *slot = learned,
            Err(poisoned) => *poisoned.into_inner() = learned,
        }
        if let Ok(mut slot) = self.current.write() {
            *slot = Arc::new(docs);
        }
    }

    /// Embeds the phrasings learned since the documents were embedded, when semantic recall is
    /// configured, trains the classifier again (a phrasing learned or forgotten changes what it
    /// learns from), and swaps them in unless a reload replaced the snapshot meanwhile (it
    /// embeds them itself). Until then such a phrasing matches on keywords alone.
    pub async fn embed_learned(&self) -> Result<(), KnowledgeError> {
        let Some(semantic) = &self.semantic else {
            return Ok(());
        };
        let docs = self.current();
        if !docs.has_vectors() || (!docs.lacks_vectors() && docs.is_trained()) {
            return Ok(());
        }
        let embedded = semantic.embed_docs((*docs).clone()).await?;
        if let Ok(mut slot) = self.current.write() {
            if Arc::ptr_eq(&slot, &docs) {
                *slot = Arc::new(embedded);
            }
        }
        Ok(())
    }

    /// Reads every source again and swaps the snapshot in; returns (documents, problems).
    pub fn reload(&self) -> Result<(usize, Vec<String>), KnowledgeError> {
        if self.sources.is_empty() {
            return Ok((self.current().len(), Vec::new()));
        }
        let (docs, problems) = self.sources.load()?;
        let docs = docs.with_learned(&self.learned());
        let count = docs.len();
        log_problems(&problems);
        self.install(docs, problems.clone());
        tracing::info!(documents = count, "help documents reloaded");
        Ok((count, problems))
    }

    /// [`Self::reload`] off the async threads, with the sections embedded before the swap
    /// when semantic recall is configured (an embeddings failure leaves BM25 alone serving).
    pub async fn refresh(self: &Arc<Self>) -> Result<(usize, Vec<String>), KnowledgeError> {
        let loading = self.clone();
        let (docs, problems) = tokio::task::spawn_blocking(move || {
            let (docs, problems) = if loading.sources.is_empty() {
                ((*loading.current()).clone(), loading.problems())
            } else {
                // The index is built again with the learned phrasings here, off the async
                // threads, not at the swap.
                let (docs, problems) = loading.sources.load()?;
                (docs.with_learned(&loading.learned()), problems)
            };
            docs.train_spelling();
            Ok((docs, problems))
        })
        .await
        .map_err(|e| KnowledgeError(format!("the reload stopped unexpectedly: {e}")))??;
        let docs = match &self.semantic {
            Some(semantic) => match semantic.embed_docs(docs.clone()).await {
                Ok(embedded) => embedded,
                Err(e) => {
                    tracing::warn!(error = %e, "help sections could not be embedded; answers use keywords alone until the next reload");
                    docs
                }
            },
            None => docs,
        };
        let count = docs.len();
        log_problems(&problems);
        self.install(docs, problems.clone());
        tracing::info!(documents = count, "help documents reloaded");
        Ok((count, problems))
    }

    /// [`HelpDocs::explain`] as [`Self::answer_async`] answers: with the question's meaning
    /// when semantic recall is configured and the documents are embedded.
    pub async fn explain_async(&self, message: &str) -> Result<String, KnowledgeError> {
        let docs = self.current();
        match self.semantic.as_ref().filter(|_| docs.has_vectors()) {
            Some(semantic) => {
                let vector = semantic.embed_question(message).await?;
                Ok(docs.explain_with(message, Some(semantic.meaning(&vector))))
            }
            None => Ok(docs.explain(message)),
        }
    }

    /// An answer for a help-channel message (see [`HelpDocs::answer`]), BM25 alone.
    pub fn answer(&self, message: &str) -> Option<HelpAnswer> {
        self.current().answer(message)
    }

    /// An answer with semantic recall when it is configured and the sections are embedded;
    /// BM25 alone otherwise, or when the question cannot be embedded in time.
    pub async fn answer_async(&self, message: &str) -> Option<HelpAnswer> {
        match self.reply_async(message).await {
            Reply::Answer(answer) => Some(answer),
            Reply::Unsure(_) | Reply::OffTopic | Reply::Nothing => None,
        }
    }

    /// [`Self::answer_async`], saying why there is no answer when a message is off topic.
    pub async fn reply_async(&self, message: &str) -> Reply {
        let docs = self.current_trained().await;
        let Some(semantic) = self.semantic.as_ref().filter(|_| docs.has_vectors()) else {
            return docs.reply_with(message, None);
        };
        match tokio::time::timeout(QUESTION_EMBEDDING_TIMEOUT, semantic.embed_question(message))
            .await
        {
            Ok(Ok(vector)) => docs.reply_with(message, Some(semantic.meaning(&vector))),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the question could not be embedded; answering on keywords alone");
                docs.reply_with(message, None)
            }
            Err(_) => {
                tracing::warn!("embedding the question timed out; answering on keywords alone");
                docs.reply_with(message, None)
            }
        }
    }
}

fn log_problems(problems: &[String]) {
    for problem in problems {
        tracing::warn!(problem = %problem, "a help document could not be read; the others are served");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_names_the_documents_a_model_would_judge() {
        let docs = HelpDocs::starter();
        let unsure = docs.explain("the verify thing wants a code every time, normal?");
        assert!(
            unsure.contains("Answer:   none for sure; without a model the assistant stays quiet, with one it judges the closest: Set up multi-factor authentication"),
            "{unsure}"
        );
        let statement = docs.explain("the new coffee machine on the third floor is great");
        assert!(
            statement.contains("Answer:   none; the assistant stays quiet"),
            "{statement}"
        );
    }

    #[test]
    fn a_question_the_rules_leave_silent_goes_to_the_document_it_is_spelled_like() {
        let docs = HelpDocs::starter();
        // "verification method" is in no rule's words for the MFA page, but its n-grams lean
        // there ("verify", "method", "second"), and no other page's do.
        let asked = "okta keeps asking me to add a second verification method on login, how?";
        let ranked = docs.rank(asked, None);
        assert!(
            docs.answer_ranked(asked, &ranked).is_none(),
            "the rules answer"
        );
        match docs.reply_with(asked, None) {
            Reply::Answer(answer) => assert_eq!(answer.citations[0].source, "mfa-setup.md"),
            other => panic!("{other:?}"),
        }
        let explained = docs.explain(asked);
        assert!(
            explained.contains("Spelled:  Set up multi-factor authentication (0.9"),
            "{explained}"
        );
        // The same words as a statement are left to the rules, though spelled as surely.
        let said = "second verification method added on login this morning";
        assert!(docs
            .explain(said)
            .contains("Spelled:  Set up multi-factor authentication (0.7"));
        assert!(matches!(docs.reply_with(said, None), Reply::Nothing));
        // One word in common with a longer message is a coincidence to the rules, and the
        // spelling does not overrule them ("locked myself out of the house").
        let mut coincidental = ranked;
        let mfa = docs
            .docs()
            .iter()
            .position(|d| d.source == "mfa-setup.md")
            .unwrap();
        coincidental.hits.retain(|hit| hit.doc == mfa);
        for hit in &mut coincidental.hits {
            (hit.matched, hit.phrasing, hit.situation) = (1, None, false);
        }
        assert!(coincidence(&coincidental.hits[0], &coincidental.terms));
        assert!(docs.spelled(asked, &coincidental).is_none());
        assert!(docs.spelled(asked, &docs.rank(asked, None)).is_some());
        // At min_confidence 1 it answers nothing, and a lesson keeps the setting.
        let off = HelpDocs::starter()
            .with_min_confidence(1.0)
            .with_learned(&[]);
        assert!(!matches!(off.reply_with(asked, None), Reply::Answer(_)));
        let strict = HelpDocs::starter()
            .with_min_confidence(0.99)
            .with_learned(&[LearnedPhrasing {
                id: 1,
                doc: "vpn.md".into(),
                phrasing: "tunnel".into(),
                taught_by: "U1".into(),
                taught_at: 0,
            }]);
        assert!(strict.explain(asked).contains("from 0.99)"));
        assert!(!matches!(strict.reply_with(asked, None), Reply::Answer(_)));
        // Chatter with nothing of IT in it is not for IT.
        assert!(docs
            .explain("anyone up for lunch at the usual place today?")
            .contains("Spelled:  not for IT"));
        assert!(docs.train_spelling());
    }

    #[tokio::test]
    async fn the_first_answer_trains_the_spelling_classifier_once_for_the_snapshot() {
        let knowledge = Knowledge::fixed(HelpDocs::starter());
        assert!(!knowledge.current().spelling_ready());
        let asked = "okta keeps asking me to add a second verification method on login, how?";
        match knowledge.reply_async(asked).await {
            Reply::Answer(answer) => assert_eq!(answer.citations[0].source, "mfa-setup.md"),
            other => panic!("{other:?}"),
        }
        assert!(knowledge.current().spelling_ready());
    }

    #[test]
    fn the_spelling_classifier_learns_the_teams_messages_not_for_it() {
        let lunch = "can someone cover my desk phone while I'm at lunch";
        let leaning = HelpDocs::starter().explain(lunch);
        assert!(
            leaning.contains("Spelled:  New phone: setting up Okta Verify again"),
            "{leaning}"
        );
        let mut off_topic = semantic::built_in_off_topic();
        off_topic.push("who can cover the front desk phones at lunch".into());
        off_topic.push("can you cover reception while I'm at lunch".into());
        let team = HelpDocs::starter().with_off_topic(off_topic.clone());
        let told = team.explain(lunch);
        assert!(told.contains("Spelled:  not for IT"), "{told}");
        // A lesson keeps them.
        let learned = team.with_learned(&[LearnedPhrasing {
            id: 1,
            doc: "vpn.md".into(),
            phrasing: "tunnel".into(),
            taught_by: "U1".into(),
            taught_at: 0,
        }]);
        assert_eq!(learned.off_topic.as_deref(), Some(&off_topic[..]));
        // With none (`builtin_off_topic = false` and no list of its own) it is not trained: it
        // could not tell chatter from questions.
        let none = HelpDocs::starter().with_off_topic(Vec::new());
        assert!(!none.train_spelling());
        let asked = "okta keeps asking me to add a second verification method on login, how?";
        assert!(!matches!(none.reply_with(asked, None), Reply::Answer(_)));
        assert!(!none.explain(asked).contains("Spelled:"));
    }

    /// The printer and VPN pages, with a vector for each help text that points one way per
    /// document, and off-topic messages another.
    fn classified_docs() -> (HelpDocs, Vec<Arc<[f32]>>) {
        let docs = HelpDocs::new(
            ["printer.md", "vpn.md"]
                .iter()
                .map(|name| {
                    let text = format!(
                        "---\ntitle: {name}\nquestions:\n  - \"{name} help\"\n---\n# {name}\n\n## Steps\nAsk IT about {name}.\n"
                    );
                    doc::parse(name, &text, Format::Markdown).unwrap()
                })
                .collect(),
            Synonyms::new(&[]),
        );
        let direction = |axis: usize, wobble: usize| -> Arc<[f32]> {
            let mut v = vec![0.0_f32; 8];
            v[axis] = 0.9;
            v[wobble] = 0.436;
            v.into()
        };
        let vectors: Vec<Arc<[f32]>> = docs
            .texts_to_embed()
            .iter()
            .enumerate()
            .map(|(i, text)| direction(usize::from(text.contains("vpn")), 3 + i % 3))
            .collect();
        let off_topic = (3..6).map(|w| direction(2, w)).collect();
        (docs.with_vectors(vectors), off_topic)
    }

    #[test]
    fn a_question_nothing_else_answers_goes_to_the_document_the_classifier_is_sure_of() {
        let (docs, off_topic) = classified_docs();
        // No word in common, and under min_similarity with every help text (0.45 along the
        // VPN's direction): the rules leave it unanswered.
        let mut question = vec![0.0_f32; 8];
        question[1] = 0.45;
        question[7] = 0.893;
        let recall = semantic::Recall::at(0.55);
        let meaning = semantic::Meaning::new(&question, recall);
        assert!(
            !matches!(
                docs.reply_with("so what now?", Some(meaning)),
                Reply::Answer(_)
            ),
            "untrained"
        );
        let docs = docs.trained(&off_topic);
        assert!(docs.is_trained());
        match docs.reply_with("so what now?", Some(meaning)) {
            Reply::Answer(answer) => assert_eq!(answer.citations[0].source, "vpn.md"),
            other => panic!("{other:?}"),
        }
        let explained = docs.explain_with("so what now?", Some(meaning));
        assert!(explained.contains("Classed:  vpn.md ("), "{explained}");
        // A statement is left to the rules; so is everything at min_confidence 1.
        assert!(!matches!(
            docs.reply_with("so that happened", Some(meaning)),
            Reply::Answer(_)
        ));
        let off = semantic::Meaning::new(&question, recall.confident(1.0));
        assert!(!matches!(
            docs.reply_with("so what now?", Some(off)),
            Reply::Answer(_)
        ));
        // Learning a phrasing changes what it was trained on: it is trained again.
        let learned = docs.with_learned(&[LearnedPhrasing {
            id: 1,
            doc: "vpn.md".into(),
            phrasing: "tunnel".into(),
            taught_by: "U1".into(),
            taught_at: 0,
        }]);
        assert!(!learned.is_trained());
    }

    #[test]
    fn the_starter_set_loads_and_answers_with_citations() {
        for (name, text) in STARTER {
            if let Err(why) = doc::parse(name, text, Format::Markdown) {
                panic!("{name}: {why}");
            }
        }
        let docs = HelpDocs::starter();
        assert_eq!(docs.len(), STARTER.len());
        let answer = docs.answer("I'm locked out of okta").unwrap();
        assert_eq!(answer.citations[0].source, "locked-out.md");
        assert!(answer.citations[0]
            .link
            .as_deref()
            .unwrap()
            .starts_with("https://intranet.example.com/it/locked-out"));
        assert_eq!(answer.self_service, Some(Tool::UnlockUser));
        assert!(
            !answer.text.contains("title:"),
            "front matter is never the answer"
        );
        assert!(docs.answer("anyone up for lunch at noon?").is_none());
        assert!(docs.answer("thanks!").is_none());
    }

    #[test]
    fn questions_and_chatter() {
        assert!(reads_as_question("How do I reset my password"));
        assert!(reads_as_question("vpn won't connect"));
        assert!(reads_as_question("I can't log in"));
        assert!(!reads_as_question("happy friday everyone"));
        assert!(!reads_as_question("thanks, that worked"));
        // A question word opening any clause, not only the first.
        assert!(reads_as_question(
            "just joined the company, where do I begin with my laptop"
        ));
        assert!(reads_as_question("got a weird email. is it real"));
        assert!(!reads_as_question("lunch is here, come and get it"));
    }

    #[test]
    fn a_situations_topic_is_not_a_coincidence() {
        let files = [
            (
                "badge.md",
                "# Building badges\nFacilities reprogram badges that stop working.",
            ),
            (
                "vpn.md",
                "# Connect to the VPN\nOpen GlobalProtect and sign in.",
            ),
            (
                "printer.md",
                "# Printers\nAdd a printer from System Settings.",
            ),
            (
                "wifi.md",
                "# Office Wi-Fi\nJoin Example-Staff with your email.",
            ),
            (
                "mail.md",
                "# Mail on your phone\nInstall Outlook and sign in.",
            ),
        ];
        let parsed: Vec<Doc> = files
            .iter()
            .map(|(name, text)| doc::parse(name, text, Format::Markdown).unwrap())
            .collect();
        let symptoms = [("badge".to_string(), vec!["door + blinks|beeps".to_string()])];
        let docs = HelpDocs::new(parsed, Synonyms::with_symptoms(&[], &symptoms));
        // One topic in common with a message of three terms, but several of its words said
        // that topic together.
        let answer = docs.answer("the garage side door blinks at me").unwrap();
        assert_eq!(answer.citations[0].source, "badge.md");
        // One word in passing still is a coincidence.
        assert!(docs.answer("the garage side printer jams at me").is_none());
    }

    fn docs(files: &[(&str, &str)]) -> HelpDocs {
        let docs = files
            .iter()
            .map(|(name, text)| doc::parse(name, text, Format::Markdown).unwrap())
            .collect();
        HelpDocs::new(docs, Synonyms::new(&[]))
    }

    #[test]
    fn front_matter_questions_answer_and_are_never_shown() {
        let docs = docs(&[
            (
                "badge.md",
                "---\ntitle: Building badges\nquestions:\n  - \"the door beeps red when I tap my card\"\n---\n# Building badges\nBadges work from 7 to 19. Facilities reprogram them.",
            ),
            ("vpn.md", "# Connect to the VPN\nOpen GlobalProtect and sign in."),
        ]);
        let answer = docs.answer("door beeps red when I tap my card").unwrap();
        assert_eq!(answer.citations[0].source, "badge.md");
        assert!(!answer.text.contains("beeps"), "{}", answer.text);
        let explained = docs.explain("door beeps red when I tap my card");
        assert!(
            explained.contains("matched its questions: \"the door beeps red when I tap my card\""),
            "{explained}"
        );
        // Learned phrasings count the same, and say which one matched.
        let learned = docs.with_learned(&[LearnedPhrasing {
            id: 4,
            doc: "vpn.md".into(),
            phrasing: "the timesheet page times out from the hotel".into(),
            taught_by: "U0ADMIN".into(),
            taught_at: 0,
        }]);
        assert_eq!(
            learned
                .answer("timesheet page times out at the hotel")
                .unwrap()
                .citations[0]
                .source,
            "vpn.md"
        );
        assert!(learned
            .explain("timesheet page times out at the hotel")
            .contains("matched learned phrasing #4"));
        // A learned phrasing of a document that is gone is left out.
        let orphan = learned.with_learned(&[LearnedPhrasing {
            id: 5,
            doc: "gone.md".into(),
            phrasing: "anything".into(),
            taught_by: "U0ADMIN".into(),
            taught_at: 0,
        }]);
        assert!(orphan
            .answer("timesheet page times out at the hotel")
            .is_none());
        let broken = doc::parse(
            "x.md",
            "---\nquestions: [\"\"]\n---\n# X\ntext",
            Format::Markdown,
        );
        assert!(broken.unwrap_err().contains("questions has an empty entry"));
    }

    #[test]
    fn two_close_documents_may_help_when_neither_answers_alone() {
        let docs = docs(&[
            (
                "printer.md",
                "# Printers\nPrinters are on every floor; add one from System Settings.",
            ),
            (
                "scanner.md",
                "# Scanners\nScanners email what they scan to you.",
            ),
            ("badge.md", "# Badges\nBadges open the doors."),
            ("parking.md", "# Parking\nThe garage opens at 7."),
        ]);
        let question = "printer scanner combo?";
        let answer = docs.answer(question);
        match answer {
            Some(answer) if answer.may_help => {
                assert!(
                    answer.text.starts_with("These may help:"),
                    "{}",
                    answer.text
                );
                let mut sources: Vec<&str> =
                    answer.citations.iter().map(|c| c.source.as_str()).collect();
                sources.sort_unstable();
                assert_eq!(sources, ["printer.md", "scanner.md"]);
                assert!(answer.plain().contains("Sources: "));
                assert!(answer.self_service.is_none());
            }
            other => panic!(
                "expected 'These may help', got {other:?}\n{}",
                docs.explain(question)
            ),
        }
        // Said as a statement, it is not enough.
        assert!(docs.answer("printer scanner combo").is_none());
        let docs = HelpDocs::starter();
        // One word in common is not a lead, even as a question.
        assert!(docs.answer("anyone got a charger for an iphone?").is_none());
    }

    #[test]
    fn a_question_telling_its_story_first_answers_on_several_of_its_words() {
        let docs = docs(&[
            (
                "printer.md",
                "# Printers\nPrinters are on every floor; add one from System Settings, then print a test page.",
            ),
            ("badge.md", "# Badges\nBadges open the doors."),
        ]);
        let story = "after the reorg my laptop lost the printer on our floor, how do I add it back";
        let best = &docs.search(story, 1)[0];
        assert!(
            best.coverage < MIN_COVERAGE_QUESTION && best.matched.count_ones() >= SEVERAL_WORDS,
            "{}",
            docs.explain(story)
        );
        let answer = docs
            .answer(story)
            .unwrap_or_else(|| panic!("several words in one document: {}", docs.explain(story)));
        assert_eq!(answer.citations[0].source, "printer.md");
        // One word of a long story is still a coincidence, and a statement needs its coverage.
        let lamp = "after the reorg the desk lamp on our floor broke, who fixes it?";
        assert!(docs.answer(lamp).is_none(), "{}", docs.explain(lamp));
        let told = "after the reorg the printer on our floor was added to my laptop";
        assert!(docs.answer(told).is_none(), "{}", docs.explain(told));
    }

    #[test]
    fn a_question_naming_a_documents_subject_is_that_documents() {
        let docs = HelpDocs::starter();
        // Most of its words are no document's, but it names the VPN page's subject.
        let question = "which vpn vendor do we use and where do I download it";
        let best = &docs.search(question, 1)[0];
        assert!(
            best.coverage < MIN_COVERAGE_QUESTION,
            "{}",
            docs.explain(question)
        );
        let answer = docs
            .answer(question)
            .unwrap_or_else(|| panic!("the subject is named: {}", docs.explain(question)));
        assert_eq!(answer.citations[0].source, "vpn.md");
        // A title's ordinary words are not its subject ("office" of the Wi-Fi page's title),
        // and a statement is not a question.
        for chatter in [
            "can I bring my dog to the office",
            "where do I submit my expense report",
            "the vpn song at the party was something",
        ] {
            assert!(docs.answer(chatter).is_none(), "{}", docs.explain(chatter));
        }
    }

    #[test]
    fn a_described_situation_counts_as_several_words() {
        let file = "# Printers\nPrinters are on every floor; clear a jam from the side door.";
        let docs = HelpDocs::new(
            vec![doc::parse("printer.md", file, Format::Markdown).unwrap()],
            Synonyms::with_symptoms(
                &[],
                &[("printers".into(), vec!["tray|sheets + jammed|stuck".into()])],
            ),
        );
        // The table reads one topic from two of its words: one term matched, said in several
        // words, so not a coincidence.
        let message = "sheets stuck again on level three, help";
        let best = &docs.search(message, 1)[0];
        assert!(
            best.situation
                && best.matched.count_ones() < SEVERAL_WORDS
                && best.coverage < MIN_COVERAGE_QUESTION,
            "{}",
            docs.explain(message)
        );
        let answer = docs
            .answer(message)
            .unwrap_or_else(|| panic!("a situation: {}", docs.explain(message)));
        assert_eq!(answer.citations[0].source, "printer.md");
    }

    #[test]
    fn thanks_closes_a_conversation_and_asks_nothing() {
        let docs = HelpDocs::starter();
        for message in [
            "thanks so much, that worked!",
            "Thank you, works now",
            "cheers, that's the vpn sorted",
        ] {
            assert!(
                docs.answer(message).is_none(),
                "{message}: {}",
                docs.explain(message)
            );
        }
        // Thanks said with a question is still the question.
        let answer = docs
            .answer("thanks in advance, how do I reset my password?")
            .unwrap();
        assert_eq!(answer.citations[0].source, "reset-password.md");
    }
}
