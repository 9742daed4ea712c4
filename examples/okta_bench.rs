//! Measures the Okta client against the simulator on loopback: latency of a read and of a
//! mutation, and token requests per 1,000 API calls. Run in release mode:
//!
//! ```sh
//! cargo run --release --example okta_bench
//! ```
//!
//! Numbers include the simulator's own work (it runs in the same process), so they are an
//! upper bound on the client's overhead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use okta_agent::okta::{ClientOptions, OktaClient, TokenSource};
use okta_agent::sandbox::{self, Seed};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<28} n={:<5} p50={:>8.1?} p99={:>8.1?} max={:>8.1?}",
        samples.len(),
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    okta_agent::install_crypto_provider();
    let (registered, key, _pem) = sandbox::generated_client("0oabench000000000000")?;
    let running = sandbox::start("127.0.0.1:0".parse()?, &Seed::demo()?, Some(registered)).await?;
    // The simulator enforces a realistic 600 requests/minute; lift it to measure latency.
    running.state.lock().rate_limit_per_minute = u64::MAX;
    let org = url::Url::parse(&running.url())?;
    let options = ClientOptions::default();
    let http = okta_agent::http::http_client(options.timeout)?;
    let scopes = okta_agent::config::DEFAULT_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let tokens = Arc::new(TokenSource::new(
        http.clone(),
        &org,
        "0oabench000000000000".into(),
        key,
        scopes,
    )?);
    let okta = OktaClient::new(org, http, tokens.clone(), options);

    let first = Instant::now();
    okta.get_user("ana.lopez@example.com").await?;
    println!("first call (token + GET user)  {:>8.1?}", first.elapsed());

    let mut reads = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let t = Instant::now();
        okta.get_user("ana.lopez@example.com").await?;
        reads.push(t.elapsed());
    }
    report("GET /api/v1/users/{login}", reads);

    let mut writes = Vec::with_capacity(500);
    for _ in 0..250 {
        let t = Instant::now();
        okta.suspend("ana.lopez@example.com").await?;
        writes.push(t.elapsed());
        let t = Instant::now();
        okta.unsuspend("ana.lopez@example.com").await?;
        writes.push(t.elapsed());
    }
    report("POST lifecycle (suspend/unsus)", writes);
    println!(
        "token requests for 1,501 API calls: {}",
        tokens.token_requests()
    );
    running.stop().await;
    Ok(())
}
