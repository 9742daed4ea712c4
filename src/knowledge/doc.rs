//! One help document: its metadata (from YAML front matter, which is never shown as text) and
//! its sections, split at headings, each with the anchor its link points to. Markdown, plain
//! text and HTML (converted with `html2text`) all end up as the same shape.

use serde::Deserialize;

use crate::tools::Tool;

/// What kind of file a document came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Text,
    Html,
}

impl Format {
    /// From a file name's extension; `None` for files that are not help documents.
    pub fn of(name: &str) -> Option<Self> {
        let ext = name.rsplit('.').next()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Text),
            "html" | "htm" => Some(Format::Html),
            _ => None,
        }
    }
}

/// A help document, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Doc {
    /// The file name or URL it came from.
    pub source: String,
    pub title: String,
    /// Where people read it (front matter `link`), without an anchor.
    pub link: Option<String>,
    pub tags: Vec<String>,
    pub audience: Option<String>,
    /// A self-service action this document may offer (front matter `self_service`).
    pub self_service: Option<Tool>,
    /// The ways people ask for it (front matter `questions`): matched like the document's own
    /// words, never shown.
    pub questions: Vec<String>,
    pub sections: Vec<Section>,
}

/// Part of a document under one heading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The heading ("" for text before the first heading).
    pub heading: String,
    /// The heading's anchor (`#get-back-in`), empty when there is no heading.
    pub anchor: String,
    /// Plain text: Markdown emphasis, code marks and link targets removed.
    pub text: String,
}

impl Doc {
    /// The link to a section: the document's link with the section's anchor.
    pub fn link_to(&self, section: &Section) -> Option<String> {
        let link = self.link.as_ref()?;
        Some(if section.anchor.is_empty() {
            link.clone()
        } else {
            format!("{link}#{}", section.anchor)
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<String>,
    link: Option<String>,
    #[serde(default)]
    tags: Tags,
    audience: Option<String>,
    self_service: Option<String>,
    #[serde(default)]
    questions: Vec<String>,
}

/// A phrasing longer than this is a paragraph, not a way of asking.
pub const MAX_PHRASING_CHARS: usize = 200;

/// `tags: [a, b]`, `tags: a, b` or a YAML list.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Tags {
    #[default]
    None,
    List(Vec<String>),
    Text(String),
}

/// Parses a document; the error names what is wrong with it.
pub fn parse(source: &str, text: &str, format: Format) -> Result<Doc, String> {
    let text = text.replace("\r\n", "\n");
    let (front, body) = split_front_matter(&text)?;
    let body = match format {
        Format::Html => html_to_text(body)?,
        Format::Markdown | Format::Text => body.to_string(),
    };
    let front: FrontMatter = match front {
        Some(yaml) if !yaml.trim().is_empty() => serde_norway::from_str(yaml)
            .map_err(|e| format!("front matter: {}", e.to_string().replace('\n', " ")))?,
        _ => FrontMatter::default(),
    };
    let link = match front.link {
        Some(link) if link.starts_with("https://") || link.starts_with("http://") => {
            if link.contains(['<', '>', '|', ' ']) {
                return Err(format!(
                    "front matter: link '{link}' has characters a link cannot have"
                ));
            }
            Some(link.trim_end_matches('/').to_string())
        }
        Some(link) => {
            return Err(format!(
                "front matter: link '{link}' must start with https://"
            ))
        }
        None => None,
    };
    let self_service = match front.self_service {
        Some(name) => match Tool::from_name(&name) {
            Some(tool) if tool.changes_okta() => Some(tool),
            _ => {
                return Err(format!(
                    "front matter: self_service '{name}' is not an action okta-agent can offer (use e.g. unlock_user or reset_password)"
                ))
            }
        },
        None => None,
    };
    let mut questions = Vec::new();
    for question in front.questions {
        let question = question.trim();
        if question.is_empty() {
            return Err("front matter: questions has an empty entry".into());
        }
        if question.chars().count() > MAX_PHRASING_CHARS {
            return Err(format!(
                "front matter: the question '{}…' is over {MAX_PHRASING_CHARS} characters; write the way people ask, in a sentence",
                question.chars().take(40).collect::<String>()
            ));
        }
        questions.push(question.to_string());
    }
    let tags = match front.tags {
        Tags::None => Vec::new(),
        Tags::List(list) => list,
        Tags::Text(text) => text.split(',').map(|t| t.trim().to_string()).collect(),
    };
    let mut sections = match format {
        Format::Text => vec![Section {
            heading: String::new(),
            anchor: String::new(),
            text: body.trim().to_string(),
        }],
        Format::Markdown | Format::Html => split_sections(&body),
    };
    // The first heading is usually the title; its section keeps the text under it.
    let title = front
        .title
        .or_else(|| {
            sections
                .iter()
                .find(|s| !s.heading.is_empty())
                .map(|s| s.heading.clone())
        })
        .or_else(|| {
            (format == Format::Text)
                .then(|| {
                    body.lines()
                        .find(|l| !l.trim().is_empty())
                        .map(|l| l.trim().to_string())
                })
                .flatten()
        })
        .unwrap_or_else(|| title_from_name(source));
    sections.retain(|s| !s.text.trim().is_empty());
    if sections.is_empty() {
        return Err("it has no text".into());
    }
    Ok(Doc {
        source: source.to_string(),
        title,
        link,
        tags,
        audience: front.audience,
        self_service,
        questions,
        sections,
    })
}

/// `---\n…\n---\n` at the very start: (front matter, the rest).
fn split_front_matter(text: &str) -> Result<(Option<&str>, &str), String> {
    let Some(rest) = text.strip_prefix("---\n") else {
        return Ok((None, text));
    };
    let end = rest
        .find("\n---\n")
        .map(|i| (i, i + 5))
        .or_else(|| rest.strip_suffix("\n---").map(|r| (r.len(), rest.len())))
        .ok_or("front matter starts with --- but never ends with a --- line")?;
    Ok((Some(&rest[..end.0]), &rest[end.1..]))
}

fn title_from_name(source: &str) -> String {
    let name = source.rsplit('/').next().unwrap_or(source);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    stem.replace(['-', '_'], " ")
}

/// Splits Markdown at `#` headings.
fn split_sections(body: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut heading = String::new();
    let mut lines: Vec<&str> = Vec::new();
    let mut in_code = false;
    let flush = |heading: &str, lines: &[&str], sections: &mut Vec<Section>| {
        sections.push(Section {
            heading: heading.to_string(),
            anchor: anchor(heading),
            text: plain(&lines.join("\n")),
        });
    };
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if !in_code && (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            if !heading.is_empty() || lines.iter().any(|l| !l.trim().is_empty()) {
                flush(&heading, &lines, &mut sections);
            }
            heading = plain(trimmed[hashes..].trim());
            lines.clear();
            continue;
        }
        lines.push(line);
    }
    flush(&heading, &lines, &mut sections);
    sections
}

/// GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens.
pub fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Markdown to plain text: emphasis and code marks dropped, links reduced to their text.
fn plain(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(c) = rest.chars().next() {
        // [text](target) → text
        if c == '[' {
            if let Some(close) = rest.find("](") {
                if let Some(end) = rest[close..].find(')') {
                    let label = &rest[1..close];
                    if !label.contains('\n') {
                        out.push_str(label);
                        rest = &rest[close + end + 1..];
                        continue;
                    }
                }
            }
        }
        if !matches!(c, '*' | '`' | '_') || !is_markup_char(rest, &out) {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    // Soft line breaks inside a paragraph become spaces (a wrapped source line is not a break
    // in Slack); list items and blank lines keep theirs.
    let mut text = String::with_capacity(out.len());
    let mut previous_blank = true;
    for line in out.lines() {
        let line = line.trim();
        let item = line.strip_prefix("- ").or_else(|| line.strip_prefix("* "));
        let numbered = line
            .split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let line = item.or_else(|| line.strip_prefix("> ")).unwrap_or(line);
        if line.is_empty() {
            text.push_str("\n\n");
        } else if previous_blank || item.is_some() || numbered {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            if item.is_some() {
                text.push_str("• ");
            }
            text.push_str(line);
        } else {
            text.push(' ');
            text.push_str(line);
        }
        previous_blank = line.is_empty();
    }
    let mut text = text.trim().to_string();
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text
}

/// `*`, `` ` `` and `_` are markup unless `_` joins two word characters (`snake_case`).
fn is_markup_char(rest: &str, before: &str) -> bool {
    if !rest.starts_with('_') {
        return true;
    }
    let prev = before
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric);
    let next = rest[1..].chars().next().is_some_and(char::is_alphanumeric);
    !(prev && next)
}

/// HTML to Markdown-ish text (headings keep their `#`), with the page title as a first heading.
pub fn html_to_text(html: &str) -> Result<String, String> {
    let title = html
        .find("<title>")
        .and_then(|start| {
            let rest = &html[start + 7..];
            rest.find("</title>")
                .map(|end| rest[..end].trim().to_string())
        })
        .filter(|t| !t.is_empty());
    // Variation selectors (U+FE0E, U+FE0F: "⚠️", "✔️") only choose how a symbol is drawn.
    // html2text measures a character and its selector differently as a pair and one by one,
    // and its line arithmetic underflows on them (found by the fuzzer), so they go first.
    let content: String = without_elements(html, &["nav", "header", "footer", "aside"])
        .chars()
        .filter(|c| !matches!(c, '\u{FE0E}' | '\u{FE0F}'))
        .collect();
    // And should it panic on some other input, that page is unreadable, not the process down.
    let text = std::panic::catch_unwind(|| {
        html2text::config::plain()
            .string_from_read(content.as_bytes(), 100)
            .unwrap_or_default()
    })
    .map_err(|_| "the HTML could not be turned into text".to_string())?;
    let first_heading = text
        .lines()
        .find(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim());
    Ok(match title {
        Some(title) if first_heading != Some(title.as_str()) => format!("# {title}\n\n{text}"),
        _ => text,
    })
}

/// The page without its navigation, header, footer and sidebars: site chrome is not help.
fn without_elements(html: &str, names: &[&str]) -> String {
    let mut out = html.to_string();
    for name in names {
        loop {
            let lower = out.to_ascii_lowercase();
            let Some(start) = find_tag(&lower, name) else {
                break;
            };
            let close = format!("</{name}>");
            let end = lower[start..]
                .find(&close)
                .map_or(out.len(), |i| start + i + close.len());
            out.replace_range(start..end, " ");
        }
    }
    out
}

/// Where `<name>` or `<name ...>` starts (not `<names>`).
fn find_tag(lower: &str, name: &str) -> Option<usize> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(i) = lower[from..].find(&open) {
        let at = from + i;
        match lower[at + open.len()..].chars().next() {
            Some('>' | ' ' | '\t' | '\n' | '\r' | '/') => return Some(at),
            _ => from = at + open.len(),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_metadata_and_sections_carry_anchors() {
        let doc = parse(
            "locked-out.md",
            "---\ntitle: My account is locked out\nlink: https://intranet/it/locked\ntags: [locked, unlock]\nself_service: unlock_user\n---\n# My account is locked out\n\nIntro **text**.\n\n## Get back in\nAsk `okta-agent` or see [the guide](https://x).\n",
            Format::Markdown,
        )
        .unwrap();
        assert_eq!(doc.title, "My account is locked out");
        assert_eq!(doc.tags, vec!["locked", "unlock"]);
        assert_eq!(doc.self_service, Some(Tool::UnlockUser));
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].text, "Intro text.");
        assert_eq!(doc.sections[1].anchor, "get-back-in");
        assert_eq!(doc.sections[1].text, "Ask okta-agent or see the guide.");
        assert_eq!(
            doc.link_to(&doc.sections[1]).as_deref(),
            Some("https://intranet/it/locked#get-back-in")
        );
        assert!(!doc.sections.iter().any(|s| s.text.contains("title:")));
    }

    #[test]
    fn broken_documents_say_what_is_wrong() {
        assert!(
            parse("a.md", "---\ntitle: [unclosed\n---\ntext", Format::Markdown)
                .unwrap_err()
                .contains("front matter")
        );
        assert!(parse("a.md", "---\ntitle: x\n", Format::Markdown)
            .unwrap_err()
            .contains("never ends"));
        assert!(parse(
            "a.md",
            "---\nself_service: find_user\n---\ntext",
            Format::Markdown
        )
        .unwrap_err()
        .contains("self_service"));
        assert!(parse(
            "a.md",
            "---\nlink: javascript:alert(1)\n---\ntext",
            Format::Markdown
        )
        .unwrap_err()
        .contains("https://"));
        assert!(parse("a.md", "", Format::Markdown)
            .unwrap_err()
            .contains("no text"));
        assert!(parse(
            "a.md",
            "---\ntitle: x\nowner: me\n---\ntext",
            Format::Markdown
        )
        .is_err());
    }

    /// Found by the fuzzer: emoji with a presentation selector ("⚠️", keycaps) in a line too
    /// long for the converter's width made html2text's line arithmetic underflow.
    #[test]
    fn html_with_emoji_presentation_selectors_converts() {
        for body in [
            "2\u{fe0f}".repeat(100) + " x",
            "1\u{fe0f}\u{20e3}".repeat(100) + " x",
            "\u{26a0}\u{fe0f}".repeat(60) + " Do not share your password",
        ] {
            let html = format!("<html><body><h1>Careful</h1><p>{body}</p></body></html>");
            let doc = parse("https://intranet/careful", &html, Format::Html).unwrap();
            assert!(
                doc.sections
                    .iter()
                    .any(|s| s.text.contains(" x") || s.text.contains("share your password")),
                "{doc:?}"
            );
        }
    }

    #[test]
    fn plain_text_and_html_documents() {
        let txt = parse(
            "wifi-guide.txt",
            "Guest Wi-Fi\nThe password is on the screen.",
            Format::Text,
        )
        .unwrap();
        assert_eq!(txt.title, "Guest Wi-Fi");
        let html = parse(
            "https://intranet/vpn",
            "<html><head><title>VPN guide</title></head><body><h2>Connect</h2><p>Open <b>GlobalProtect</b>.</p><script>x()</script></body></html>",
            Format::Html,
        )
        .unwrap();
        assert_eq!(html.title, "VPN guide");
        assert!(
            html.sections
                .iter()
                .any(|s| s.text.contains("GlobalProtect")),
            "{html:?}"
        );
        assert!(!html.sections.iter().any(|s| s.text.contains("x()")));
        // Site chrome is dropped; the title comes from the page, not its navigation.
        let page = parse(
            "https://intranet/wiki/printing",
            "<html><head><title>Printing</title></head><body><NAV class=top>Home · IT</NAV><header>Logo</header><navigation>kept</navigation><h1>Printing</h1><h2>Offline</h2><p>Turn it off and on.</p><footer>© IT</footer></body></html>",
            Format::Html,
        )
        .unwrap();
        assert_eq!(page.title, "Printing");
        let text: String = page.sections.iter().map(|s| s.text.clone()).collect();
        assert!(
            !text.contains("Home") && !text.contains("Logo") && !text.contains('©'),
            "{page:?}"
        );
        assert!(
            text.contains("kept") && text.contains("off and on"),
            "{page:?}"
        );
    }
}
