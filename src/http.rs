//! HTTP plumbing shared by every outbound client (Okta, Slack's Web API, the model): the one
//! reqwest client builder and the wording of transport failures. It depends on nothing else in
//! the crate, so config, okta and slack can use it without importing one another.

use std::time::Duration;

/// The HTTP client okta-agent uses: rustls, timeouts, a user agent, and proxies from the
/// environment (`HTTPS_PROXY`/`NO_PROXY`).
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("okta-agent/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A short description of a transport failure, without the request URL's query.
pub fn describe_transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        let mut text = e.to_string();
        if let Some(url) = e.url() {
            text = text.replace(url.as_str(), url.path());
        }
        text
    }
}
