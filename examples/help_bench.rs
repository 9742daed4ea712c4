//! Help-document retrieval at scale: 5,000 generated documents of ten sections each (50,000
//! sections, about four million words, Zipf-distributed like real text: the commonest words are
//! function words, as in English, then IT words, then made-up ones), parsed, indexed and
//! queried with 2,000 messages (questions drawn from the documents, some with typos, and
//! chatter), each handled as the service does (an answer, or the closest documents of a question
//! none answers for sure, for a model to judge). Prints parse and index build time, query p50 /
//! p99 / max, and the resident memory the index adds. Budget: build ≤ 1 s, query p99 ≤ 1 ms.
//!
//! Then the starter set's labelled messages with semantic recall, its off-topic messages and
//! without them (made-up 1,536-dimension vectors: the arithmetic is what is timed).
//!
//! `cargo run --release --example help_bench` (add `-- --no-function-words` for the worst case:
//! no function words at the top of the distribution, so every query word is a common content
//! word that touches a large share of the sections).

use std::sync::Arc;
use std::time::{Duration, Instant};

use okta_agent::knowledge::doc::{parse, Format};
use okta_agent::knowledge::index::Synonyms;
use okta_agent::knowledge::semantic::{built_in_off_topic, Embedder, Recall, Semantic};
use okta_agent::knowledge::{HelpDocs, KnowledgeError, Reply};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DOCS: usize = 5_000;
const SECTIONS: usize = 10;
const QUERIES: usize = 2_000;
const VOCABULARY: usize = 30_000;
const IT_WORDS: &[&str] = &[
    "password",
    "reset",
    "vpn",
    "okta",
    "verify",
    "mfa",
    "laptop",
    "printer",
    "wifi",
    "email",
    "calendar",
    "account",
    "locked",
    "sign",
    "in",
    "app",
    "tile",
    "dashboard",
    "access",
    "group",
    "license",
    "install",
    "software",
    "phone",
    "token",
    "badge",
    "network",
    "drive",
    "share",
];
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "po", "ba", "ge", "fi", "ju", "ha", "or",
    "en", "al", "is", "um", "ter", "con", "pro", "ment", "ing", "tion", "ex", "re",
];

/// The word of rank `rank`: function words first (as in English), then IT words, then made-up
/// words, short for common ranks and longer for rare ones.
fn word(rank: usize, function_words: &[&str]) -> String {
    if rank < function_words.len() {
        return function_words[rank].to_string();
    }
    let rank = rank - function_words.len();
    if rank < IT_WORDS.len() {
        return IT_WORDS[rank].to_string();
    }
    let mut n = rank;
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
        if n == 0 {
            break;
        }
    }
    w
}

/// A Zipf-distributed rank (s ≈ 1), by inverse transform on a precomputed table.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|k| {
                total += 1.0 / k as f64;
                total
            })
            .collect::<Vec<_>>();
        let last = total;
        Self {
            cumulative: cumulative.into_iter().map(|c| c / last).collect(),
        }
    }

    fn sample(&self, rng: &mut StdRng) -> usize {
        let u: f64 = rng.gen();
        self.cumulative.partition_point(|c| *c < u)
    }
}

fn words(rng: &mut StdRng, zipf: &Zipf, words: &[String], n: usize) -> String {
    (0..n)
        .map(|_| words[zipf.sample(rng)].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(7);
    let function_words: &[&str] = if std::env::args().any(|a| a == "--no-function-words") {
        &[]
    } else {
        okta_agent::knowledge::index::STOP_WORDS
    };
    let vocabulary: Vec<String> = (0..VOCABULARY)
        .map(|rank| word(rank, function_words))
        .collect();
    let zipf = Zipf::new(VOCABULARY);
    let texts: Vec<(String, String)> = (0..DOCS)
        .map(|d| {
            let mut text = format!(
                "---\ntitle: {}\nlink: https://intranet.example.com/kb/{d}\ntags: [{}]\n---\n",
                words(&mut rng, &zipf, &vocabulary, 4),
                words(&mut rng, &zipf, &vocabulary, 3).replace(' ', ", ")
            );
            for _ in 0..SECTIONS {
                let length = rng.gen_range(40..120);
                text.push_str(&format!(
                    "\n## {}\n{}\n",
                    words(&mut rng, &zipf, &vocabulary, 3),
                    words(&mut rng, &zipf, &vocabulary, length)
                ));
            }
            (format!("kb-{d}.md"), text)
        })
        .collect();
    let total_words: usize = texts
        .iter()
        .map(|(_, t)| t.split_whitespace().count())
        .sum();

    let started = Instant::now();
    let docs = texts
        .iter()
        .map(|(name, text)| parse(name, text, Format::Markdown))
        .collect::<Result<Vec<_>, String>>()?;
    let parse_time = started.elapsed();
    drop(texts);

    let before = resident_bytes();
    let started = Instant::now();
    let help = HelpDocs::new(docs, Synonyms::new(&[]));
    let build_time = started.elapsed();
    let index_bytes = resident_bytes().saturating_sub(before);

    // The classifier over spelling, trained for a store of a hundred of these documents, and
    // refused for all of them (classifier::MAX_STEP_WORK).
    let hundred = HelpDocs::new(help.docs()[..100].to_vec(), Synonyms::new(&[]));
    let started = Instant::now();
    let hundred_spelled = hundred.train_spelling();
    let hundred_time = started.elapsed();
    let started = Instant::now();
    let all_spelled = help.train_spelling();
    let all_time = started.elapsed();
    let started = Instant::now();
    let starter_spelled = HelpDocs::starter().train_spelling();
    let starter_time = started.elapsed();

    let queries: Vec<String> = (0..QUERIES)
        .map(|i| {
            let doc = &help.docs()[rng.gen_range(0..help.len())];
            let section = &doc.sections[rng.gen_range(0..doc.sections.len())];
            let picked: Vec<&str> = section.text.split_whitespace().collect();
            let start = rng.gen_range(0..picked.len().saturating_sub(5).max(1));
            let mut question = format!(
                "how do I {}?",
                picked[start..(start + 5).min(picked.len())].join(" ")
            );
            match i % 4 {
                // A typo: two letters swapped in the longest word.
                1 => {
                    if let Some(longest) = question
                        .split_whitespace()
                        .max_by_key(|w| w.len())
                        .map(str::to_string)
                    {
                        let mut chars: Vec<char> = longest.chars().collect();
                        if chars.len() > 4 {
                            chars.swap(1, 2);
                            question =
                                question.replace(&longest, &chars.into_iter().collect::<String>());
                        }
                    }
                }
                // Chatter: words no document is about.
                3 => question = "anyone up for lunch at the usual place today?".into(),
                _ => {}
            }
            question
        })
        .collect();
    let mut times = Vec::with_capacity(QUERIES);
    let mut answered = 0;
    for question in &queries {
        let started = Instant::now();
        let reply = help.reply_with(question, None);
        times.push(started.elapsed());
        answered += usize::from(matches!(reply, Reply::Answer(_)));
    }
    times.sort();

    println!(
        "{} documents, {} sections, {:.1} M words, vocabulary {} terms",
        help.len(),
        help.sections(),
        total_words as f64 / 1e6,
        help.vocabulary()
    );
    println!("parse:  {:.0} ms", parse_time.as_secs_f64() * 1e3);
    println!(
        "build:  {:.0} ms (budget 1,000 ms)",
        build_time.as_secs_f64() * 1e3
    );
    for (label, trained, time) in [
        ("the starter set", starter_spelled, starter_time),
        ("100 of these documents", hundred_spelled, hundred_time),
        ("all of them", all_spelled, all_time),
    ] {
        println!(
            "spelling classifier, {label}: {} in {:.0} ms",
            if trained { "trained" } else { "refused" },
            time.as_secs_f64() * 1e3
        );
    }
    println!(
        "index:  {:.0} MiB resident",
        index_bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "query:  p50 {:.0} µs · p99 {:.0} µs (budget 1,000 µs) · max {:.0} µs · {} of {} answered",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        times[times.len() - 1].as_secs_f64() * 1e6,
        answered,
        QUERIES
    );

    // The starter set, with the labelled help-channel messages.
    let starter = HelpDocs::starter();
    let messages: Vec<&str> = include_str!("../tests/fixtures/faq_eval.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .collect();
    let mut times = Vec::new();
    for _ in 0..100 {
        for message in &messages {
            let started = Instant::now();
            std::hint::black_box(starter.reply_with(message, None));
            times.push(started.elapsed());
        }
    }
    times.sort();
    println!(
        "starter set ({} documents, {} sections), {} labelled messages × 100: p50 {:.1} µs · p99 {:.1} µs",
        starter.len(),
        starter.sections(),
        messages.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6
    );

    // The same with semantic recall: every section, phrasing and off-topic message embedded
    // (as OpenAI's text-embedding-3-small would, 1,536 dimensions), the question's vector made
    // beforehand; the answer alone is timed, with and without the off-topic messages.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    for (label, off_topic) in [
        ("with the built-in off-topic messages", built_in_off_topic()),
        ("without off-topic messages", Vec::new()),
    ] {
        let semantic = Semantic::new(Arc::new(Pseudo), Recall::at(0.5)).with_off_topic(off_topic);
        let started = Instant::now();
        let docs = runtime
            .block_on(semantic.embed_docs(HelpDocs::starter()))
            .map_err(|e| e.to_string())?;
        // Mostly the classifier's training: the pseudo-vectors cost next to nothing.
        println!(
            "starter set embedded and its classifier trained, {label}: {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        let vectors: Vec<Vec<f32>> = messages
            .iter()
            .map(|m| runtime.block_on(semantic.embed_question(m)))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let mut times = Vec::new();
        for _ in 0..100 {
            for (message, vector) in messages.iter().zip(&vectors) {
                let started = Instant::now();
                std::hint::black_box(docs.reply_with(message, Some(semantic.meaning(vector))));
                times.push(started.elapsed());
            }
        }
        times.sort();
        println!(
            "starter set with semantic recall, {label}: p50 {:.1} µs · p99 {:.1} µs",
            percentile(&times, 0.5).as_secs_f64() * 1e6,
            percentile(&times, 0.99).as_secs_f64() * 1e6
        );
    }
    Ok(())
}

/// Vectors of text-embedding-3-small's size, made from the text's words (no network): what is
/// timed is the arithmetic on them, not what they mean.
struct Pseudo;

#[async_trait::async_trait]
impl Embedder for Pseudo {
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, KnowledgeError> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut rng = StdRng::seed_from_u64(text.len() as u64);
                let mut vector: Vec<f32> = (0..1536).map(|_| rng.gen_range(-1.0..1.0)).collect();
                for word in text.split_whitespace() {
                    let slot = word.bytes().fold(0_usize, |h, b| h * 31 + usize::from(b)) % 1536;
                    vector[slot] += 4.0;
                }
                vector
            })
            .collect())
    }
}
