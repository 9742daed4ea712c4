//! Command-engine parse time: 100,000 messages generated from the phrasebook's phrasings with
//! typos, case changes, noise, Slack markup and the odd very long message, each parsed once
//! after Slack normalization. Prints p50 / p99 / max per message. Budget: p99 ≤ 50 µs.
//!
//! `cargo run --release --example rules_bench`

use std::time::{Duration, Instant};

use okta_agent::agent::rules::parse;
use okta_agent::slack::markup::normalize;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PHRASEBOOK: &str = include_str!("../tests/fixtures/phrasebook.tsv");
const NOISE: &[&str] = &[
    "pls",
    "asap",
    "thanks!",
    "🙏",
    "hey",
    "ty",
    "urgent:",
    "(ticket 4411)",
    "today",
];

/// One generated message: a phrasing, perhaps with a typo, shouting, noise or padding.
fn message(rng: &mut StdRng, phrasings: &[&str]) -> String {
    let mut words: Vec<String> = phrasings[rng.gen_range(0..phrasings.len())]
        .split(' ')
        .map(str::to_string)
        .collect();
    if rng.gen_bool(0.3) {
        // Swap two neighbouring letters in one word: "unlokc".
        let i = rng.gen_range(0..words.len());
        let mut chars: Vec<char> = words[i].chars().collect();
        if chars.len() > 3 {
            let j = rng.gen_range(0..chars.len() - 1);
            chars.swap(j, j + 1);
            words[i] = chars.into_iter().collect();
        }
    }
    if rng.gen_bool(0.2) {
        words.insert(0, NOISE[rng.gen_range(0..NOISE.len())].to_string());
    }
    if rng.gen_bool(0.1) {
        words = words.into_iter().map(|w| w.to_uppercase()).collect();
    }
    let mut text = words.join(" ");
    if rng.gen_bool(0.001) {
        text.push_str(&" and also please check this ".repeat(80));
    }
    text
}

fn main() {
    let phrasings: Vec<&str> = PHRASEBOOK
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .collect();
    let mut rng = StdRng::seed_from_u64(42);
    let messages: Vec<String> = (0..100_000)
        .map(|_| message(&mut rng, &phrasings))
        .collect();
    let mut times: Vec<Duration> = Vec::with_capacity(messages.len());
    let mut actions = 0usize;
    for text in &messages {
        let start = Instant::now();
        let parsed = parse(&normalize(text));
        times.push(start.elapsed());
        if matches!(parsed, okta_agent::agent::rules::Parsed::Actions(_)) {
            actions += 1;
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let total: Duration = times.iter().sum();
    println!(
        "command engine: {} messages ({actions} read as actions); per message p50 {:.1?}, p99 {:.1?}, max {:.1?}, mean {:.1?}",
        times.len(),
        at(0.50),
        at(0.99),
        times[times.len() - 1],
        total / times.len() as u32
    );
}
