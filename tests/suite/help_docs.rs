//! The virtual assistant's retrieval, measured: the labelled help-channel set against the
//! starter documents, with the floors a team needs to keep it switched on.

use okta_agent::knowledge::eval::{cases, lessons, Report};
use okta_agent::knowledge::HelpDocs;

const SET: &str = include_str!("../fixtures/faq_eval.tsv");

/// Scores the starter documents, without a model, on a labelled set.
fn run(set: &str) -> Report {
    run_with(&HelpDocs::starter(), set)
}

/// Scores these documents, without a model, on a labelled set.
fn run_with(docs: &HelpDocs, set: &str) -> Report {
    let cases = cases(set).unwrap();
    let replies: Vec<Option<String>> = cases
        .iter()
        .map(|case| {
            docs.answer(&case.message).map(|a| {
                a.citations
                    .first()
                    .map(|c| c.source.clone())
                    .unwrap_or_default()
            })
        })
        .collect();
    Report::score(&cases, &replies)
}

#[test]
fn the_evaluation_set_is_big_enough_and_names_real_documents() {
    let cases = cases(SET).unwrap();
    let questions = cases.iter().filter(|c| c.expected.is_some()).count();
    let chatter = cases.len() - questions;
    assert!(questions >= 80, "{questions} IT questions");
    assert!(chatter >= 30, "{chatter} non-IT messages");
    let docs = HelpDocs::starter();
    for case in &cases {
        if let Some(expected) = &case.expected {
            assert!(
                docs.docs().iter().any(|d| &d.source == expected),
                "{:?} expects {expected}, which is not a starter document",
                case.message
            );
        }
    }
}

#[test]
fn without_a_model_top1_is_at_least_90_percent_and_false_answers_at_most_3() {
    let report = run(SET);
    println!("help-channel evaluation, no model: {}", report.summary());
    for miss in &report.misses {
        println!("  miss: {miss}");
    }
    assert!(
        report.top1() >= 90.0,
        "{}\n{:#?}",
        report.summary(),
        report.misses
    );
    assert!(
        report.false_answer_rate() <= 3.0,
        "{}\n{:#?}",
        report.summary(),
        report.misses
    );
}

const HELD_OUT: &str = include_str!("../fixtures/faq_heldout.tsv");

/// Written after tuning and not tuned against until the third held-out round was written
/// (`fresh_round_never_tuned_on`): 91.1% then, 100% once its misses were tuned on.
#[test]
fn first_held_out_set() {
    let report = run(HELD_OUT);
    println!("help-channel held-out set, no model: {}", report.summary());
    for miss in &report.misses {
        println!("  miss: {miss}");
    }
    assert!(
        report.top1() >= 97.0,
        "{}\n{:#?}",
        report.summary(),
        report.misses
    );
    assert!(
        report.wrong <= 2,
        "{}\n{:#?}",
        report.summary(),
        report.misses
    );
    assert!(
        report.false_answers <= 1,
        "{}\n{:#?}",
        report.summary(),
        report.misses
    );
}

/// With a model: it sees only the retrieved sections, and can only make the bot quieter or
/// better grounded. Its citations are the sections it names; a self-service offer stays only
/// when the first of them is from the document that offers it.
#[tokio::test]
async fn a_model_answers_from_the_sections_or_not_at_all() {
    use okta_agent::agent::help::{compose, Composed};
    use okta_agent::agent::model::{ChatMessage, ScriptedModel};

    let docs = HelpDocs::starter();
    let retrieved = docs.answer("I'm locked out of okta").unwrap();
    assert!(retrieved.self_service.is_some());

    let model = ScriptedModel::new([
        ScriptedModel::text("Wait 30 minutes or ask okta-agent to unlock you [1]."),
        ScriptedModel::text("NO_ANSWER"),
        ScriptedModel::text("NOT_IT"),
    ]);
    let Composed::Answer(answer) = compose(&model, "I'm locked out of okta", &retrieved)
        .await
        .unwrap()
    else {
        panic!("an answer")
    };
    assert_eq!(answer.citations, vec![retrieved.sections[0].0.clone()]);
    assert_eq!(answer.self_service, retrieved.self_service);
    assert!(matches!(
        compose(&model, "I'm locked out of okta", &retrieved)
            .await
            .unwrap(),
        Composed::NoAnswer
    ));
    assert!(matches!(
        compose(&model, "I'm locked out of okta", &retrieved)
            .await
            .unwrap(),
        Composed::NotIt
    ));
    // The sections are the model's only material, and it is told so.
    let ChatMessage::System(system) = &model.requests()[0][0] else {
        panic!("a system prompt first")
    };
    assert!(system.contains("using only the numbered help-document sections"));
    assert!(system.contains(&retrieved.sections[0].1));

    // Citing another document's section drops the offer that came with the first.
    let mut elsewhere = retrieved.clone();
    elsewhere.sections.push((
        okta_agent::knowledge::Citation {
            title: "Password rules".into(),
            link: None,
            source: "password-policy.md".into(),
        },
        "Passwords must be at least 14 characters long.".into(),
    ));
    let last = elsewhere.sections.len();
    let model = ScriptedModel::new([ScriptedModel::text(&format!("See [{last}]."))]);
    let Composed::Answer(answer) = compose(&model, "I'm locked out", &elsewhere).await.unwrap()
    else {
        panic!("an answer")
    };
    assert_eq!(answer.citations[0].source, "password-policy.md");
    assert_eq!(answer.self_service, None);
}

/// `[knowledge]` over the starter documents' folder, keywords alone.
fn starter_folder() -> okta_agent::config::KnowledgeSettings {
    okta_agent::config::KnowledgeSettings {
        sources: okta_agent::knowledge::sources::Sources {
            folder: Some(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/knowledge/starter"),
            ),
            ..Default::default()
        },
        reload_seconds: 5,
        ..Default::default()
    }
}

/// A question no document answers for sure goes to the model with the closest documents'
/// sections, through the engine's help-channel path, and is answered only when the model
/// cites one of them. "Not in these", "not IT", an uncited answer, or no model at all leave
/// it unanswered, as before; a statement is never sent.
#[tokio::test]
async fn a_model_judges_the_closest_documents_of_a_question_none_answers_for_sure() {
    use okta_agent::agent::model::{ChatMessage, ScriptedModel};
    use okta_agent::engine::Output;
    use okta_agent::knowledge::Reply;
    use std::sync::Arc;
    okta_agent::install_crypto_provider();

    const ASKED: &str = "the verify thing wants a code every time, normal?";
    const STATEMENT: &str = "the new coffee machine on the third floor is great";
    let docs = HelpDocs::starter();
    assert!(
        docs.answer(ASKED).is_none(),
        "no document answers it for sure"
    );
    let Reply::Unsure(closest) = docs.reply_with(ASKED, None) else {
        panic!("a question some documents come close to")
    };
    let sources: Vec<&str> = closest
        .sections
        .iter()
        .map(|(citation, _)| citation.source.as_str())
        .collect();
    assert!((2..=4).contains(&sources.len()), "{sources:?}");
    assert!(
        sources
            .iter()
            .enumerate()
            .all(|(i, s)| !sources[..i].contains(s)),
        "one section per document: {sources:?}"
    );
    let mfa = 1 + sources
        .iter()
        .position(|s| *s == "mfa-setup.md")
        .expect("MFA set-up among the closest");
    assert!(matches!(docs.reply_with(STATEMENT, None), Reply::Nothing));
    // Another, whose closest documents include one that offers a self-service action.
    const WRONG_TRIES: &str =
        "why can't I get past the okta screen after typing wrong a few times?";
    let Reply::Unsure(tries) = docs.reply_with(WRONG_TRIES, None) else {
        panic!("a question some documents come close to")
    };
    let reset = 1 + tries
        .sections
        .iter()
        .position(|(citation, _)| citation.source == "reset-password.md")
        .expect("the reset page among the closest");
    assert!(
        reset > 1,
        "not the closest: the offer follows what the model cites"
    );

    let model = Arc::new(ScriptedModel::new([
        ScriptedModel::text(&format!(
            "Install Okta Verify from your phone's app store [{mfa}]."
        )),
        ScriptedModel::text("NO_ANSWER"),
        ScriptedModel::text("NOT_IT"),
        ScriptedModel::text("Install Okta Verify."),
        ScriptedModel::text(&format!(
            "Wait for the lockout to pass, or reset your password [{reset}]."
        )),
    ]));
    let stack = crate::common::Stack::with_knowledge(starter_folder(), Some(model.clone())).await;
    stack.engine().agent().knowledge().refresh().await.unwrap();
    let outputs = stack.engine().help_question("U0ANA", ASKED).await;
    let [Output::Help { answer, .. }] = outputs.as_slice() else {
        panic!("one answer: {outputs:?}")
    };
    assert!(answer.text.contains("Okta Verify"), "{}", answer.text);
    assert_eq!(answer.citations[0].source, "mfa-setup.md");
    let ChatMessage::System(system) = &model.requests()[0][0] else {
        panic!("a system prompt first")
    };
    for (_, text) in &closest.sections {
        assert!(
            system.contains(text.as_str()),
            "the model read every closest section"
        );
    }
    // "Not in these sections", "not an IT question" and an answer that cites nothing.
    for _ in 0..3 {
        let outputs = stack.engine().help_question("U0ANA", ASKED).await;
        assert!(outputs.is_empty(), "{outputs:?}");
    }
    assert_eq!(model.requests().len(), 4);
    assert!(stack
        .engine()
        .help_question("U0ANA", STATEMENT)
        .await
        .is_empty());
    assert_eq!(model.requests().len(), 4, "a statement is not judged");
    // The answer offers the action of the document the model cites first.
    let outputs = stack.engine().help_question("U0ANA", WRONG_TRIES).await;
    let [Output::Help { answer, offer, .. }] = outputs.as_slice() else {
        panic!("one answer: {outputs:?}")
    };
    assert_eq!(answer.citations[0].source, "reset-password.md");
    assert_eq!(
        offer.as_ref().map(|(tool, _)| *tool),
        Some(okta_agent::tools::Tool::ResetPassword)
    );

    let without = crate::common::Stack::with_knowledge(starter_folder(), None).await;
    without
        .engine()
        .agent()
        .knowledge()
        .refresh()
        .await
        .unwrap();
    assert!(without
        .engine()
        .help_question("U0ANA", ASKED)
        .await
        .is_empty());
}

/// The model searching the help documents for such a question gets the closest sections,
/// marked as not a sure answer, to judge itself.
#[tokio::test]
async fn the_model_searching_the_documents_gets_the_closest_when_none_is_sure() {
    use okta_agent::agent::model::{ChatMessage, ScriptedModel};
    use std::sync::Arc;
    okta_agent::install_crypto_provider();

    const ASKED: &str = "the verify thing wants a code every time, normal?";
    let model = Arc::new(ScriptedModel::new([
        ScriptedModel::call("search_help_docs", serde_json::json!({ "query": ASKED })),
        ScriptedModel::text("Install Okta Verify, as the MFA set-up page says."),
    ]));
    let stack = crate::common::Stack::with_knowledge(starter_folder(), Some(model.clone())).await;
    stack.engine().agent().knowledge().refresh().await.unwrap();
    stack
        .ask("U0ANA", "@okta-agent tell me which app for 2 step")
        .await;
    let told = model.requests()[1]
        .iter()
        .find_map(|m| match m {
            ChatMessage::Tool { content, .. } => Some(content.clone()),
            _ => None,
        })
        .expect("the search's result");
    assert!(
        told.starts_with(&format!("No help document answers \"{ASKED}\" for sure.")),
        "{told}"
    );
    assert!(
        told.contains("Set up multi-factor authentication"),
        "{told}"
    );
}

/// `cargo run --example faq_eval` as docs/assistant.md runs it, without a model: its figures
/// are the library's, and it counts what a model would be asked to judge. `cargo test` builds
/// the examples first.
#[test]
fn faq_eval_prints_the_figures_and_what_a_model_would_judge() {
    use okta_agent::knowledge::Reply;
    let debug = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .to_path_buf();
    let example = debug.join("examples/faq_eval");
    // Cargo holds the build directory while tests run, so this test cannot build it itself.
    assert!(
        example.exists(),
        "{} is missing: `cargo test` builds the examples; for a run of only this test, `cargo build --example faq_eval` first",
        example.display()
    );
    let out = std::process::Command::new(&example)
        .args(["--set", "seventh"])
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let expected = run(SEVENTH_ROUND);
    assert!(
        stdout.contains(&format!("keywords (BM25) alone: {}", expected.summary())),
        "{stdout}"
    );
    let docs = HelpDocs::starter();
    let (mut unsure, mut reachable, mut chatter) = (0, 0, 0);
    for case in cases(SEVENTH_ROUND).unwrap() {
        if let Reply::Unsure(closest) = docs.reply_with(&case.message, None) {
            match &case.expected {
                Some(file) => {
                    unsure += 1;
                    reachable +=
                        usize::from(closest.sections.iter().any(|(c, _)| &c.source == file));
                }
                None => chatter += 1,
            }
        }
    }
    assert!(
        unsure > 0,
        "the seventh round has questions no document answers for sure"
    );
    assert!(
        stdout.contains(&format!(
            "for a model to judge: {unsure} unanswered questions (the right document among the closest for {reachable}) and {chatter} non-IT messages"
        )),
        "{stdout}"
    );

    let wrong = std::process::Command::new(&example)
        .args(["--set", "twelfth"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("--set twelfth: use one of main, held-out"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    // Several sets taught at once, as docs/assistant.md teaches a desk's history: their
    // questions are counted, and the figures are the library's with those lessons.
    let taught = std::process::Command::new(&example)
        .args(["--set", "tenth", "--taught", "eighth,ninth"])
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&taught.stdout);
    assert!(taught.status.success(), "{stdout}");
    let lessons: Vec<_> = [EIGHTH_ROUND, NINTH_ROUND]
        .iter()
        .flat_map(|set| lessons(&cases(set).unwrap()))
        .collect();
    assert!(
        stdout.starts_with("96 questions taught as learned phrasings of their documents first"),
        "{stdout}"
    );
    let expected = run_with(&HelpDocs::starter().with_learned(&lessons), TENTH_ROUND);
    assert!(
        stdout.contains(&format!("keywords (BM25) alone: {}", expected.summary())),
        "{stdout}"
    );
    let unknown = std::process::Command::new(&example)
        .args(["--set", "tenth", "--taught", "eighth,twelfth"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("--taught twelfth: name the sets"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}

const SYMPTOMS: &str = include_str!("../fixtures/faq_symptoms.tsv");

/// The symptom-style set's two parts: the rows that may be tuned on, and the held-out rows.
fn symptom_parts() -> (&'static str, &'static str) {
    let (tuned, rest) = SYMPTOMS
        .split_once("# --- held-out")
        .expect("faq_symptoms.tsv has a held-out marker");
    (tuned, rest.split_once('\n').map_or("", |(_, rows)| rows))
}

/// People describe what happened to them ("my phone fell in the lake") more often than they
/// name a topic ("reset MFA"). Both parts are printed; the held-out part, with the older
/// held-out set, carries the budget: top-1 at least 90%, false answers at most 5%.
#[test]
fn symptom_style_messages() {
    let (tuned, held_out) = symptom_parts();
    let tuned = run(tuned);
    println!("symptom-style, tuned on: {}", tuned.summary());
    for miss in &tuned.misses {
        println!("  miss: {miss}");
    }
    let symptoms_held_out = run(held_out);
    println!("symptom-style, held out: {}", symptoms_held_out.summary());
    for miss in &symptoms_held_out.misses {
        println!("  miss: {miss}");
    }
    let all_held_out = run(&format!("{HELD_OUT}\n{held_out}"));
    println!("every held-out row: {}", all_held_out.summary());
    // Floors at today's figures (issue 20 measured 37.0% and 36.8% before). The held-out rows
    // were tuned on once the third round (`fresh_round_never_tuned_on`) was written: 85.5%
    // before, 98.8% after.
    assert!(tuned.top1() >= 95.0, "{}", tuned.summary());
    assert!(tuned.false_answers <= 1, "{}", tuned.summary());
    assert!(all_held_out.top1() >= 97.0, "{}", all_held_out.summary());
    assert!(
        all_held_out.false_answer_rate() <= 5.0,
        "{}",
        all_held_out.summary()
    );
}

/// Learned phrasings never make the assistant answer chatter: with every question of the
/// sets tuned on learned as a phrasing of its document (far more than a team teaches), the
/// non-IT messages of every set still get at most 5% replies.
#[test]
fn learned_phrasings_do_not_make_chatter_answered() {
    use okta_agent::knowledge::LearnedPhrasing;
    let (tuned, held_out) = symptom_parts();
    let taught: Vec<LearnedPhrasing> = cases(&format!("{SET}\n{tuned}"))
        .unwrap()
        .into_iter()
        .filter_map(|case| Some((case.expected?, case.message)))
        .enumerate()
        .map(|(i, (doc, phrasing))| LearnedPhrasing {
            id: i as i64 + 1,
            doc,
            phrasing,
            taught_by: "U0LEO".into(),
            taught_at: 0,
        })
        .collect();
    assert!(taught.len() > 100);
    let docs = HelpDocs::starter().with_learned(&taught);
    let chatter: String = [SET, HELD_OUT, tuned, held_out]
        .iter()
        .flat_map(|set| set.lines())
        .filter(|line| line.ends_with("\t-"))
        .collect::<Vec<_>>()
        .join("\n");
    let report = run_with(&docs, &chatter);
    println!(
        "chatter with {} learned phrasings: {}",
        taught.len(),
        report.summary()
    );
    assert!(report.chatter >= 75, "{}", report.chatter);
    assert!(
        report.false_answer_rate() <= 5.0,
        "{}\n{:#?}",
        report.summary(),
        report.misses
    );
    // And the held-out questions do no worse for them.
    let held = run_with(&docs, &format!("{HELD_OUT}\n{held_out}"));
    println!("held-out rows with them: {}", held.summary());
    assert!(held.top1() >= 97.0, "{}", held.summary());
}

/// A held-out round (three questions for each starter document, sixteen non-IT messages),
/// scored, with its summary printed.
fn round(set: &str, name: &str) -> Report {
    let report = run(set);
    println!("{name}: {}", report.summary());
    assert_eq!(report.questions, 48);
    assert_eq!(report.chatter, 16);
    report
}

/// A round scored against its floors. When it falls below them, a round opened for tuning
/// shows its misses; a round never tuned on shows its figures alone, since reading its misses
/// would make them rows to tune on.
fn floors(set: &str, name: &str, min_top1: f64, max_false_answers: usize, tuned_on: bool) {
    let report = round(set, name);
    let why = if tuned_on {
        format!("{:#?}", report.misses)
    } else {
        report.summary()
    };
    assert!(report.top1() >= min_top1, "{why}");
    assert!(report.false_answers <= max_false_answers, "{why}");
}

/// A round opened for tuning.
fn tuned_round(set: &str, name: &str, min_top1: f64, max_false_answers: usize) {
    let name = format!("{name} held-out round (tuned on)");
    floors(set, &name, min_top1, max_false_answers, true);
}

const THIRD_ROUND: &str = include_str!("../fixtures/faq_fresh.tsv");

/// The third held-out round: never tuned on until the fourth was written (77.1% untouched,
/// 81.2% before it was opened); tuned on since, so its misses are shown.
#[test]
fn third_round_tuned_on_since_the_fourth() {
    tuned_round(THIRD_ROUND, "third", 97.0, 1);
}

const FOURTH_ROUND: &str = include_str!("../fixtures/faq_round4.tsv");

/// The fourth held-out round: never tuned on until the fifth was written (64.6% when written,
/// 66.7% before it was opened); tuned on since, so its misses are shown.
#[test]
fn fourth_round_tuned_on_since_the_fifth() {
    tuned_round(FOURTH_ROUND, "fourth", 95.0, 1);
}

const FIFTH_ROUND: &str = include_str!("../fixtures/faq_round5.tsv");

/// The fifth held-out round: never tuned on until the sixth was written (70.8% when written
/// and before it was opened); tuned on since, so its misses are shown.
#[test]
fn fifth_round_tuned_on_since_the_sixth() {
    tuned_round(FIFTH_ROUND, "fifth", 89.0, 0);
}

const SIXTH_ROUND: &str = include_str!("../fixtures/faq_round6.tsv");

/// The sixth held-out round: never tuned on until the seventh was written (70.8% when written,
/// 79.2% after the fourth and fifth rounds were tuned on, before it was opened); tuned on since,
/// so its misses are shown.
#[test]
fn sixth_round_tuned_on_since_the_seventh() {
    tuned_round(SIXTH_ROUND, "sixth", 97.0, 1);
}

const SEVENTH_ROUND: &str = include_str!("../fixtures/faq_round7.tsv");

/// The seventh held-out round: never tuned on until the eighth was written (58.3% when written,
/// 60.4% after the sixth round was tuned on, before it was opened); tuned on since, so its
/// misses are shown.
#[test]
fn seventh_round_tuned_on_since_the_eighth() {
    tuned_round(SEVENTH_ROUND, "seventh", 60.0, 1);
}

/// A round never tuned on.
fn held_out_round(set: &str, name: &str, min_top1: f64, max_false_answers: usize) {
    floors(set, name, min_top1, max_false_answers, false);
}

const EIGHTH_ROUND: &str = include_str!("../fixtures/faq_round8.tsv");

/// The eighth held-out round: never tuned on until the tenth was written (52.1% when written);
/// tuned on since, so its misses are shown.
#[test]
fn eighth_round_tuned_on_since_the_tenth() {
    tuned_round(EIGHTH_ROUND, "eighth", 89.0, 1);
}

const NINTH_ROUND: &str = include_str!("../fixtures/faq_round9.tsv");

/// The ninth held-out round: never tuned on until the tenth was written (41.7% when written);
/// tuned on since, so its misses are shown. Booking annual leave is no leaver any more.
#[test]
fn ninth_round_tuned_on_since_the_tenth() {
    tuned_round(NINTH_ROUND, "ninth", 89.0, 0);
}

const NINTH_ROUND_DRAFT: &str = include_str!("../fixtures/faq_round9_draft.tsv");

/// The ninth round's first draft, before its rows were rewritten away from the earlier sets: the
/// same author's usual words (75.0% when measured, docs/assistant.md).
#[test]
fn ninth_round_first_draft() {
    tuned_round(NINTH_ROUND_DRAFT, "ninth round, first draft", 81.0, 0);
}

/// The ninth round after admins taught the first draft's questions (as if each had been
/// escalated once and answered in the thread): the same people's other words find their
/// documents more often, and chatter stays as quiet as before.
#[test]
fn the_ninth_round_after_admins_taught_the_drafts_words() {
    let taught = lessons(&cases(NINTH_ROUND_DRAFT).unwrap());
    assert_eq!(taught.len(), 48);
    let before = run(NINTH_ROUND);
    let after = run_with(&HelpDocs::starter().with_learned(&taught), NINTH_ROUND);
    println!("ninth round, taught the draft: {}", after.summary());
    // 93.8% (45/48) against 89.6% since the round was tuned on (58.3% against 41.7% before,
    // docs/assistant.md); no false answer, as before.
    assert!(after.right >= before.right + 2, "{}", after.summary());
    assert!(
        after.false_answers <= before.false_answers,
        "{}",
        after.summary()
    );
}

const TENTH_ROUND: &str = include_str!("../fixtures/faq_round10.tsv");

/// The tenth held-out round, written before the eighth and ninth rounds' misses were opened and
/// never tuned on: it carries the budget (top-1 at least 90%, false answers at most 5%).
#[test]
fn tenth_round_never_tuned_on() {
    // Floors at the figures after the eighth and ninth were tuned on: 43.8% (21/48; 9 wrong,
    // 18 silent) and no false answer of 16 (27.1% when written); the budget is not met
    // (docs/assistant.md).
    held_out_round(TENTH_ROUND, "tenth held-out round", 43.7, 0);
}

const ELEVENTH_ROUND: &str = include_str!("../fixtures/faq_round11.tsv");

/// The eleventh held-out round, written after the classifier over spelling was built and never
/// tuned on: its rows were rewritten until none shared its words with an earlier row.
#[test]
fn eleventh_round_never_tuned_on() {
    // Floors at the figures when written: 39.6% (19/48; 2 wrong, 27 silent) and one false
    // answer of 16, over the 5% budget (docs/assistant.md).
    held_out_round(ELEVENTH_ROUND, "eleventh held-out round", 39.5, 1);
}

/// A help desk that has taught every tuned set's questions (604, as if each had been escalated
/// once and answered in the thread): over the chatter of every set, it answers no more than
/// before, and stays within the 5% budget. A learned phrasing that says its document's topic
/// ("the wifi in the east wing drops") no longer answers a message that only shares the rest
/// ("the heating in the east wing"): that answered four more chatter messages before.
#[test]
fn a_desk_that_learned_every_tuned_question_answers_no_more_chatter() {
    let tuned = [
        SET,
        HELD_OUT,
        SYMPTOMS,
        THIRD_ROUND,
        FOURTH_ROUND,
        FIFTH_ROUND,
        SIXTH_ROUND,
        SEVENTH_ROUND,
        EIGHTH_ROUND,
        NINTH_ROUND,
        NINTH_ROUND_DRAFT,
    ];
    let taught: Vec<_> = tuned
        .iter()
        .flat_map(|set| lessons(&cases(set).unwrap()))
        .collect();
    assert_eq!(taught.len(), 604);
    let learned = HelpDocs::starter().with_learned(&taught);
    let (mut chatter, mut before, mut after) = (0, 0, 0);
    for set in tuned.iter().chain([&TENTH_ROUND, &OFFICE_CHATTER]) {
        let untaught = run(set);
        let taught = run_with(&learned, set);
        chatter += taught.chatter;
        before += untaught.false_answers;
        after += taught.false_answers;
    }
    println!("chatter answered: {after} of {chatter} taught, {before} untaught");
    // 7 of 253 taught, 8 untaught (docs/assistant.md).
    assert_eq!(chatter, 253);
    assert!(after <= before, "{after} against {before}");
    assert!(after * 20 <= chatter, "{after} of {chatter}");
}

const OFFICE_CHATTER: &str = include_str!("../fixtures/faq_office_chatter.tsv");

/// Thirty office messages, written to check the starter documents' `questions` against: a
/// phrasing's words that no document uses weigh as rare words, so a careless phrasing
/// ("no internet in the meeting room") would answer chatter ("book a meeting room").
#[test]
fn office_chatter_stays_unanswered() {
    let report = run(OFFICE_CHATTER);
    println!("office chatter: {}", report.summary());
    assert_eq!(report.chatter, 30);
    // Today: one ("lost my badge, how do I get a new one" reads as a lost phone).
    assert!(report.false_answers <= 1, "{:#?}", report.misses);
}
