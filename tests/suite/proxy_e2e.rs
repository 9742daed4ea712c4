//! Through a real forward proxy (Debian's tinyproxy on loopback): the Socket Mode websocket (a
//! CONNECT tunnel), every Slack Web API call, Okta, and the model all go through it, and the
//! proxy's own log shows each of them.

use serde_json::json;

use crate::common::fake_slack::{mention, wait_until};
use crate::common::rig::{Rig, CHANNEL};
use crate::common::services::TinyProxy;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_okta_and_the_websocket_go_through_the_proxy() {
    let mut rig = Rig::new().await;
    let Some(proxy) = TinyProxy::start(rig.dir.path()) else {
        return;
    };
    assert_eq!(rig.stop().await.code(), Some(0));
    rig.env = vec![
        ("HTTPS_PROXY".into(), proxy.url()),
        ("HTTP_PROXY".into(), proxy.url()),
    ];
    rig.start().await;
    // A request, a card, an approval: users.info (GET), Okta reads and the unlock, and
    // chat.postMessage and chat.update, all through the proxy.
    let (id, card) = rig
        .request("U0LEO", "unlock <@U0BOB>", "1700003000.000100")
        .await;
    rig.click("U0LEO", "approve", &id, &card).await;
    rig.until_mutations(1).await;
    // A second request later reuses (or replaces) pooled connections through the proxy.
    rig.post(
        "EvSecond",
        mention(
            "U0ANA",
            "what groups is <@U0ANA> in?",
            CHANNEL,
            "1700003000.000200",
        ),
    )
    .await;
    rig.until_done("EvSecond").await;
    assert!(
        rig.reply_in("1700003000.000200").is_some(),
        "{}",
        rig.logs()
    );

    let logged = proxy.logged();
    let ws_port = rig.fake.ws_port();
    let slack_api = rig.fake.api_url.trim_start_matches("http://").to_string();
    let okta = rig
        .harness
        .sandbox
        .url()
        .trim_start_matches("http://")
        .to_string();
    assert!(
        logged.contains(&format!("CONNECT 127.0.0.1:{ws_port}")),
        "the websocket tunnel:\n{logged}"
    );
    for method in [
        "auth.test",
        "apps.connections.open",
        "users.info",
        "chat.postMessage",
        "chat.update",
    ] {
        assert!(
            logged.contains(&format!("http://{slack_api}/{method}")),
            "{method} through the proxy:\n{logged}"
        );
    }
    assert!(
        logged.contains(&format!("http://{okta}/oauth2/v1/token")),
        "Okta's token endpoint:\n{logged}"
    );
    assert!(
        logged.contains(&format!("http://{okta}/api/v1/users/")),
        "Okta's API:\n{logged}"
    );
    assert!(
        !rig.logs().contains("Something went wrong"),
        "{}",
        rig.logs()
    );
    // No request died on a connection the proxy had closed (the failure seen in the field).
    assert!(!rig.logs().contains("failed in transit"), "{}", rig.logs());
    assert!(
        !rig.logs().contains("Okta request failed"),
        "{}",
        rig.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_goes_through_the_proxy_and_check_says_which_proxy_each_endpoint_uses() {
    let dir = tempfile::tempdir().unwrap();
    let Some(proxy) = TinyProxy::start(dir.path()) else {
        return;
    };
    // A model that answers every call with a plain reply.
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(|| async {
            axum::Json(json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the model."}, "finish_reason": "stop"}]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let model = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let script = dir.path().join("s.chat");
    std::fs::write(&script, "hello there\n").unwrap();
    let (model_url, proxy_url, script_path) = (model.clone(), proxy.url(), script.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
            .args(["chat", "--script"])
            .arg(&script_path)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("OPENAI_BASE_URL", &model_url)
            .env("OPENAI_MODEL", "fake")
            .env("HTTP_PROXY", &proxy_url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Hello from the model."), "{text}");
    let logged = proxy.logged();
    let model_host = model.trim_start_matches("http://").to_string();
    wait_until("the model call in the proxy's log", || {
        proxy
            .logged()
            .contains(&format!("http://{model_host}/chat/completions"))
    })
    .await;
    assert!(logged.contains("chat/completions") || proxy.logged().contains("chat/completions"));

    // check names the proxy per endpoint, and no credentials.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
        .arg("check")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OPENAI_BASE_URL", "https://llm.internal.example/v1")
        .env("OPENAI_MODEL", "fake")
        .env("HTTPS_PROXY", "http://svc:s3cret@proxy.corp.example:3128")
        .env("NO_PROXY", "llm.internal.example")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("✓ Proxy for the model: llm.internal.example direct (no proxy applies)"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
}
