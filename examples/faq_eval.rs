//! The help-channel evaluation, runnable against a real model:
//!
//! ```text
//! cargo run --example faq_eval                      # keywords (BM25) alone
//! cargo run --example faq_eval -- --model           # and with OPENAI_MODEL judging and writing
//! cargo run --example faq_eval -- --embeddings      # and with OPENAI_EMBEDDINGS_MODEL recall
//! cargo run --example faq_eval -- --set held-out    # the first held-out messages instead
//! cargo run --example faq_eval -- --set symptoms    # the symptom-style messages, both parts
//! cargo run --example faq_eval -- --set office      # thirty office messages, all chatter
//! cargo run --example faq_eval -- --set third       # the third held-out round (tuned on since)
//! cargo run --example faq_eval -- --set fifth       # the fifth held-out round (tuned on since)
//! cargo run --example faq_eval -- --set sixth       # the sixth held-out round (tuned on since)
//! cargo run --example faq_eval -- --set seventh     # the seventh round (tuned on since)
//! cargo run --example faq_eval -- --set eighth      # the eighth round (tuned on since)
//! cargo run --example faq_eval -- --set ninth       # the ninth round (tuned on since)
//! cargo run --example faq_eval -- --set tenth       # the tenth, never tuned on (no --misses!)
//! cargo run --example faq_eval -- --set eleventh    # the eleventh, never tuned on (no --misses!)
//! cargo run --example faq_eval -- --set ninth-draft # the ninth before its rows were rewritten
//! cargo run --example faq_eval -- --set ninth --taught ninth-draft
//!                                                   # after admins taught the draft's words
//! cargo run --example faq_eval -- --set tenth --taught main,third,fourth
//!                                                   # after admins taught those sets' questions
//! cargo run --example faq_eval -- --misses          # list every miss
//! ```
//!
//! The model settings come from the usual `OPENAI_*` variables (or the config file). The
//! figures are top-1 accuracy (the right document cited first) on IT questions and the
//! false-answer rate (any reply) on chatter, over the starter help documents. Without
//! `--model`, each run also counts what a model would be asked to judge: the questions no
//! document answers for sure, how many of them have the right document among the closest,
//! and the non-IT messages that would go too. With `--model`, those questions go to it, as in
//! the service.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use okta_agent::agent::help::respond;
use okta_agent::agent::model::{ModelClient, OpenAiModel};
use okta_agent::config::Settings;
use okta_agent::knowledge::eval::{cases, lessons, Case, Report};
use okta_agent::knowledge::semantic::{OpenAiEmbedder, Semantic};
use okta_agent::knowledge::{HelpDocs, Knowledge, Reply};

/// The sets by name, the evaluation set first (the default).
const SETS: &[(&str, &str)] = &[
    ("main", include_str!("../tests/fixtures/faq_eval.tsv")),
    (
        "held-out",
        include_str!("../tests/fixtures/faq_heldout.tsv"),
    ),
    (
        "symptoms",
        include_str!("../tests/fixtures/faq_symptoms.tsv"),
    ),
    (
        "office",
        include_str!("../tests/fixtures/faq_office_chatter.tsv"),
    ),
    ("third", include_str!("../tests/fixtures/faq_fresh.tsv")),
    ("fourth", include_str!("../tests/fixtures/faq_round4.tsv")),
    ("fifth", include_str!("../tests/fixtures/faq_round5.tsv")),
    ("sixth", include_str!("../tests/fixtures/faq_round6.tsv")),
    ("seventh", include_str!("../tests/fixtures/faq_round7.tsv")),
    ("eighth", include_str!("../tests/fixtures/faq_round8.tsv")),
    ("ninth", include_str!("../tests/fixtures/faq_round9.tsv")),
    ("tenth", include_str!("../tests/fixtures/faq_round10.tsv")),
    (
        "eleventh",
        include_str!("../tests/fixtures/faq_round11.tsv"),
    ),
    (
        "ninth-draft",
        include_str!("../tests/fixtures/faq_round9_draft.tsv"),
    ),
];

#[tokio::main]
async fn main() -> Result<()> {
    okta_agent::install_crypto_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let name = args
        .iter()
        .position(|a| a == "--set")
        .and_then(|i| args.get(i + 1))
        .map_or("main", String::as_str);
    let Some((_, set)) = SETS.iter().find(|(known, _)| *known == name) else {
        let names: Vec<&str> = SETS.iter().map(|(known, _)| *known).collect();
        bail!("--set {name}: use one of {}", names.join(", "));
    };
    let mut taught = Vec::new();
    if let Some(i) = args.iter().position(|a| a == "--taught") {
        let names = args.get(i + 1).map_or("", String::as_str);
        for name in names.split(',') {
            let Some((_, set)) = SETS.iter().find(|(known, _)| *known == name) else {
                bail!("--taught {name}: name the sets whose questions admins taught, separated by commas");
            };
            taught.extend(lessons(&cases(set).map_err(anyhow::Error::msg)?));
        }
    }
    let cases = cases(set).map_err(anyhow::Error::msg)?;
    let settings = Settings::from_env(None, None)?;
    if !taught.is_empty() {
        println!(
            "{} questions taught as learned phrasings of their documents first",
            taught.len()
        );
    }

    let keywords = Arc::new(Knowledge::fixed(HelpDocs::starter()));
    keywords.set_learned(taught.clone());
    run(
        "keywords (BM25) alone",
        &cases,
        &keywords,
        None,
        flag("--misses"),
    )
    .await;

    let mut semantic = None;
    if flag("--embeddings") {
        let embeddings = settings.knowledge.embeddings.as_ref().context(
            "--embeddings needs OPENAI_EMBEDDINGS_MODEL (and OPENAI_BASE_URL or OPENAI_API_KEY)",
        )?;
        let embedder = OpenAiEmbedder::new(embeddings, Duration::from_secs(60))?;
        let knowledge = Arc::new(
            Knowledge::fixed(HelpDocs::starter()).with_semantic(
                Semantic::new(Arc::new(embedder), settings.knowledge.recall)
                    .with_off_topic(settings.knowledge.off_topic.clone()),
            ),
        );
        knowledge.set_learned(taught);
        knowledge.refresh().await?;
        let label = format!(
            "keywords + embeddings ({}, min_similarity {}, semantic_weight {})",
            embeddings.model,
            settings.knowledge.recall.min_similarity,
            settings.knowledge.recall.weight
        );
        run(&label, &cases, &knowledge, None, flag("--misses")).await;
        semantic = Some(knowledge);
    }
    if flag("--model") {
        let llm = settings
            .llm
            .as_ref()
            .context("--model needs OPENAI_MODEL (and OPENAI_BASE_URL or OPENAI_API_KEY)")?;
        let model: Arc<dyn ModelClient> = Arc::new(OpenAiModel::new(llm, Duration::from_secs(60))?);
        let knowledge = semantic.unwrap_or(keywords);
        let label = format!("with the model {} judging and writing", llm.model);
        run(&label, &cases, &knowledge, Some(model), flag("--misses")).await;
    }
    Ok(())
}

async fn run(
    label: &str,
    cases: &[Case],
    knowledge: &Arc<Knowledge>,
    model: Option<Arc<dyn ModelClient>>,
    misses: bool,
) {
    let started = Instant::now();
    let mut replies = Vec::with_capacity(cases.len());
    // Without a model: the questions no document answers for sure, how many of them have the
    // right document among the closest (what a model judging them could answer), and the
    // non-IT messages a model would be asked to judge.
    let (mut unsure, mut reachable, mut unsure_chatter) = (0, 0, 0);
    for case in cases {
        let reply = match &model {
            Some(model) => respond(knowledge, Some(model.as_ref()), &case.message).await,
            None => match knowledge.reply_async(&case.message).await {
                Reply::Answer(answer) => Some(answer),
                Reply::Unsure(closest) => {
                    match &case.expected {
                        Some(expected) => {
                            unsure += 1;
                            if closest.sections.iter().any(|(c, _)| &c.source == expected) {
                                reachable += 1;
                            }
                        }
                        None => unsure_chatter += 1,
                    }
                    None
                }
                Reply::OffTopic | Reply::Nothing => None,
            },
        };
        replies.push(reply.map(|answer| first_source(&answer)));
    }
    let report = Report::score(cases, &replies);
    println!("{label}: {}", report.summary());
    println!(
        "  {} messages in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    if model.is_none() {
        println!(
            "  for a model to judge: {unsure} unanswered questions (the right document among the closest for {reachable}) and {unsure_chatter} non-IT messages"
        );
    }
    if misses {
        for miss in &report.misses {
            println!("  miss: {miss}");
        }
    }
}

fn first_source(answer: &okta_agent::knowledge::HelpAnswer) -> String {
    answer
        .citations
        .first()
        .map(|c| c.source.clone())
        .unwrap_or_default()
}
