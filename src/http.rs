//! HTTP plumbing shared by every outbound client (Okta, Slack's Web API, the model, the Socket
//! Mode websocket): the one reqwest client builder, which proxy an address goes through (the
//! same `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` rules reqwest applies, for the
//! websocket that reqwest does not open), and the wording of transport failures. It depends on
//! nothing else in the crate, so config, okta and slack can use it without importing one another.

use std::time::Duration;

/// The HTTP client okta-agent uses: rustls, timeouts, a user agent, and proxies from the
/// environment (`HTTPS_PROXY`/`NO_PROXY`).
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    // Through a proxy, a kept-alive connection is one the proxy may already have closed (many
    // close after each request, or after a short idle time, without saying so); the next
    // request on it fails before it reaches the proxy. A fresh connection per request costs a
    // handshake and never fails that way.
    if [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
    {
        builder = builder.pool_max_idle_per_host(0);
    }
    builder
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        // Proxies and load balancers close idle connections without a word; a pooled one they
        // closed fails the next request before it leaves. Idle ones are dropped well before
        // the usual proxy timeouts (tinyproxy: 600 s; many corporate proxies: 60 s).
        .pool_idle_timeout(Duration::from_secs(30))
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

/// A forward proxy for one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// `host:port` of the proxy.
    pub address: String,
    /// `user:password` from the proxy URL, for `Proxy-Authorization: Basic`.
    pub credentials: Option<String>,
    /// The proxy URL without credentials, for logs and `check`.
    pub shown: String,
}

/// The proxy for `target` (an `https://`, `wss://`, `http://` or `ws://` URL) under the
/// environment, or `None` to go direct: `HTTPS_PROXY` for https and wss, `HTTP_PROXY` for http
/// and ws, `ALL_PROXY` for either, lower-case names too, and `NO_PROXY` (`*`, hosts, `.domain`
/// suffixes, IPs) to skip it.
pub fn proxy_for(target: &url::Url, env: &dyn Fn(&str) -> Option<String>) -> Option<Proxy> {
    let var = |name: &str| {
        env(name)
            .or_else(|| env(&name.to_lowercase()))
            .filter(|v| !v.trim().is_empty())
    };
    let host = target.host_str()?.trim_matches(['[', ']']).to_lowercase();
    if let Some(no_proxy) = var("NO_PROXY") {
        let skip = no_proxy
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .any(|entry| {
                let entry = entry.to_lowercase();
                let entry = entry
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("*.")
                    .to_string();
                entry == "*"
                    || host == entry.trim_start_matches('.')
                    || host.ends_with(&format!(".{}", entry.trim_start_matches('.')))
            });
        if skip {
            return None;
        }
    }
    let secure = matches!(target.scheme(), "https" | "wss");
    let configured = if secure {
        var("HTTPS_PROXY")
    } else {
        var("HTTP_PROXY")
    }
    .or_else(|| var("ALL_PROXY"))?;
    let with_scheme = if configured.contains("://") {
        configured
    } else {
        format!("http://{configured}")
    };
    let url = url::Url::parse(&with_scheme).ok()?;
    let port = url.port_or_known_default().unwrap_or(3128);
    let address = format!("{}:{port}", url.host_str()?);
    let credentials = (!url.username().is_empty()).then(|| {
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        format!(
            "{}:{}",
            decode(url.username()),
            decode(url.password().unwrap_or_default())
        )
    });
    Some(Proxy {
        shown: format!("{}://{address}", url.scheme()),
        address,
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn proxies_follow_the_usual_variables() {
        let wss = url::Url::parse("wss://wss-primary.slack.com/link/?ticket=1").unwrap();
        let ws = url::Url::parse("ws://127.0.0.1:9000/link").unwrap();
        let vars = [
            ("HTTPS_PROXY", "http://alice:s%40cret@proxy.corp:3128"),
            ("http_proxy", "proxy.corp:8080"),
        ];
        let proxy = proxy_for(&wss, &env(&vars)).unwrap();
        assert_eq!(proxy.address, "proxy.corp:3128");
        assert_eq!(proxy.credentials.as_deref(), Some("alice:s@cret"));
        assert_eq!(
            proxy.shown, "http://proxy.corp:3128",
            "no password in what is shown"
        );
        assert_eq!(
            proxy_for(&ws, &env(&vars)).unwrap().address,
            "proxy.corp:8080"
        );
        let skipped = [
            ("HTTPS_PROXY", "http://proxy.corp:3128"),
            ("NO_PROXY", "localhost, .slack.com"),
        ];
        assert_eq!(proxy_for(&wss, &env(&skipped)), None);
        assert_eq!(
            proxy_for(&wss, &env(&[("ALL_PROXY", "http://all:1")]))
                .unwrap()
                .address,
            "all:1"
        );
        assert_eq!(
            proxy_for(
                &wss,
                &env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "*")])
            ),
            None
        );
        assert_eq!(proxy_for(&wss, &env(&[])), None);
    }
}
