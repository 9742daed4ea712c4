//! Socket Mode under load, against the fake Slack the tests use and the Okta simulator, all on
//! loopback. Build the binary first, then run in release mode:
//!
//! ```sh
//! cargo build --release && cargo run --release --example slack_bench
//! ```
//!
//! Reports ack latency p50 / p99 / max at a steady 1,000 envelopes/s and in five 2,000-envelope
//! bursts sent at once (each on an idle app; the median burst is the figure), for a null client
//! (a bare websocket that acks every envelope at once: the floor of the fake and the loopback
//! network) and for `okta-agent run` (each envelope a distinct mention, persisted to SQLite
//! before its ack, then planned, resolved against Okta and answered in the background); and the
//! binary's start-to-connected time and RSS: idle, after the runs, the moment a
//! 10,000-envelope burst's work ends (with the most it has had resident so far), and 2, 10, 30
//! and 60 s after.
//! `BENCH_DATABASE_URL=postgres://…` runs it on PostgreSQL instead of a SQLite file. Last, the
//! cost of recording a delivery alone (the ack path's insert), on the same store.
//!
//! `BENCH_RUST_LOG` sets the binary's `RUST_LOG` (`error` by default); the binary logs to
//! stderr.
//!
//! `BENCH_SOAK_MINUTES=60` adds a soak: that long at 50 envelopes/s (mentions asking about
//! someone, requests whose cards are then cancelled by a click, and help-channel questions),
//! sampling RSS every minute, and reports its growth over all but the first ten minutes.

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

/// Envelopes in the steady run, and its rate.
const STEADY: usize = 5_000;
const PER_SECOND: u64 = 1_000;
/// Envelopes in the burst, sent back to back, and how many such bursts a run sends.
const BURST: usize = 2_000;
const BURST_REPEATS: usize = 5;
/// Envelopes in the burst after which memory is read.
const BIG_BURST: usize = 10_000;
/// The soak's rate.
const SOAK_PER_SECOND: u64 = 50;

/// The `VmRSS:` line of a process's `/proc/PID/status`.
fn resident_memory(pid: u32) -> String {
    status_line(pid, "VmRSS:")
}

/// The `VmHWM:` line: the most the process has had resident since it started.
fn peak_resident_memory(pid: u32) -> String {
    status_line(pid, "VmHWM:")
}

fn status_line(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map_or_else(|| format!("{field} unknown"), str::to_string)
}

/// With `BENCH_SMAPS=1`, where the process's resident memory is, to see what holds memory
/// after a burst.
fn print_mappings_when_asked(pid: u32) {
    if std::env::var("BENCH_SMAPS").is_ok() {
        println!("  resident by mapping: {}", resident_by_mapping(pid));
    }
}

/// Where a process's resident memory is, from `/proc/PID/smaps`: KiB by kind of mapping
/// (the glibc heap, anonymous mappings such as jemalloc's and thread stacks, files), biggest
/// first.
fn resident_by_mapping(pid: u32) -> String {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_kind: std::collections::BTreeMap<String, u64> = Default::default();
    let mut kind = String::new();
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            kind = match fields.get(5) {
                Some(name) if name.starts_with('[') => name.to_string(),
                Some(name) => std::path::Path::new(name)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                None => "anonymous".into(),
            };
        } else if fields.first() == Some(&"Rss:") {
            let kib: u64 = fields.get(1).and_then(|k| k.parse().ok()).unwrap_or(0);
            *by_kind.entry(kind.clone()).or_default() += kib;
        }
    }
    let mut kinds: Vec<_> = by_kind.into_iter().filter(|(_, k)| *k >= 256).collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    let mut text = kinds
        .iter()
        .map(|(kind, kib)| format!("{kind} {kib} KiB"))
        .collect::<Vec<_>>()
        .join(", ");
    // The biggest anonymous mappings: resident of mapped (KiB), to tell an allocator's extents
    // from thread stacks and arenas.
    let mut anonymous: Vec<(u64, u64)> = Vec::new();
    let mut size = None;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            size = (fields.len() == 5)
                .then(|| {
                    let (from, to) = fields[0].split_once('-')?;
                    let from = u64::from_str_radix(from, 16).ok()?;
                    let to = u64::from_str_radix(to, 16).ok()?;
                    Some((to - from) / 1024)
                })
                .flatten();
        } else if fields.first() == Some(&"Rss:") {
            if let Some(mapped) = size.take() {
                let kib: u64 = fields.get(1).and_then(|k| k.parse().ok()).unwrap_or(0);
                anonymous.push((kib, mapped));
            }
        }
    }
    anonymous.sort_by_key(|m| std::cmp::Reverse(m.0));
    let count = anonymous.len();
    text.push_str(&format!(
        "; {count} anonymous mappings, the largest (resident/mapped KiB): {}",
        anonymous
            .iter()
            .take(10)
            .map(|(rss, mapped)| format!("{rss}/{mapped}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    text
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
        database: Some(okta_agent::store::Database::new(format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        ))),
        ..Settings::default()
    };

    // 1. The floor: a null client on the same fake.
    println!("-- null client (acks at once) --");
    let connections = fake.connections();
    let null = null_client(&fake).await?;
    while fake.connections() == connections {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    measure(&fake, 1_000_000, None).await;
    null.abort();
    fake.disconnect("null client done").await;

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
    // One person sends every request here: the per-person and in-flight limits are raised.
    let docs = dir.path().join("help-docs");
    std::fs::create_dir_all(&docs)?;
    for (name, text) in okta_agent::knowledge::STARTER {
        std::fs::write(docs.join(name), text)?;
    }
    std::fs::write(
        dir.path().join("bench.toml"),
        format!("[policy]\nadmins = [\"U0LEO\"]\nmax_actions_per_requester_per_hour = 1000000\nmax_actions_per_target_per_hour = 1000000\n\n[slack]\nsocket_connections = 1\nmax_requests_per_person_per_minute = 600\nmax_requests_in_flight = 1000\nhelp_channels = [\"C0HELP\"]\nhelp_answers_per_channel_per_hour = 3600\n\n[knowledge]\npath = \"{}\"\n", docs.display()),
    )?;
    // BENCH_DATABASE_URL=postgres://… (an empty database) measures the store on PostgreSQL.
    let database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("rss.db").display()));
    println!(
        "database: {}",
        okta_agent::store::database_kind(&database_url)?.shown()
    );
    let audit_key = dir.path().join("audit.key");
    okta_agent::audit::AuditKeys::add_key(&audit_key)?;
    // The operations endpoint tells when the app has worked through everything it acked.
    let listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let idle = Idle {
        http: reqwest::Client::new(),
        metrics: format!("http://{listen}/metrics"),
    };
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
        .env("DATABASE_URL", &database_url)
        .env("OKTA_AGENT_AUDIT_KEY_FILE", &audit_key)
        .env("OKTA_AGENT_CONFIG", dir.path().join("bench.toml"))
        .env("OKTA_AGENT_LISTEN", listen.to_string())
        // BENCH_RUST_LOG=error,okta_agent::store::journal=trace prints each journal batch.
        .env(
            "RUST_LOG",
            std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "error".into()),
        )
        // jemalloc's run-time options, to try allocator settings without a rebuild.
        .envs(std::env::vars().filter(|(name, _)| name == "_RJEM_MALLOC_CONF"))
        .spawn()?;
    while fake.connections() == connections {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let connected = start.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = resident_memory(child.id());
    println!("okta-agent run: connected {connected:.2?} after start; idle {rss}");
    print_mappings_when_asked(child.id());

    // 3. Ack latency, against that process: every envelope a distinct request.
    println!("-- okta-agent run --");
    let sent = measure(&fake, 0, Some(&idle)).await;
    let rss = resident_memory(child.id());
    println!(
        "after the runs: {rss}  (peak so far {})",
        peak_resident_memory(child.id())
    );
    print_mappings_when_asked(child.id());
    // 4. Memory after a big burst, and after a minute of rest.
    idle.wait().await;
    let latencies = sorted(send(&fake, sent, BIG_BURST, None).await);
    report(&format!("burst of {BIG_BURST} back to back"), latencies);
    idle.wait().await;
    println!(
        "after the {BIG_BURST}-envelope burst: {}  (peak so far {})",
        resident_memory(child.id()),
        peak_resident_memory(child.id())
    );
    print_mappings_when_asked(child.id());
    // When the memory goes back: the allocator's purge (about a second), idle threads and
    // connections (tens of seconds).
    let mut rested = 0;
    for at in [2, 10, 30] {
        tokio::time::sleep(Duration::from_secs(at - rested)).await;
        rested = at;
        println!("{at} s later: {}", resident_memory(child.id()));
        print_mappings_when_asked(child.id());
    }
    tokio::time::sleep(Duration::from_secs(60 - rested)).await;
    println!("60 s later: {}", resident_memory(child.id()));
    print_mappings_when_asked(child.id());
    // 5. The soak, when asked for.
    let soak_minutes: u64 = std::env::var("BENCH_SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if soak_minutes > 0 {
        soak(&fake, child.id(), soak_minutes, 1_000_000).await;
    }
    fake.disconnect("bench over").await;
    // SAFETY: signalling our own child process, which has not been reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();

    // 6. What recording a delivery costs by itself (the ack path's insert), on the same store,
    // called from the async runtime as the listener calls it.
    let store = okta_agent::store::Store::open_url(&database_url).await?;
    let mut inserts = Vec::with_capacity(STEADY);
    for i in 0..STEADY {
        let started = Instant::now();
        store
            .remember_inbound(&format!("alone:{i}"), "{\"text\":\"unlock\"}", 1)
            .await?;
        inserts.push(started.elapsed());
    }
    inserts.sort();
    println!(
        "recording a delivery alone ({STEADY}): p50 {:.2?}  p99 {:.2?}  max {:.2?}",
        percentile(&inserts, 0.5),
        percentile(&inserts, 0.99),
        inserts[inserts.len() - 1]
    );
    Ok(())
}

/// The app's `/metrics`, read to know when its work is done.
struct Idle {
    http: reqwest::Client,
    metrics: String,
}

impl Idle {
    /// Waits until the app has worked through every delivery it acked (or two minutes pass):
    /// memory is read when the work is done, not while it queues, and each burst meets an idle
    /// app.
    async fn wait(&self) {
        let waited = Instant::now();
        while waited.elapsed() < Duration::from_secs(120) {
            if self.unfinished().await == Some(0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("(the app was still working two minutes later)");
    }

    async fn unfinished(&self) -> Option<i64> {
        let text = self
            .http
            .get(&self.metrics)
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix("okta_agent_work_unfinished "))
            .and_then(|value| value.trim().parse().ok())
    }
}

/// `minutes` at 50 envelopes/s: a question about someone, a change request whose card is
/// cancelled by a click, and a help-channel question, in turn. RSS each minute.
async fn soak(fake: &FakeSlack, pid: u32, minutes: u64, first: usize) {
    println!("-- soak: {minutes} min at {SOAK_PER_SECOND}/s --");
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / SOAK_PER_SECOND));
    let started = Instant::now();
    let mut samples: Vec<(u64, u64)> = Vec::new();
    let mut next_sample = Duration::from_secs(60);
    let mut i = first;
    let cards_before = fake.messages().len();
    while started.elapsed() < Duration::from_secs(minutes * 60) {
        tick.tick().await;
        i += 1;
        let ts = format!("1700100000.{:06}", i % 1_000_000);
        let envelope = match i % 3 {
            0 => event_envelope(
                &envelope_id(),
                &format!("Soak{i}"),
                0,
                mention("U0LEO", "what apps does <@U0ANA> have?", "C0BENCH", &ts),
            ),
            1 => event_envelope(
                &envelope_id(),
                &format!("Soak{i}"),
                0,
                mention("U0LEO", "suspend <@U0JAMAL>", "C0BENCH", &ts),
            ),
            _ => event_envelope(
                &envelope_id(),
                &format!("Soak{i}"),
                0,
                fake_slack::channel_message("U0BOB", "C0HELP", "how do I reset my password?", &ts),
            ),
        };
        fake.send(envelope).await;
        // Cancel the newest card now and then: every proposal is decided, none piles up.
        if i % 3 == 2 {
            if let Some((id, card)) = fake.newest_card() {
                if fake.messages().len() > cards_before {
                    fake.send(fake_slack::click(
                        &envelope_id(),
                        "U0LEO",
                        "cancel",
                        &id,
                        &card,
                    ))
                    .await;
                }
            }
        }
        if started.elapsed() >= next_sample {
            let kib = kib(&resident_memory(pid));
            samples.push((next_sample.as_secs() / 60, kib));
            println!("  minute {}: RSS {kib} KiB", next_sample.as_secs() / 60);
            next_sample += Duration::from_secs(60);
        }
    }
    let from = samples.iter().find(|(m, _)| *m >= 10.min(minutes));
    let to = samples.last();
    if let (Some((m0, r0)), Some((m1, r1))) = (from, to) {
        println!(
            "soak: RSS {r0} KiB at minute {m0}, {r1} KiB at minute {m1}: grew {} KiB over the last {} min",
            *r1 as i64 - *r0 as i64,
            m1 - m0
        );
    }
}

fn kib(vm_rss: &str) -> u64 {
    vm_rss
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The steady run and the bursts; `first` numbers the events so none repeats. Each burst
/// starts on an idle client (`idle`: the app has worked through every earlier delivery),
/// and the burst figure is the median over [`BURST_REPEATS`] of them: one burst's p99 swings by
/// tens of milliseconds between runs of the same build, the null client's too.
async fn measure(fake: &FakeSlack, first: usize, idle: Option<&Idle>) -> usize {
    let latencies = send(fake, first, STEADY, Some(PER_SECOND)).await;
    // In the first second the person's allowance (600 a minute) is worked on, by the app and
    // by the fake Slack and simulator on the same two cores; after it, every request is
    // turned away at its ack.
    if let Some(later) = latencies.get(PER_SECOND as usize..) {
        report(
            &format!("steady {PER_SECOND}/s, after its first second"),
            sorted(later.to_vec()),
        );
    }
    report(
        &format!("steady {PER_SECOND}/s, {STEADY} envelopes"),
        sorted(latencies),
    );
    let mut sent = first + STEADY;
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for repeat in 1..=BURST_REPEATS {
        if let Some(idle) = idle {
            idle.wait().await;
        }
        let latencies = sorted(send(fake, sent, BURST, None).await);
        sent += BURST;
        if latencies.is_empty() {
            println!("burst {repeat} of {BURST_REPEATS}: no acks");
            continue;
        }
        p50s.push(percentile(&latencies, 0.5));
        p99s.push(percentile(&latencies, 0.99));
        report(
            &format!("burst {repeat} of {BURST_REPEATS}, {BURST} back to back"),
            latencies,
        );
    }
    if !p99s.is_empty() {
        p50s.sort();
        p99s.sort();
        println!(
            "burst of {BURST} back to back, median of {}: ack p50 {:.2?}  p99 {:.2?}  (p99 {:.2?}–{:.2?})",
            p99s.len(),
            percentile(&p50s, 0.5),
            percentile(&p99s, 0.5),
            p99s[0],
            p99s[p99s.len() - 1],
        );
    }
    sent
}

/// Sends `count` mentions (at `rate` per second, or back to back) and returns their ack
/// latencies, in the order of the acks, once all are acked.
async fn send(fake: &FakeSlack, first: usize, count: usize, rate: Option<u64>) -> Vec<Duration> {
    let latencies_before = fake.ack_latencies().len();
    let acks_before = fake.ack_count();
    let mut tick = rate.map(|r| tokio::time::interval(Duration::from_micros(1_000_000 / r)));
    for i in first..first + count {
        if let Some(tick) = tick.as_mut() {
            tick.tick().await;
        }
        let ts = format!("1700001000.{i:06}");
        fake.send(event_envelope(
            &envelope_id(),
            &format!("Ev{i}"),
            0,
            mention("U0LEO", "what apps does <@U0ANA> have?", "C0BENCH", &ts),
        ))
        .await;
    }
    let waited = Instant::now();
    while fake.ack_count() < acks_before + count && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    fake.ack_latencies().split_off(latencies_before)
}

/// Latencies in order, for percentiles.
fn sorted(mut latencies: Vec<Duration>) -> Vec<Duration> {
    latencies.sort();
    latencies
}

fn report(what: &str, latencies: Vec<Duration>) {
    if latencies.is_empty() {
        println!("{what}: no acks");
        return;
    }
    println!(
        "{what}: ack p50 {:.2?}  p99 {:.2?}  max {:.2?}  ({} acked)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        latencies.len()
    );
}

/// A bare Socket Mode client that acks every envelope as it arrives, with `TCP_NODELAY`.
async fn null_client(fake: &FakeSlack) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use futures_util::{SinkExt, StreamExt};
    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(format!("{}/apps.connections.open", fake.api_url))
        .bearer_auth(fake_slack::APP_TOKEN)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = answer["url"].as_str().unwrap_or_default().to_string();
    let target = url::Url::parse(&url)?;
    let stream = tokio::net::TcpStream::connect((
        target.host_str().unwrap_or("127.0.0.1"),
        target.port().unwrap_or(80),
    ))
    .await?;
    stream.set_nodelay(true)?;
    let (socket, _) = tokio_tungstenite::client_async(url.as_str(), stream).await?;
    let (mut writer, mut reader) = socket.split();
    Ok(tokio::spawn(async move {
        while let Some(Ok(frame)) = reader.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
                let envelope: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if let Some(id) = envelope["envelope_id"].as_str() {
                    let ack = serde_json::json!({"envelope_id": id}).to_string();
                    if writer
                        .send(tokio_tungstenite::tungstenite::Message::Text(ack.into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    }))
}
