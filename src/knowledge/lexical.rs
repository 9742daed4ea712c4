//! Which document a message is about from its spelling alone, with no model: the
//! [`super::classifier`] over the character n-grams of every section and phrasing, and of the
//! off-topic messages as the class of messages not for IT.
//!
//! Keyword rules match whole words (stemmed, with synonyms); n-grams of three to five letters
//! also match the pieces words share ("unlock", "locked", "lockout"; "authenticator",
//! "authentication") and weigh every one of a document's phrasings against the others', so a
//! question in words no rule knows still leans towards the document whose phrasings it is
//! spelled like. Features are TF-IDF weighted as scikit-learn's `char_wb` analyser weighs
//! them (sublinear counts, smoothed IDF, unit length), which is what it was chosen with
//! (docs/assistant.md). Written here because it is forty lines over a `HashMap`; a text
//! pipeline crate would bring a tokenizer framework for it.

use std::collections::HashMap;

use super::classifier::{affordable, Classifier, Schedule, Verdict};

/// The shortest and longest n-grams, in characters, within a word padded with one space each
/// side (so a word's start and end are features of their own).
const SHORTEST: usize = 3;
const LONGEST: usize = 5;
/// An n-gram in fewer training texts than this is left out: it names one text, not a
/// document.
const MIN_TEXTS: usize = 2;
/// Sparse features converge in fewer, larger steps than embeddings; chosen with the
/// evaluation's cross-check, where 50 steps of 3 and 300 of 0.5 gave the same figures.
const SCHEDULE: Schedule = Schedule {
    epochs: 50,
    learning_rate: 3.0,
};

/// A classifier over character n-grams, with the n-grams it knows.
#[derive(Clone, Debug)]
pub struct Lexical {
    /// Each known n-gram's feature.
    grams: HashMap<String, usize>,
    /// Each feature's inverse document frequency.
    idf: Vec<f32>,
    classifier: Classifier,
}

/// Calls `each` with every n-gram of a text, lowercased, as slices of one buffer (a message
/// is classified without an allocation per n-gram).
fn for_each_gram(text: &str, mut each: impl FnMut(&str)) {
    let mut padded = String::new();
    let mut starts: Vec<usize> = Vec::new();
    for word in text.to_lowercase().split_whitespace() {
        padded.clear();
        padded.push(' ');
        padded.push_str(word);
        padded.push(' ');
        starts.clear();
        starts.extend(padded.char_indices().map(|(i, _)| i));
        starts.push(padded.len());
        let length = starts.len() - 1;
        for n in SHORTEST..=LONGEST {
            for first in 0..=length.saturating_sub(n) {
                each(&padded[starts[first]..starts[(first + n).min(length)]]);
            }
            // A padded word no longer than n counts once, whole, and has no longer n-grams.
            if length <= n {
                break;
            }
        }
    }
}

/// The n-grams of a text and how often each occurs.
fn counts(text: &str) -> HashMap<String, u32> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    for_each_gram(text, |gram| match counts.get_mut(gram) {
        Some(count) => *count += 1,
        None => {
            counts.insert(gram.to_string(), 1);
        }
    });
    counts
}

impl Lexical {
    /// Trains on `examples` (text, document) for `docs` documents and on `off_topic` messages
    /// as the last class. `None` when no document has an example.
    pub fn train(docs: usize, examples: &[(&str, usize)], off_topic: &[&str]) -> Option<Self> {
        // Checked before the n-grams are counted, which takes a while for a large store: a
        // text has at most three n-grams a character (of three, four and five).
        let characters: usize = examples
            .iter()
            .map(|(text, _)| text.len())
            .chain(off_topic.iter().map(|text| text.len()))
            .sum();
        let classes = docs + 1;
        if !affordable(
            characters.saturating_mul(3).saturating_mul(classes),
            0,
            classes,
        ) {
            return None;
        }
        let labelled: Vec<(HashMap<String, u32>, usize)> = examples
            .iter()
            .map(|(text, doc)| (counts(text), *doc))
            .chain(off_topic.iter().map(|text| (counts(text), docs)))
            .collect();
        let mut texts_with: HashMap<&str, usize> = HashMap::new();
        for (counts, _) in &labelled {
            for gram in counts.keys() {
                *texts_with.entry(gram).or_default() += 1;
            }
        }
        let total = labelled.len() as f32;
        let mut kept: Vec<(&str, usize)> = texts_with
            .into_iter()
            .filter(|(_, texts)| *texts >= MIN_TEXTS)
            .collect();
        // Sorted, so the same documents give the same features, whatever the hash order.
        kept.sort_unstable();
        let idf = kept
            .iter()
            .map(|(_, texts)| ((1.0 + total) / (1.0 + *texts as f32)).ln() + 1.0)
            .collect();
        let grams: HashMap<String, usize> = kept
            .into_iter()
            .enumerate()
            .map(|(feature, (gram, _))| (gram.to_string(), feature))
            .collect();
        let mut lexical = Self {
            grams,
            idf,
            classifier: Classifier::default(),
        };
        let features: Vec<(Vec<(usize, f32)>, usize)> = labelled
            .iter()
            .map(|(counts, class)| {
                let counted = counts
                    .iter()
                    .filter_map(|(gram, count)| Some((*lexical.grams.get(gram)?, *count)));
                (lexical.weigh(counted), *class)
            })
            .collect();
        lexical.classifier =
            Classifier::train_sparse(docs, lexical.grams.len(), &features, SCHEDULE)?;
        Some(lexical)
    }

    /// Known n-grams, each with how often it occurs, TF-IDF weighted, at unit length.
    fn weigh(&self, counted: impl Iterator<Item = (usize, u32)>) -> Vec<(usize, f32)> {
        let mut features: Vec<(usize, f32)> = counted
            .map(|(feature, count)| {
                let idf = self.idf[feature];
                (feature, (1.0 + (count as f32).ln()) * idf)
            })
            .collect();
        // In feature order, so sums come out the same whatever order the n-grams were counted
        // in (a hash map's): a probability near the threshold must not flip between runs.
        features.sort_unstable_by_key(|(feature, _)| *feature);
        let norm = features.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, value) in &mut features {
                *value /= norm;
            }
        }
        features
    }

    /// The most probable class for a message, `None` when it shares no n-gram with the
    /// training texts.
    pub fn classify(&self, message: &str) -> Option<Verdict> {
        let mut known: Vec<usize> = Vec::new();
        for_each_gram(message, |gram| {
            if let Some(feature) = self.grams.get(gram) {
                known.push(*feature);
            }
        });
        if known.is_empty() {
            return None;
        }
        known.sort_unstable();
        let counted = known
            .chunk_by(|a, b| a == b)
            .map(|run| (run[0], run.len() as u32));
        self.classifier.classify_sparse(&self.weigh(counted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_gives_its_padded_pieces_and_a_short_one_counts_whole() {
        let grams = counts("VPN vpn ok");
        assert_eq!(grams.get(" vp"), Some(&2));
        assert_eq!(grams.get("vpn "), Some(&2));
        assert_eq!(grams.get(" vpn "), Some(&2));
        assert_eq!(grams.get(" ok"), Some(&1));
        // " ok " is four characters: once whole, and nothing longer.
        assert_eq!(grams.get(" ok "), Some(&1));
        assert_eq!(grams.len(), 6 + 3);
        assert!(!grams.contains_key("VPN"));
    }

    #[test]
    fn a_message_spelled_like_one_documents_phrasings_goes_to_it() {
        let examples = [
            ("my account is locked", 0),
            ("locked out of okta", 0),
            ("unlock my account please", 0),
            ("the vpn will not connect", 1),
            ("vpn client keeps disconnecting", 1),
            ("how do I connect to the vpn", 1),
        ];
        let off_topic = [
            "lunch is in the kitchen",
            "who wants coffee",
            "the kitchen has cake",
            "coffee and cake at three",
        ];
        let lexical = Lexical::train(2, &examples, &off_topic).unwrap();
        // No example has "lockout" or "disconnected", but their pieces are there.
        assert!(
            matches!(lexical.classify("lockout again"), Some(Verdict::Doc(0, _))),
            "{:?}",
            lexical.classify("lockout again")
        );
        assert!(matches!(
            lexical.classify("vpn disconnected"),
            Some(Verdict::Doc(1, _))
        ));
        assert!(matches!(
            lexical.classify("cake in the kitchen"),
            Some(Verdict::OffTopic(_))
        ));
        // Nothing in common with any example: no verdict.
        assert_eq!(lexical.classify("zzz qqq"), None);
        assert!(Lexical::train(2, &[], &off_topic).is_none());
    }
}
