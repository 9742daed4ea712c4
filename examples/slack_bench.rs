//! Socket Mode under load, against the fake Slack the tests use and the Okta simulator, all on
//! loopback. Build the binary first, then run in release mode:
//!
//! ```sh
//! cargo build --release && cargo run --release --example slack_bench
//! ```
//!
//! Reports: ack latency p50/p99 for a burst of mentions at 2,000 envelopes/s (each one persisted
//! to SQLite before its ack, then planned, resolved against Okta and answered in the
//! background), and the `okta-agent run` binary's start-to-connected time and idle RSS.

// The test double is test code: it may unwrap.
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "../tests/common/fake_slack.rs"]
mod fake_slack;

use std::time::{Duration, Instant};

use fake_slack::{envelope_id, event_envelope, mention, FakeSlack};
use okta_agent::config::{OktaSettings, Settings, SlackSettings};
use okta_agent::policy::Policy;
use okta_agent::sandbox::{self, Seed};
use okta_agent::secret::Secret;

const ENVELOPES: usize = 4_000;
const PER_SECOND: u64 = 2_000;

/// The `VmRSS:` line of a process's `/proc/PID/status`.
fn resident_memory(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: unknown")
        .to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    okta_agent::install_crypto_provider();
    let (client, key, pem) = sandbox::generated_client("0oabench000000000000")?;
    let okta = sandbox::start("127.0.0.1:0".parse()?, &Seed::demo()?, Some(client)).await?;
    okta.state.lock().rate_limit_per_minute = u64::MAX;
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir()?;
    let mut policy = Policy::demo()
        .config()
        .cloned()
        .unwrap_or_else(|| unreachable!());
    policy.max_actions_per_requester_per_hour = u32::MAX;
    let _settings = Settings {
        okta: Some(OktaSettings {
            org_url: url::Url::parse(&okta.url())?,
            client_id: "0oabench000000000000".into(),
            signing_key: key,
            scopes: okta_agent::config::DEFAULT_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }),
        llm: None,
        slack: Some(SlackSettings {
            app_token: Secret::new(fake_slack::APP_TOKEN.into()),
            bot_token: Secret::new(fake_slack::BOT_TOKEN.into()),
            api_url: fake.api_url.clone(),
            triage_channels: Vec::new(),
            help_channels: Vec::new(),
            socket_connections: 1,
            max_requests_per_person_per_minute: 600,
            max_requests_in_flight: 1000,
            help_answers_per_channel_per_hour: 30,
        }),
        policy: Some(Policy::new(policy).map_err(|p| anyhow::anyhow!("{p:?}"))?),
        knowledge: Default::default(),
        database_url: Some(format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        )),
        inbound_retention_days: 7,
        audit_key: Default::default(),
        config_file: None,
        automations: Default::default(),
    };

    // 2. The real binary: start to connected, and idle RSS.
    let binary = std::env::current_exe()?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|release| release.join("okta-agent"))
        .filter(|p| p.exists());
    let Some(binary) = binary else {
        println!("(build the binary with `cargo build --release` to measure start-up and RSS)");
        return Ok(());
    };
    std::fs::write(dir.path().join("okta.pem"), pem.expose())?;
    let connections = fake.connections();
    let start = Instant::now();
    let mut child = std::process::Command::new(&binary)
        .arg("run")
        .env_clear()
        .env("SLACK_APP_TOKEN", fake_slack::APP_TOKEN)
        .env("SLACK_BOT_TOKEN", fake_slack::BOT_TOKEN)
        .env("SLACK_API_URL", &fake.api_url)
        .env("OKTA_ORG_URL", okta.url())
        .env("OKTA_CLIENT_ID", "0oabench000000000000")
        .env("OKTA_PRIVATE_KEY_FILE", dir.path().join("okta.pem"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("rss.db").display()),
        )
        .env("RUST_LOG", "warn")
        .spawn()?;
    while fake.connections() == connections {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let connected = start.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = resident_memory(child.id());
    println!("okta-agent run: connected {connected:.2?} after start; idle {rss}");

    // 3. Ack latency under a burst, against that process: first every envelope a real request
    //    (answered through Okta and Slack, which share this machine's two cores with the app),
    //    then the same burst of redeliveries of one event (the ack path alone: parse, persist
    //    or recognise the dedupe key, ack).
    println!("-- burst of distinct requests (one in ten a redelivery) --");
    burst(&fake, false).await;
    println!("-- burst of redeliveries (ack path only) --");
    burst(&fake, true).await;
    let rss = resident_memory(child.id());
    println!("after the burst: {rss}");
    // SAFETY: signalling our own child process, which has not been reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
    Ok(())
}

/// Sends ENVELOPES mentions at PER_SECOND (one in ten a redelivery) and reports ack latency.
async fn burst(fake: &FakeSlack, redeliveries_only: bool) {
    let latencies_before = fake.ack_latencies().len();
    let acks_before = fake.ack_count();
    let answers_before = fake.calls("chat.postMessage").len();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / PER_SECOND));
    let started = Instant::now();
    for i in 0..ENVELOPES {
        tick.tick().await;
        let event_id = if redeliveries_only {
            "Ev0".to_string()
        } else if i % 10 == 9 {
            format!("Ev{}", i - 1)
        } else {
            format!("Ev{i}")
        };
        let ts = format!("1700001000.{i:06}");
        fake.send(event_envelope(
            &envelope_id(),
            &event_id,
            u32::from(i % 10 == 9),
            mention("U0LEO", "what apps does <@U0ANA> have?", "C0BENCH", &ts),
        ))
        .await;
    }
    let sent_in = started.elapsed();
    while fake.ack_count() < acks_before + ENVELOPES {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut latencies = fake.ack_latencies().split_off(latencies_before);
    latencies.sort();
    println!(
        "burst: {ENVELOPES} envelopes in {:.2?} ({:.0}/s), all acked",
        sent_in,
        ENVELOPES as f64 / sent_in.as_secs_f64()
    );
    println!(
        "ack latency: p50 {:.2?}  p99 {:.2?}  max {:.2?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    if redeliveries_only {
        return;
    }
    let answered_by = Instant::now();
    let distinct = ENVELOPES * 9 / 10;
    while fake.calls("chat.postMessage").len() < answers_before + distinct
        && answered_by.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "answers posted: {} of {distinct} distinct requests, {:.2?} after the burst ended",
        fake.calls("chat.postMessage").len() - answers_before,
        answered_by.elapsed()
    );
}
