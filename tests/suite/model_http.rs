//! The real async-openai client against a fake OpenAI-compatible server on loopback: the exact
//! request body (tools, strict schemas, one call at a time), a tool-call round trip to a card,
//! and what happens when the server fails or answers in a shape the client cannot read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use okta_agent::agent::model::{ModelSettings, OpenAiModel};
use okta_agent::agent::Limits;
use okta_agent::secret::Secret;
use okta_agent::tools::Tool;
use serde_json::{json, Value};

use crate::common::{card, text, Stack};

/// A request the fake saw: its Authorization header and JSON body.
type Seen = (Option<String>, Value);

#[derive(Clone, Default)]
struct FakeOpenAi {
    requests: Arc<Mutex<Vec<Seen>>>,
    answers: Arc<Mutex<Vec<(u16, Value)>>>,
}

async fn completions(
    State(fake): State<FakeOpenAi>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    fake.requests.lock().unwrap().push((auth, body));
    let mut answers = fake.answers.lock().unwrap();
    let (status, answer) = if answers.is_empty() {
        (
            500,
            json!({"error": {"message": "script ended", "type": "server_error"}}),
        )
    } else {
        answers.remove(0)
    };
    (StatusCode::from_u16(status).unwrap(), Json(answer))
}

async fn serve(answers: Vec<(u16, Value)>) -> (FakeOpenAi, String) {
    let fake = FakeOpenAi {
        answers: Arc::new(Mutex::new(answers)),
        ..FakeOpenAi::default()
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, format!("http://{addr}/v1"))
}

fn tool_call(name: &str, arguments: Value, with_type: bool) -> Value {
    let mut call =
        json!({"id": "call_1", "function": {"name": name, "arguments": arguments.to_string()}});
    if with_type {
        call["type"] = json!("function");
    }
    json!({
        "id": "c1", "object": "chat.completion", "created": 1, "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [call]}, "finish_reason": "tool_calls"}]
    })
}

async fn stack_for(base_url: &str) -> Stack {
    okta_agent::install_crypto_provider();
    let settings = ModelSettings {
        base_url: base_url.into(),
        api_key: Secret::new("test-key".into()),
        model: "fake-model".into(),
    };
    let model = OpenAiModel::new(&settings, Duration::from_secs(5)).unwrap();
    Stack::with_model(Some(Arc::new(model)), Limits::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_call_round_trip_over_http() {
    let (fake, base) = serve(vec![(
        200,
        tool_call("unlock_user", json!({"user": "<@U0BOB>"}), true),
    )])
    .await;
    let stack = stack_for(&base).await;
    let outputs = stack.ask("U0LEO", "bob can't get in, unlock him").await;
    let card = card(&outputs).unwrap_or_else(|| panic!("{}", text(&outputs)));
    assert_eq!(card.tool, Tool::UnlockUser);
    assert_eq!(card.target.login, "bob.smith@example.com");

    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "one model call for a one-action request");
    let (auth, body) = &requests[0];
    assert_eq!(auth.as_deref(), Some("Bearer test-key"));
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["parallel_tool_calls"], false);
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), Tool::ALL.len());
    for (sent, tool) in tools.iter().zip(Tool::ALL) {
        assert_eq!(
            sent,
            &tool.wire_definition(),
            "the wire carries exactly tools/{}.json",
            tool.name()
        );
    }
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(
        body["messages"].as_array().unwrap().last().unwrap()["content"],
        "bob can't get in, unlock him"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_unreadable_answers_fall_back_to_the_command_engine() {
    // 5xx: async-openai retries (4 requests in all), then the command engine answers.
    let (fake, base) = serve(Vec::new()).await;
    let stack = stack_for(&base).await;
    let outputs = stack.ask("U0LEO", "unlock <@U0BOB>").await;
    let all = text(&outputs);
    assert!(all.contains("language model is unavailable"), "{all}");
    assert!(card(&outputs).is_some(), "{all}");
    assert_eq!(fake.requests.lock().unwrap().len(), 4);

    // Some local servers omit "type": "function"; the client cannot read that, so fall back.
    let (_fake, base) = serve(vec![(
        200,
        tool_call("unlock_user", json!({"user": "<@U0BOB>"}), false),
    )])
    .await;
    let stack = stack_for(&base).await;
    let outputs = stack.ask("U0LEO", "unlock <@U0BOB>").await;
    let all = text(&outputs);
    assert!(all.contains("language model is unavailable"), "{all}");
    assert!(!all.contains("could not read"), "no provider detail: {all}");
    assert!(card(&outputs).is_some(), "{all}");
    assert_eq!(stack.mutation_count().await, 0);
}
