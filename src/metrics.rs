//! Prometheus metrics: what an operator graphs and alerts on. One registry for the process;
//! each metric is recorded at the one place its event happens. Served at `/metrics` by
//! [`crate::server`] when `[server] listen` is set.

use std::sync::LazyLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Every metric okta-agent keeps.
pub struct Metrics {
    registry: Registry,
    /// Socket Mode envelopes received, by kind (events_api, interactive, slash_commands).
    pub envelopes: Family<Labels, Counter>,
    /// Seconds from an envelope's arrival to its ack being handed to the socket.
    pub ack_seconds: Histogram,
    /// Requests planned, by planner (model, command_engine).
    pub requests: Family<Labels, Counter>,
    /// Model calls, by result (ok, error).
    pub model_calls: Family<Labels, Counter>,
    /// Tokens the model reported, by kind (prompt, completion).
    pub model_tokens: Family<Labels, Counter>,
    /// Okta calls, by endpoint (method and path pattern) and HTTP status.
    pub okta_calls: Family<Labels, Counter>,
    /// Okta's `X-Rate-Limit-Remaining` on the latest answer.
    pub okta_rate_limit_remaining: Gauge,
    /// Proposals by how they ended (executed, failed, rejected, expired, unknown, denied).
    pub proposals: Family<Labels, Counter>,
    /// Seconds from proposal to decision.
    pub approval_seconds: Histogram,
    /// Help answers posted, and escalations to a person.
    pub help_answers: Counter,
    pub help_escalations: Counter,
    /// Open Socket Mode connections.
    pub socket_connections: Gauge,
    /// Requests turned away by the inbound limits, by reason (too_fast, busy).
    pub throttled: Family<Labels, Counter>,
    /// Deliveries acked and not yet worked through (queued or running).
    pub work_unfinished: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("okta_agent");
    let m = Metrics {
        envelopes: Family::default(),
        ack_seconds: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
        requests: Family::default(),
        model_calls: Family::default(),
        model_tokens: Family::default(),
        okta_calls: Family::default(),
        okta_rate_limit_remaining: Gauge::default(),
        proposals: Family::default(),
        approval_seconds: Histogram::new(exponential_buckets(1.0, 2.0, 16)),
        help_answers: Counter::default(),
        help_escalations: Counter::default(),
        socket_connections: Gauge::default(),
        throttled: Family::default(),
        work_unfinished: Gauge::default(),
        registry: Registry::default(),
    };
    registry.register(
        "envelopes",
        "Socket Mode envelopes received, by kind",
        m.envelopes.clone(),
    );
    registry.register(
        "ack_seconds",
        "Seconds from an envelope's arrival to its ack",
        m.ack_seconds.clone(),
    );
    registry.register(
        "requests",
        "Requests planned, by planner",
        m.requests.clone(),
    );
    registry.register(
        "model_calls",
        "Model calls, by result",
        m.model_calls.clone(),
    );
    registry.register(
        "model_tokens",
        "Tokens the model reported, by kind",
        m.model_tokens.clone(),
    );
    registry.register(
        "okta_calls",
        "Okta API calls, by endpoint and HTTP status",
        m.okta_calls.clone(),
    );
    registry.register(
        "okta_rate_limit_remaining",
        "Okta's X-Rate-Limit-Remaining on the latest answer",
        m.okta_rate_limit_remaining.clone(),
    );
    registry.register(
        "proposals",
        "Proposals by how they ended",
        m.proposals.clone(),
    );
    registry.register(
        "approval_seconds",
        "Seconds from proposal to decision",
        m.approval_seconds.clone(),
    );
    registry.register(
        "help_answers",
        "Help answers posted",
        m.help_answers.clone(),
    );
    registry.register(
        "help_escalations",
        "Help threads escalated to a person",
        m.help_escalations.clone(),
    );
    registry.register(
        "socket_connections",
        "Open Socket Mode connections",
        m.socket_connections.clone(),
    );
    registry.register(
        "throttled",
        "Requests turned away by the inbound limits, by reason",
        m.throttled.clone(),
    );
    registry.register(
        "work_unfinished",
        "Deliveries acked and not yet worked through",
        m.work_unfinished.clone(),
    );
    Metrics { registry, ..m }
});

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// A label set of one label.
pub fn label(name: &'static str, value: impl Into<String>) -> Labels {
    vec![(name, value.into())]
}

/// The Prometheus text exposition of every metric.
pub fn render() -> String {
    let mut out = String::new();
    if encode(&mut out, &METRICS.registry).is_err() {
        out.clear();
    }
    out
}

/// An Okta path as a pattern: ids replaced, so the label set stays small.
pub fn okta_endpoint(method: &str, path: &str) -> String {
    let mut previous = "";
    let pattern: Vec<String> = path
        .split('/')
        .map(|part| {
            let is_id = (part.len() >= 15
                && part.starts_with("00")
                && part.chars().all(|c| c.is_ascii_alphanumeric()))
                // A factor's and a push transaction's ids follow their collection's name.
                || (matches!(previous, "factors" | "transactions") && !part.is_empty());
            previous = part;
            if is_id {
                "{id}".to_string()
            } else {
                part.to_string()
            }
        })
        .collect();
    format!("{method} {}", pattern.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_as_prometheus_text() {
        metrics().help_answers.inc();
        metrics()
            .okta_calls
            .get_or_create(&vec![
                (
                    "endpoint",
                    okta_endpoint("GET", "/api/v1/users/00u1abcdefghijklmno/roles"),
                ),
                ("status", "200".into()),
            ])
            .inc();
        let text = render();
        assert!(
            text.contains("# TYPE okta_agent_help_answers counter"),
            "{text}"
        );
        assert!(text.contains("okta_agent_okta_calls_total{endpoint=\"GET /api/v1/users/{id}/roles\",status=\"200\"}"), "{text}");
        assert!(text.contains("okta_agent_ack_seconds_bucket"), "{text}");
        assert!(
            text.contains("# TYPE okta_agent_work_unfinished gauge"),
            "{text}"
        );
        metrics()
            .throttled
            .get_or_create(&label("reason", "busy"))
            .inc();
        assert!(
            render().contains("okta_agent_throttled_total{reason=\"busy\"} "),
            "{text}"
        );
    }
}
