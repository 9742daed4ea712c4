//! Orchestration overhead of the agent core with zero-latency fakes: a scripted model that
//! answers at once and the in-process Okta simulator on loopback. Run in release mode:
//!
//! ```sh
//! cargo run --release --example agent_bench
//! ```
//!
//! It reports, per request: wall time of a one-action request (plan → policy → SQLite proposal
//! → audit → card) and of an approval (claim → Okta call → read back → audit → card update);
//! the model calls and Okta calls each made; and the orchestration overhead, which is the wall
//! time minus the time spent inside Okta calls (measured from the client's `okta.call` spans).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use okta_agent::agent::model::ScriptedModel;
use okta_agent::agent::{Inbound, Limits};
use okta_agent::config::Settings;
use okta_agent::engine::{Choice, Click, Output};
use okta_agent::policy::Policy;
use okta_agent::runtime::{self, Overrides};
use serde_json::json;

/// Nanoseconds spent inside `okta.call` spans (each Okta HTTP call, retries included).
static OKTA_NANOS: AtomicU64 = AtomicU64::new(0);

struct OktaTime;

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for OktaTime {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().name() == "okta.call" {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(Instant::now());
            }
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            if let Some(start) = span.extensions().get::<Instant>() {
                OKTA_NANOS.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
        }
    }
}

fn okta_nanos() -> u64 {
    OKTA_NANOS.load(Ordering::Relaxed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!(
        "{name:<34} n={:<5} p50={p50:>9.2?} p99={p99:>9.2?}",
        samples.len()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    okta_agent::install_crypto_provider();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(OktaTime))?;
    const ROUNDS: usize = 300;
    // Two proposals per round (suspend, then unsuspend), each approved.
    let mut script = Vec::new();
    for _ in 0..ROUNDS {
        script.push(ScriptedModel::call(
            "suspend_user",
            json!({"user": "<@U0JAMAL>"}),
        ));
        script.push(ScriptedModel::call(
            "unsuspend_user",
            json!({"user": "<@U0JAMAL>"}),
        ));
    }
    let model = Arc::new(ScriptedModel::new(script));
    let mut config = Policy::demo()
        .config()
        .cloned()
        .unwrap_or_else(|| unreachable!());
    config.max_actions_per_requester_per_hour = u32::MAX;
    config.max_actions_per_target_per_hour = u32::MAX;
    let settings = Settings {
        okta: None,
        policy: Some(Policy::new(config).map_err(|p| anyhow::anyhow!("{p:?}"))?),
        database: None,
        ..Settings::default()
    };
    let overrides = Overrides {
        model: Some(model.clone()),
        limits: Some(Limits::default()),
        ..Overrides::default()
    };
    let runtime = runtime::assemble(&settings, overrides).await?;
    let demo = runtime
        .demo
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("demo org expected"))?;
    demo.sandbox.state.lock().rate_limit_per_minute = u64::MAX;
    let okta_requests = || demo.sandbox.state.lock().requests.len();
    let engine = runtime.engine.clone();

    // One Okta round trip (GET user), for subtracting Okta time.
    let mut okta_samples = Vec::new();
    for _ in 0..500 {
        let start = Instant::now();
        runtime.okta.get_user("jamal.reed@example.com").await?;
        okta_samples.push(start.elapsed());
    }
    report("Okta round trip (GET user)", okta_samples);

    let mut request_samples = Vec::new();
    let mut approve_samples = Vec::new();
    let mut request_overhead = Vec::new();
    let mut approve_overhead = Vec::new();
    let (mut request_okta, mut approve_okta) = (0, 0);
    for _ in 0..ROUNDS * 2 {
        let before = okta_requests();
        let okta_before = okta_nanos();
        let start = Instant::now();
        let outputs = engine
            .handle(Inbound {
                requester: "U0LEO".into(),
                text: "toggle jamal".into(),
                history: Vec::new(),
                conversation: "bench".into(),
            })
            .await;
        let elapsed = start.elapsed();
        request_samples.push(elapsed);
        request_overhead
            .push(elapsed.saturating_sub(Duration::from_nanos(okta_nanos() - okta_before)));
        request_okta += okta_requests() - before;
        let Some(Output::Card(card)) = outputs.into_iter().find(|o| matches!(o, Output::Card(_)))
        else {
            anyhow::bail!("no card");
        };
        let before = okta_requests();
        let okta_before = okta_nanos();
        let start = Instant::now();
        let outputs = engine
            .click(Click {
                proposal_id: card.proposal_id,
                clicker: "U0GRACE".into(),
                choice: Choice::Approve,
                via: None,
            })
            .await;
        let elapsed = start.elapsed();
        approve_samples.push(elapsed);
        approve_overhead
            .push(elapsed.saturating_sub(Duration::from_nanos(okta_nanos() - okta_before)));
        approve_okta += okta_requests() - before;
        if !outputs
            .iter()
            .any(|o| matches!(o, Output::CardUpdate(c) if c.state.as_str() == "executed"))
        {
            anyhow::bail!("approval did not execute");
        }
    }
    let n = (ROUNDS * 2) as f64;
    report("one-action request → card", request_samples);
    report("approval → executed card", approve_samples);
    let per_request = request_okta as f64 / n;
    let per_approval = approve_okta as f64 / n;
    println!(
        "model calls per request: {:.2}; per approval: 0.00",
        model.requests().len() as f64 / n
    );
    println!("Okta calls per request: {per_request:.1}; per approval: {per_approval:.1}");
    report("overhead: request (no Okta time)", request_overhead);
    report("overhead: approval (no Okta time)", approve_overhead);
    Ok(())
}
