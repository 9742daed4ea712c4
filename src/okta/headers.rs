//! Reading Okta's response headers: `X-Rate-Limit-*` against the server's `Date` (how long a
//! 429 asks to wait), and `Link: rel="next"` (the next page). Both the token endpoint and the
//! API transport read them, so they sit below both.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

pub(super) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// How long to wait after a 429: `X-Rate-Limit-Reset − Date + 1` seconds, using the server's
/// clock so local skew does not matter; at least one second.
pub fn rate_limit_wait(headers: &HeaderMap) -> Duration {
    let reset =
        header_str(headers, "x-rate-limit-reset").and_then(|v| v.trim().parse::<u64>().ok());
    let server_now = header_str(headers, "date")
        .and_then(|d| httpdate::parse_http_date(&d).ok())
        .unwrap_or_else(SystemTime::now)
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match reset {
        Some(reset) => Duration::from_secs(reset.saturating_sub(server_now) + 1),
        None => Duration::from_secs(2),
    }
}

/// The `rel="next"` target among all `Link` headers (repeated or comma-joined).
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all("link") {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(",") {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                return Some(
                    target
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string(),
                );
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn next_link_reads_repeated_and_joined_headers() {
        let mut h = HeaderMap::new();
        h.append(
            "link",
            HeaderValue::from_static("<https://o/api/v1/users?limit=2>; rel=\"self\""),
        );
        h.append(
            "link",
            HeaderValue::from_static("<https://o/api/v1/users?after=x&limit=2>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://o/api/v1/users?after=x&limit=2")
        );
        let mut joined = HeaderMap::new();
        joined.insert(
            "link",
            HeaderValue::from_static("<https://o/a>; rel=\"self\", <https://o/b>; rel=\"next\""),
        );
        assert_eq!(next_link(&joined).as_deref(), Some("https://o/b"));
        let mut only_self = HeaderMap::new();
        only_self.insert(
            "link",
            HeaderValue::from_static("<https://o/a>; rel=\"self\""),
        );
        assert_eq!(next_link(&only_self), None);
    }

    #[test]
    fn rate_limit_wait_uses_the_server_clock() {
        let mut h = HeaderMap::new();
        // Recorded: 429 at 16:21:50 with reset 16:22:38 (1757607758).
        h.insert(
            "date",
            HeaderValue::from_static("Thu, 11 Sep 2025 16:21:50 GMT"),
        );
        h.insert("x-rate-limit-reset", HeaderValue::from_static("1757607758"));
        assert_eq!(rate_limit_wait(&h), Duration::from_secs(49));
    }
}
