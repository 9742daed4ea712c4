//! The operations surface of `okta-agent run`: `/healthz`, `/readyz`, Prometheus `/metrics`
//! (fed by a real request), and `LOG_FORMAT=json` logs with request ids.

use crate::common::fake_slack::mention;
use crate::common::rig::{Rig, CHANNEL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_json_logs() {
    let port = {
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    };
    let mut rig =
        Rig::with_automations(&format!("[server]\nlisten = \"127.0.0.1:{port}\"\n")).await;
    assert_eq!(rig.stop().await.code(), Some(0));
    rig.env = vec![("LOG_FORMAT".into(), "json".into())];
    rig.start().await;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let mut ready = serde_json::Value::Null;
    for _ in 0..100 {
        let response = http.get(format!("{base}/readyz")).send().await.unwrap();
        ready = response.json().await.unwrap();
        if ready["ready"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["slack_socket_mode"], "connected");
    assert_eq!(ready["okta_token"], "ok");

    let (id, card) = rig
        .request("U0LEO", "unlock <@U0BOB>", "1700004000.000100")
        .await;
    rig.click("U0LEO", "approve", &id, &card).await;
    rig.post(
        "EvHelp",
        mention(
            "U0ANA",
            "what groups is <@U0ANA> in?",
            CHANNEL,
            "1700004000.000200",
        ),
    )
    .await;
    rig.until_done("EvHelp").await;
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "okta_agent_envelopes_total{kind=\"events_api\"}",
        "okta_agent_envelopes_total{kind=\"interactive\"}",
        "okta_agent_ack_seconds_count",
        "okta_agent_requests_total{planner=\"command_engine\"}",
        "okta_agent_okta_calls_total{endpoint=\"GET /api/v1/users/{id}/roles\",status=\"200\"}",
        "okta_agent_okta_rate_limit_remaining",
        "okta_agent_socket_connections 1",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in:\n{metrics}"
        );
    }
    rig.until_mutations(1).await;
    // The outcome is counted after Okta answers and the store records it, so poll for it.
    let mut metrics = String::new();
    for _ in 0..3000 {
        metrics = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("okta_agent_proposals_total{outcome=\"executed\"}") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        metrics.contains("okta_agent_proposals_total{outcome=\"executed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("okta_agent_approval_seconds_count 1"),
        "{metrics}"
    );

    // Every log line is one JSON object; request work carries its request id.
    let logs = rig.logs();
    let run = logs.rsplit("\n---\n").next().unwrap();
    let lines: Vec<serde_json::Value> = run
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .any(|l| l.to_string().contains("\"request_id\"")),
        "a request id in the spans: {run}"
    );
}

/// A start-up error after the work threads exist (here: the operations port is taken) ends
/// the process with the error, named, and exit status 1; never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_operations_port_stops_run_with_a_named_error() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let mut rig = Rig::new().await;
    assert_eq!(rig.stop().await.code(), Some(0));
    let config = rig.dir.path().join("okta-agent.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("\n[server]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&config, text).unwrap();
    let (status, log) = rig.run_to_exit().await;
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!(
            "cannot serve the operations endpoint on 127.0.0.1:{port}"
        )),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    drop(busy);
}
