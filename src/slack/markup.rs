//! Slack's message markup, both ways. Inbound, [`normalize`] turns the text Slack delivers into
//! the plain text a person typed, keeping user mentions as `<@U…>` (the most reliable way to
//! name someone). Outbound, [`untrusted`] turns any text okta-agent did not write itself (the
//! model's words, Okta profile fields, help documents, people's own words echoed back) into
//! Slack text that cannot become a mention, a broadcast or a link: `&<>` are escaped, and bare
//! URLs are shown inside inline code, where Slack does not turn them into links.

/// Slack text → plain text. Emails (`<mailto:a@b.com|a@b.com>`) become the address, links
/// (`<https://x|label>`) the URL or "label (URL)", channels (`<#C…|general>`) `#general`, user
/// groups (`<!subteam^S…|@it>`) `@it`, broadcasts (`<!here>`) `@here`, dates their fallback
/// text, and `&amp;`, `&lt;`, `&gt;` their characters. User mentions stay `<@U…>` (a label,
/// as in `<@U1|bob>`, is dropped). Text that only looks like markup is left as it is.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&unescape(&rest[..open]));
        let after = &rest[open + 1..];
        // Markup never spans another '<' or a line break, and its target (before any '|')
        // has no spaces; anything else is text that only looks like markup.
        let close = after
            .find(['>', '<', '\n'])
            .filter(|&i| after[i..].starts_with('>'))
            .filter(|&i| {
                let target = after[..i].split('|').next().unwrap_or_default();
                !target.is_empty() && !target.contains(char::is_whitespace)
            });
        match close {
            Some(close) => {
                out.push_str(&render_markup(&after[..close]));
                rest = &after[close + 1..];
            }
            None => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(&unescape(rest));
    out
}

/// One `<…>` span (without the angle brackets) as plain text.
fn render_markup(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(unescape(label))),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        return if crate::policy::is_slack_user_id(id) {
            format!("<@{id}>")
        } else {
            label.unwrap_or_else(|| format!("@{id}"))
        };
    }
    if let Some(channel) = target.strip_prefix('#') {
        return match label {
            Some(name) if !name.is_empty() => format!("#{name}"),
            _ => format!("#{channel}"),
        };
    }
    if let Some(special) = target.strip_prefix('!') {
        if let Some(label) = label.filter(|l| !l.is_empty()) {
            return if special.starts_with("subteam^") && !label.starts_with('@') {
                format!("@{label}")
            } else {
                label
            };
        }
        return match special {
            "here" | "channel" | "everyone" => format!("@{special}"),
            _ if special.starts_with("subteam^") => "@usergroup".into(),
            _ => String::new(),
        };
    }
    let target = unescape(target);
    if let Some(address) = target.strip_prefix("mailto:") {
        return match label {
            Some(label) if !label.eq_ignore_ascii_case(address) => format!("{label} ({address})"),
            _ => address.to_string(),
        };
    }
    match label {
        Some(label) if !same_link_text(&label, &target) => format!("{label} ({target})"),
        _ => target,
    }
}

/// A label that only repeats the link (with or without its scheme) adds nothing.
fn same_link_text(label: &str, url: &str) -> bool {
    let bare = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/');
    label.eq_ignore_ascii_case(url) || label.trim_end_matches('/').eq_ignore_ascii_case(bare)
}

/// Slack's three entities back to characters (`&amp;` last, so `&amp;lt;` stays `&lt;`).
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Escapes `&`, `<` and `>`, as Slack requires of any text that is not markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text okta-agent did not write itself, made safe to post: escaped, backticks neutralised (so
/// nothing can open or close a code span), and every bare URL shown as inline code, which
/// Slack never turns into a link. Mentions and broadcasts cannot survive the escaping.
pub fn untrusted(text: &str) -> String {
    let escaped = escape(&text.replace('`', "'"));
    let mut out = String::with_capacity(escaped.len() + 8);
    let mut token = String::new();
    for c in escaped.chars() {
        if c.is_whitespace() {
            push_token(&mut out, &token);
            token.clear();
            out.push(c);
        } else {
            token.push(c);
        }
    }
    push_token(&mut out, &token);
    out
}

fn push_token(out: &mut String, token: &str) {
    if looks_like_link(token) {
        out.push('`');
        out.push_str(token);
        out.push('`');
    } else {
        out.push_str(token);
    }
}

/// Top-level domains Slack's clients turn into links without a scheme (the common ones).
const LINKED_TLDS: &[&str] = &[
    "com", "net", "org", "io", "co", "dev", "app", "ai", "me", "info", "biz", "xyz", "us", "uk",
    "de", "fr", "eu", "ly", "gl", "sh", "gg", "tv", "link", "site", "online", "page",
];

/// Whether Slack would show this word as a link: a scheme, `www.`, or a host with a common
/// top-level domain. An email address alone is not a link here (Slack shows it as `mailto:`).
fn looks_like_link(token: &str) -> bool {
    let raw = token.to_ascii_lowercase();
    if raw.contains("://") || raw.contains("www.") || raw.contains("mailto:") {
        return true;
    }
    let word = token.trim_matches(|c: char| !c.is_alphanumeric());
    let lower = word.to_ascii_lowercase();
    if lower.contains('@') && !lower.contains('/') {
        return false;
    }
    let host = lower
        .split(['/', ':', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    let mut labels = host.split('.');
    let Some(tld) = host.rsplit('.').next() else {
        return false;
    };
    host.contains('.')
        && labels.all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && LINKED_TLDS.contains(&tld)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slack_shapes_become_plain_text() {
        let cases = [
            (
                "unlock <mailto:jane@acme.com|jane@acme.com>",
                "unlock jane@acme.com",
            ),
            (
                "see <https://wiki.acme.com/vpn>",
                "see https://wiki.acme.com/vpn",
            ),
            (
                "see <https://wiki.acme.com/vpn|the VPN page>",
                "see the VPN page (https://wiki.acme.com/vpn)",
            ),
            (
                "<https://acme.okta.com|acme.okta.com>",
                "https://acme.okta.com",
            ),
            ("ask in <#C0123ABCD|it-help>", "ask in #it-help"),
            ("ask in <#C0123ABCD>", "ask in #C0123ABCD"),
            ("ping <!subteam^S0123|@it>", "ping @it"),
            ("ping <!subteam^S0123|it-team>", "ping @it-team"),
            ("<!here> anyone?", "@here anyone?"),
            ("<!channel>", "@channel"),
            ("R&amp;D &lt;team&gt;", "R&D <team>"),
            ("unlock <@U0BOB>", "unlock <@U0BOB>"),
            ("unlock <@U0BOB|bob>", "unlock <@U0BOB>"),
            (
                "<!date^1392734382^{date_short}|Feb 18, 2014>",
                "Feb 18, 2014",
            ),
            ("a < b and c > d", "a < b and c > d"),
            ("&amp;lt;", "&lt;"),
            (
                "<mailto:ceo@acme.com|bob@acme.com>",
                "bob@acme.com (ceo@acme.com)",
            ),
        ];
        for (slack, plain) in cases {
            assert_eq!(normalize(slack), plain, "{slack}");
        }
    }

    #[test]
    fn untrusted_text_cannot_link_mention_or_broadcast() {
        assert_eq!(
            untrusted("hi <@U0LEO> <!channel> & go to https://evil.example/login now"),
            "hi &lt;@U0LEO&gt; &lt;!channel&gt; &amp; go to `https://evil.example/login` now"
        );
        assert_eq!(
            untrusted("visit evil.com/reset."),
            "visit `evil.com/reset.`"
        );
        assert_eq!(
            untrusted("mail bob.smith@example.com"),
            "mail bob.smith@example.com"
        );
        assert_eq!(untrusted("`code` www.x.io"), "'code' `www.x.io`");
        assert_eq!(untrusted("status LOCKED_OUT."), "status LOCKED_OUT.");
    }

    /// Outside code spans, no link, mention or broadcast markup remains.
    fn inert(text: &str) -> bool {
        if text.contains('<') || text.contains('>') {
            return false;
        }
        text.split('`').step_by(2).all(|outside| {
            let lower = outside.to_ascii_lowercase();
            !lower.contains("://") && !lower.contains("www.") && !lower.contains("mailto:")
        })
    }

    proptest! {
        #[test]
        fn hostile_strings_stay_inert(text in ".{0,120}", pieces in proptest::collection::vec(prop_oneof![
            Just("<!channel>"), Just("<!here>"), Just("<https://evil.example|click>"), Just("<#C123>"),
            Just("<@U0LEO>"), Just("&lt;!channel&gt;"), Just("https://evil.example/x"), Just("HTTP://A.B"),
            Just("www.evil.com"), Just("`"), Just("mailto:x@y.z"), Just(" "), Just("\n"), Just("evil.com/a"),
        ], 0..8)) {
            let input = format!("{text}{}", pieces.concat());
            prop_assert!(inert(&untrusted(&input)), "{:?}", untrusted(&input));
            prop_assert!(inert(&untrusted(&normalize(&input))));
        }

        /// Whatever a person types, Slack escapes `&<>`; normalizing gives the typed text back.
        #[test]
        fn typed_text_survives_slack_escaping(typed in "\\PC{0,200}") {
            prop_assert_eq!(normalize(&escape(&typed)), typed);
        }
    }
}
