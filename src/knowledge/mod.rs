//! Help documents: loading Markdown files, a small in-memory BM25 index, and answers that cite
//! their source. The demo set ships with the binary for `okta-agent chat`.

use std::collections::HashMap;
use std::path::Path;

/// One help document: its title is the first `# ` heading, or the file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpDoc {
    pub title: String,
    pub source: String,
    pub body: String,
}

/// A hit: the document and its score.
#[derive(Clone, Debug)]
pub struct Hit<'a> {
    pub doc: &'a HelpDoc,
    pub score: f64,
}

#[derive(Debug, thiserror::Error)]
#[error("knowledge.path {path}: {reason}")]
pub struct KnowledgeError {
    pub path: String,
    pub reason: String,
}

/// The index over all documents.
#[derive(Clone, Debug, Default)]
pub struct HelpDocs {
    docs: Vec<HelpDoc>,
    terms: Vec<HashMap<String, u32>>,
    lengths: Vec<usize>,
    document_frequency: HashMap<String, u32>,
}

const DEMO: [(&str, &str); 4] = [
    ("reset-password.md", include_str!("demo/reset-password.md")),
    ("locked-out.md", include_str!("demo/locked-out.md")),
    ("new-phone-mfa.md", include_str!("demo/new-phone-mfa.md")),
    ("app-access.md", include_str!("demo/app-access.md")),
];

/// Below this score a hit is not an answer.
const MIN_SCORE: f64 = 1.0;

impl HelpDocs {
    pub fn new(docs: Vec<HelpDoc>) -> Self {
        let mut index = Self::default();
        for doc in docs {
            let mut counts: HashMap<String, u32> = HashMap::new();
            let text = format!("{} {} {}", doc.title, doc.title, doc.body);
            let tokens = tokens(&text);
            for token in &tokens {
                *counts.entry(token.clone()).or_default() += 1;
            }
            for term in counts.keys() {
                *index.document_frequency.entry(term.clone()).or_default() += 1;
            }
            index.lengths.push(tokens.len());
            index.terms.push(counts);
            index.docs.push(doc);
        }
        index
    }

    /// The documents that ship with the demo.
    pub fn demo() -> Self {
        Self::new(
            DEMO.iter()
                .map(|(name, text)| parse_doc(name, text))
                .collect(),
        )
    }

    /// Every `.md` and `.txt` file directly in `dir`.
    pub fn load(dir: &Path) -> Result<Self, KnowledgeError> {
        let err = |reason: String| KnowledgeError {
            path: dir.display().to_string(),
            reason,
        };
        let entries =
            std::fs::read_dir(dir).map_err(|e| err(format!("cannot read the folder ({e})")))?;
        let mut docs = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| err(e.to_string()))?.path();
            let is_doc = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("txt"));
            if !is_doc {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| err(format!("cannot read {} ({e})", path.display())))?;
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            docs.push(parse_doc(name, &text));
        }
        docs.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(Self::new(docs))
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// The best documents for a question, best first (Okapi BM25, k1 = 1.2, b = 0.75).
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit<'_>> {
        let n = self.docs.len() as f64;
        if n == 0.0 {
            return Vec::new();
        }
        let average = self.lengths.iter().sum::<usize>() as f64 / n;
        let mut query_terms = tokens(query);
        query_terms.sort();
        query_terms.dedup();
        let mut hits: Vec<Hit> = self
            .docs
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                let matched: Vec<&String> = query_terms
                    .iter()
                    .filter(|term| self.terms[i].contains_key(*term))
                    .collect();
                // One shared word ("sales") is not an answer to a longer question.
                if matched.len() < query_terms.len().min(2) {
                    return Hit { doc, score: 0.0 };
                }
                let score = matched
                    .iter()
                    .map(|term| {
                        let tf = f64::from(self.terms[i].get(*term).copied().unwrap_or(0));
                        let df = f64::from(*self.document_frequency.get(*term).unwrap_or(&0));
                        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                        let norm = 1.2 * (0.25 + 0.75 * self.lengths[i] as f64 / average);
                        idf * tf * 2.2 / (tf + norm)
                    })
                    .sum();
                Hit { doc, score }
            })
            .filter(|hit| hit.score >= MIN_SCORE)
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(limit);
        hits
    }

    /// An answer from the best document, citing it; `None` when nothing fits.
    pub fn answer(&self, query: &str) -> Option<String> {
        let hits = self.search(query, 3);
        let best = hits.first()?;
        let mut text = format!("From *{}*:\n{}", best.doc.title, best.doc.body.trim());
        let others: Vec<String> = hits[1..]
            .iter()
            .map(|h| format!("*{}* ({})", h.doc.title, h.doc.source))
            .collect();
        text.push_str(&format!("\nSource: {}", best.doc.source));
        if !others.is_empty() {
            text.push_str(&format!("\nSee also: {}", others.join(", ")));
        }
        Some(text)
    }
}

/// One document from its file name and text.
pub fn parse_doc(name: &str, text: &str) -> HelpDoc {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    match first.strip_prefix("# ") {
        Some(title) => HelpDoc {
            title: title.trim().to_string(),
            source: name.to_string(),
            body: lines.collect::<Vec<_>>().join("\n").trim().to_string(),
        },
        None => HelpDoc {
            title: name
                .trim_end_matches(".md")
                .trim_end_matches(".txt")
                .replace('-', " "),
            source: name.to_string(),
            body: text.trim().to_string(),
        },
    }
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "to", "of", "in", "on", "for", "is", "it", "my", "i", "me",
    "you", "your", "do", "does", "how", "what", "can", "be", "with", "at", "by", "this", "that",
    "if", "are", "was", "after", "then", "so", "as", "from", "am", "get", "im", "cant",
];

/// Lower-cased words with a light stem and a few IT synonyms folded together.
fn tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace("can't", "cant")
        .replace("i'm", "im")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(w))
        .map(|w| {
            let folded = match w {
                "2fa" | "mfa" | "factor" | "factors" | "verify" | "authenticator" => "mfa",
                "locked" | "lockout" | "unlock" | "lock" => "lock",
                "login" | "signin" | "sign" | "log" | "logon" => "signin",
                "pw" | "pwd" | "passwords" | "password" => "password",
                "forgot" | "forgotten" => "forgot",
                "phone" | "phones" | "mobile" => "phone",
                "apps" | "app" | "application" | "applications" => "app",
                other => other,
            };
            stem(folded)
        })
        .collect()
}

fn stem(word: &str) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if word.len() > suffix.len() + 3 {
            if let Some(stripped) = word.strip_suffix(suffix) {
                return stripped.to_string();
            }
        }
    }
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_docs_answer_common_questions() {
        let docs = HelpDocs::demo();
        let top = |q: &str| docs.search(q, 1).first().map(|h| h.doc.source.clone());
        assert_eq!(
            top("How do I reset my password?").as_deref(),
            Some("reset-password.md")
        );
        assert_eq!(top("I forgot my pw").as_deref(), Some("reset-password.md"));
        assert_eq!(
            top("got a new phone, 2fa not working").as_deref(),
            Some("new-phone-mfa.md")
        );
        assert_eq!(top("how can I get zoom").as_deref(), Some("app-access.md"));
        assert_eq!(top("quarterly sales numbers"), None);
        for doc in &docs.docs {
            assert_eq!(
                top(&doc.title).as_deref(),
                Some(doc.source.as_str()),
                "{}",
                doc.title
            );
        }
        let answer = docs.answer("locked out").unwrap();
        assert!(answer.contains("Source: locked-out.md"), "{answer}");
    }
}
