//! Optional semantic recall: section, phrasing and question embeddings from an
//! OpenAI-compatible `/embeddings` endpoint (`OPENAI_EMBEDDINGS_MODEL`), kept per text so a
//! reload only embeds what changed. Retrieval mixes them with BM25 ([`super::HelpDocs::answer_with`]); when
//! the endpoint fails, answers fall back to BM25 alone. Messages that are not for IT
//! (`off_topic.txt` and `[knowledge] off_topic`) are embedded too, so a message closer to one
//! of them than to every help text gets no answer. Once embedded, the documents train their
//! classifier ([`super::classifier`]) off the async threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};
use sha2::{Digest, Sha256};
use wide::f32x8;

use super::{HelpDocs, KnowledgeError};
use crate::llm::ModelSettings;

/// Texts per `/embeddings` request (OpenAI accepts up to 2,048; local servers like fewer).
const BATCH: usize = 64;

/// How long an `/embeddings` request may take, for the service and `help-docs --ask`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Something that turns texts into vectors.
#[async_trait::async_trait]
pub trait Embedder: Send + Sync {
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, KnowledgeError>;
}

/// The `/embeddings` endpoint of an OpenAI-compatible server.
pub struct OpenAiEmbedder {
    client: async_openai::Client<OpenAIConfig>,
    model: String,
}

impl OpenAiEmbedder {
    pub fn new(settings: &ModelSettings, timeout: Duration) -> Result<Self, KnowledgeError> {
        Ok(Self {
            client: settings
                .client(timeout)
                .map_err(|e| KnowledgeError(format!("cannot build the embeddings client: {e}")))?,
            model: settings.model.clone(),
        })
    }
}

#[async_trait::async_trait]
impl Embedder for OpenAiEmbedder {
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, KnowledgeError> {
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            let request = CreateEmbeddingRequest {
                model: self.model.clone(),
                input: EmbeddingInput::StringArray(batch.to_vec()),
                encoding_format: None,
                user: None,
                dimensions: None,
            };
            let response = self
                .client
                .embeddings()
                .create(request)
                .await
                .map_err(|e| KnowledgeError(format!("the embeddings endpoint failed: {e}")))?;
            if response.data.len() != batch.len() {
                return Err(KnowledgeError(format!(
                    "the embeddings endpoint returned {} vectors for {} texts",
                    response.data.len(),
                    batch.len()
                )));
            }
            let mut data = response.data;
            data.sort_by_key(|e| e.index);
            vectors.extend(data.into_iter().map(|e| e.embedding));
        }
        Ok(vectors)
    }
}

/// How a question's meaning counts in its answer (`[knowledge]` `min_similarity`,
/// `semantic_weight` and `min_confidence`): all depend on the embeddings model, so a team sets
/// them from its own model's figures (docs/assistant.md).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recall {
    /// Cosine similarity at which a section, or a phrasing of its document, answers a question
    /// on meaning alone.
    pub min_similarity: f32,
    /// The share of a candidate's ranking score that is its similarity; the rest is its
    /// BM25 score, normalized to the best one's.
    pub weight: f32,
    /// The probability at which the classifier's document answers a question the rules leave
    /// unanswered ([`super::classifier`]); 1 turns it off.
    pub min_confidence: f32,
}

/// What `[knowledge]` gives when it sets neither.
impl Default for Recall {
    fn default() -> Self {
        Self::at(Self::DEFAULT_MIN_SIMILARITY)
    }
}

impl Recall {
    /// Suits OpenAI's text-embedding-3 models.
    pub const DEFAULT_MIN_SIMILARITY: f32 = 0.5;

    /// Meaning for four fifths of the ranking: better than half and half with every sentence
    /// model measured (the Universal Sentence Encoder, all-MiniLM-L6-v2, all-mpnet-base-v2), on
    /// the round least written for keywords; word vectors (WordLlama) do better at 0.5.
    pub const DEFAULT_WEIGHT: f32 = 0.8;

    /// Chosen before the tenth round was measured: the classifier alone, trained on each set's
    /// neighbours, was right for 98.6% of the questions it was this sure of, and answered 2 of
    /// 156 non-IT messages (docs/assistant.md).
    pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.7;

    /// Recall that answers on meaning from `min_similarity`, at the default weight.
    pub fn at(min_similarity: f32) -> Self {
        Self {
            min_similarity,
            weight: Self::DEFAULT_WEIGHT,
            min_confidence: Self::DEFAULT_MIN_CONFIDENCE,
        }
    }

    /// The same, with meaning counting for `weight` of the ranking score.
    pub fn weighted(self, weight: f32) -> Self {
        Self { weight, ..self }
    }

    /// The same, with the classifier answering from this probability.
    pub fn confident(self, min_confidence: f32) -> Self {
        Self {
            min_confidence,
            ..self
        }
    }
}

/// The built-in messages that are not for IT (questions for other teams, small talk), one per
/// line, from a public intent dataset (the file's header says which and why).
pub const BUILT_IN_OFF_TOPIC: &str = include_str!("off_topic.txt");

/// The built-in off-topic messages, comments and blank lines left out.
pub fn built_in_off_topic() -> Vec<String> {
    BUILT_IN_OFF_TOPIC
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect()
}

/// A message's meaning, as the answer weighs it: its vector, how meaning counts, and the
/// off-topic message closest to it (similarity and text), when there are any.
#[derive(Clone, Copy, Debug)]
pub struct Meaning<'a> {
    pub vector: &'a [f32],
    pub recall: Recall,
    pub off_topic: Option<(f32, &'a str)>,
}

impl<'a> Meaning<'a> {
    /// The meaning of a message with this vector, without off-topic messages to compare it with.
    pub fn new(vector: &'a [f32], recall: Recall) -> Self {
        Self {
            vector,
            recall,
            off_topic: None,
        }
    }
}

/// Embeddings for the help documents, with what has been embedded already.
pub struct Semantic {
    embedder: Arc<dyn Embedder>,
    cache: Mutex<HashMap<[u8; 32], Arc<[f32]>>>,
    /// How the question's meaning counts.
    pub recall: Recall,
    /// Messages that are not for IT, and their vectors once the documents are embedded.
    off_topic: Vec<String>,
    off_topic_vectors: Mutex<Arc<[Arc<[f32]>]>>,
}

impl std::fmt::Debug for Semantic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semantic")
            .field("recall", &self.recall)
            .finish_non_exhaustive()
    }
}

impl Semantic {
    /// Semantic recall over the configured endpoint, as the service and `help-docs --ask`
    /// use it, with these off-topic messages (`[knowledge] off_topic`, and the built-in ones
    /// unless `builtin_off_topic = false`).
    pub fn configured(
        settings: &ModelSettings,
        recall: Recall,
        off_topic: Vec<String>,
    ) -> Result<Self, KnowledgeError> {
        let embedder = OpenAiEmbedder::new(settings, REQUEST_TIMEOUT)?;
        Ok(Self::with_messages(Arc::new(embedder), recall, off_topic))
    }

    /// Semantic recall with the built-in off-topic messages.
    pub fn new(embedder: Arc<dyn Embedder>, recall: Recall) -> Self {
        Self::with_messages(embedder, recall, built_in_off_topic())
    }

    fn with_messages(embedder: Arc<dyn Embedder>, recall: Recall, off_topic: Vec<String>) -> Self {
        Self {
            embedder,
            cache: Mutex::new(HashMap::new()),
            recall,
            off_topic,
            off_topic_vectors: Mutex::new(Arc::from([])),
        }
    }

    /// The same, with these off-topic messages instead (none: every message is weighed).
    pub fn with_off_topic(self, off_topic: Vec<String>) -> Self {
        Self { off_topic, ..self }
    }

    /// The off-topic message closest in meaning to a message with this vector, once embedded.
    pub fn closest_off_topic(&self, vector: &[f32]) -> Option<(f32, &str)> {
        let vectors = self
            .off_topic_vectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        vectors
            .iter()
            .zip(&self.off_topic)
            .map(|(v, text)| (similarity(vector, v), text.as_str()))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    }

    /// A message's meaning with its closest off-topic message.
    pub fn meaning<'a>(&'a self, vector: &'a [f32]) -> Meaning<'a> {
        Meaning {
            vector,
            recall: self.recall,
            off_topic: self.closest_off_topic(vector),
        }
    }

    /// The documents with a vector for every section; only sections not seen before are sent.
    /// The off-topic messages are embedded along with them, the first time.
    pub async fn embed_docs(&self, docs: HelpDocs) -> Result<HelpDocs, KnowledgeError> {
        let mut texts = docs.texts_to_embed();
        let help_texts = texts.len();
        texts.extend(self.off_topic.iter().cloned());
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| Sha256::digest(t).into()).collect();
        let missing: Vec<(usize, String)> = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let mut seen = std::collections::HashSet::new();
            texts
                .iter()
                .zip(&keys)
                .enumerate()
                .filter(|(_, (_, key))| !cache.contains_key(*key) && seen.insert(**key))
                .map(|(i, (text, _))| (i, text.clone()))
                .collect()
        };
        if !missing.is_empty() {
            let vectors = self
                .embedder
                .embed(missing.iter().map(|(_, t)| t.clone()).collect())
                .await?;
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            for ((i, _), vector) in missing.iter().zip(vectors) {
                cache.insert(keys[*i], unit(vector).into());
            }
            tracing::info!(texts = missing.len(), "help texts embedded");
        }
        let mut vectors: Vec<Arc<[f32]>> = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            keys.iter().filter_map(|k| cache.get(k).cloned()).collect()
        };
        let dimensions = vectors.first().map_or(0, |v| v.len());
        if vectors.len() != keys.len() || vectors.iter().any(|v| v.len() != dimensions) {
            return Err(KnowledgeError(
                "the embeddings endpoint returned vectors of different sizes; is OPENAI_EMBEDDINGS_MODEL an embeddings model?".into(),
            ));
        }
        let off_topic: Arc<[Arc<[f32]>]> = vectors.split_off(help_texts).into();
        *self
            .off_topic_vectors
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = off_topic.clone();
        let docs = docs.with_vectors(vectors);
        tokio::task::spawn_blocking(move || docs.trained(&off_topic))
            .await
            .map_err(|e| {
                KnowledgeError(format!("training the classifier stopped unexpectedly: {e}"))
            })
    }

    /// A question's vector.
    pub async fn embed_question(&self, question: &str) -> Result<Vec<f32>, KnowledgeError> {
        let mut vectors = self.embedder.embed(vec![question.to_string()]).await?;
        match vectors.pop() {
            Some(vector) if vectors.is_empty() => Ok(unit(vector)),
            _ => Err(KnowledgeError(
                "the embeddings endpoint did not return one vector for the question".into(),
            )),
        }
    }
}

/// The vector scaled to length 1, so a dot product is the cosine similarity.
fn unit(mut vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut vector {
            *x /= norm;
        }
    }
    vector
}

/// Cosine similarity of two unit vectors (0 when their sizes differ).
pub fn similarity(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    // Eight lanes at a time, with explicit SIMD (`wide`): the release build is optimised for
    // size, where the compiler vectorizes nothing, so a loop written for it to vectorize ran
    // one float at a time through the stack. A question is compared with every section,
    // phrasing and off-topic message, so this loop is the semantic answer's cost.
    let (a_lanes, a_tail) = a.as_chunks::<8>();
    let (b_lanes, b_tail) = b.as_chunks::<8>();
    let mut sums = f32x8::ZERO;
    for (x, y) in a_lanes.iter().zip(b_lanes) {
        sums += f32x8::from(*x) * f32x8::from(*y);
    }
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    sums.reduce_add() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_is_the_dot_product_whatever_the_length() {
        for length in [0, 1, 7, 8, 13, 1536] {
            let a: Vec<f32> = (0..length).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..length).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!(
                (similarity(&a, &b) - plain).abs() <= 1e-4 * plain.abs().max(1.0),
                "length {length}: {} against {plain}",
                similarity(&a, &b)
            );
        }
        assert_eq!(similarity(&[1.0, 0.0], &[1.0]), 0.0, "sizes differ");
    }

    #[test]
    fn the_built_in_off_topic_messages_are_the_documented_450() {
        let messages = built_in_off_topic();
        assert_eq!(messages.len(), 450);
        assert!(messages.iter().all(|m| !m.trim().is_empty()));
        assert!(messages.iter().any(|m| m == "is my vacation approved yet"));
        // The domains left out for holding IT requests are left out.
        assert!(!BUILT_IN_OFF_TOPIC.contains("# banking/"));
        assert!(!BUILT_IN_OFF_TOPIC.contains("# utility/find_phone"));
    }
}
