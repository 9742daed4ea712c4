//! Splits normalized message text into tokens the command engine reasons about: Slack
//! mentions, emails, Okta user ids, quoted names, words and separators. Every token keeps its
//! own original text; nothing ever indexes the message with offsets taken from a transformed
//! copy (that is how "add İİİİ to x" once crashed the engine).

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `<@U…>`
    Mention,
    Email,
    /// `00u…`
    OktaId,
    /// Text in quotes: a group name, as written.
    Quoted,
    Word,
    /// `,` `;` `/` `&` `+`, and the words "and", "then", "also", "plus".
    Separator,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    /// As written (a mention keeps its `<@…>`).
    pub raw: String,
    /// Lower-cased, apostrophes removed, known hyphenated words joined.
    pub norm: String,
    /// The word was followed by `'s` ("bob's password").
    pub possessive: bool,
}

impl Token {
    pub fn is_word(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.norm == word
    }

    /// A mention, email or Okta id: a target named exactly.
    pub fn is_explicit_target(&self) -> bool {
        matches!(self.kind, Kind::Mention | Kind::Email | Kind::OktaId)
    }
}

/// Hyphenated spellings that mean one word.
const JOINED: &[&str] = &[
    "reenable",
    "reactivate",
    "unsuspend",
    "unlock",
    "unblock",
    "signin",
    "login",
    "logon",
    "logout",
    "signout",
    "twofactor",
    "multifactor",
    "reenroll",
    "reenrol",
    "reregister",
    "email",
    "offboard",
    "onboard",
    "deprovision",
    "reprovision",
    "reinstate",
    "reset",
    "reissue",
];

/// Separators that end a sentence.
pub const SENTENCE_ENDS: &[&str] = &[".", "?", "!"];

/// Separators that set off a clause: sentence ends and dashes.
pub const CLAUSE_MARKS: &[&str] = &[".", "?", "!", "-", "—", "–"];

const SEPARATOR_WORDS: &[&str] = &["and", "then", "also", "plus"];

/// Tokens of `text` (already normalized from Slack markup).
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("<@") {
            if let Some(end) = after.find('>') {
                let id = &after[..end];
                if crate::policy::is_slack_user_id(id) {
                    tokens.push(Token {
                        kind: Kind::Mention,
                        raw: format!("<@{id}>"),
                        norm: format!("<@{}>", id.to_ascii_lowercase()),
                        possessive: false,
                    });
                    rest = &after[end + 1..];
                    if let Some(stripped) = strip_possessive(rest) {
                        if let Some(last) = tokens.last_mut() {
                            last.possessive = true;
                        }
                        rest = stripped;
                    }
                    continue;
                }
            }
        }
        if let Some((quoted, after)) = quoted_at(rest) {
            let inner = quoted.trim();
            if names_a_person(inner) {
                // `"bob@x.com"`, `'bob.smith'`: the quotes only set the target apart.
                tokens.extend(tokenize(inner));
            } else if !inner.is_empty() {
                tokens.push(Token {
                    kind: Kind::Quoted,
                    raw: inner.to_string(),
                    norm: inner.to_lowercase(),
                    possessive: false,
                });
            }
            rest = after;
            continue;
        }
        // '&' inside a word is part of it ("R&D"); alone it joins things.
        let inside_word = c == '&'
            && tokens.last().is_some_and(|t| t.kind == Kind::Word)
            && !text_before_is_space(text, rest)
            && rest[1..].chars().next().is_some_and(char::is_alphanumeric);
        if inside_word {
            if let Some(last) = tokens.last_mut() {
                let end = rest[1..]
                    .char_indices()
                    .find(|&(_, ch)| !is_word_char(ch))
                    .map_or(rest.len(), |(i, _)| i + 1);
                last.raw.push_str(&rest[..end]);
                last.norm.push_str(&rest[..end].to_lowercase());
                rest = &rest[end..];
                continue;
            }
        }
        if matches!(c, ',' | ';' | '/' | '&' | '+') {
            tokens.push(separator(&c.to_string()));
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest
            .char_indices()
            .find(|&(_, ch)| !is_word_char(ch))
            .map_or(rest.len(), |(i, _)| i);
        if end == 0 {
            rest = &rest[c.len_utf8()..];
            // The end of a sentence, or a dash between two clauses, separates them; other
            // punctuation carries no meaning here ('(', ':', …).
            if matches!(c, '?' | '!' | '—' | '–') && more_follows(rest) {
                tokens.push(separator(&c.to_string()));
            }
            continue;
        }
        let word = &rest[..end];
        rest = &rest[end..];
        if word.chars().all(|ch| ch == '-') {
            // " - " between clauses.
            if more_follows(rest) {
                tokens.push(separator("-"));
            }
            continue;
        }
        push_word(&mut tokens, word);
        if word.ends_with('.') && more_follows(rest) {
            tokens.push(separator("."));
        }
    }
    tokens
}

/// Whether `rest` (what follows a punctuation mark) starts with a space and holds more text:
/// the mark ends a sentence or clause ("locked. please", "x - y"), not a word ("bob.smith").
fn more_follows(rest: &str) -> bool {
    rest.starts_with(char::is_whitespace) && !rest.trim().is_empty()
}

/// Quoted text that is a target, not a group name: an email, a mention, an Okta id, or a
/// login such as `bob.smith` (one word with a dot, underscore or @ in it).
fn names_a_person(inner: &str) -> bool {
    !inner.is_empty()
        && !inner.contains(char::is_whitespace)
        && (inner.starts_with("<@")
            || crate::identity::is_okta_user_id(inner)
            || inner
                .trim_matches(|c: char| !c.is_alphanumeric())
                .contains(['.', '_', '@']))
}

/// Whether the character just before `rest` (a suffix of `text`) is whitespace.
fn text_before_is_space(text: &str, rest: &str) -> bool {
    let at = text.len() - rest.len();
    text[..at]
        .chars()
        .next_back()
        .is_none_or(char::is_whitespace)
}

fn separator(raw: &str) -> Token {
    Token {
        kind: Kind::Separator,
        raw: raw.to_string(),
        norm: raw.to_lowercase(),
        possessive: false,
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '\'' | '’' | '+')
}

/// `'s` (or `’s`) right after a token, then a word boundary.
fn strip_possessive(rest: &str) -> Option<&str> {
    let after = rest
        .strip_prefix("'s")
        .or_else(|| rest.strip_prefix("’s"))?;
    after
        .chars()
        .next()
        .is_none_or(|c| !c.is_alphanumeric())
        .then_some(after)
}

/// A quoted span at the start of `text`: "…", “…”, ‘…’ or `…` (a plain `'` only opens a
/// quote when a closing one follows before the end of the line).
fn quoted_at(text: &str) -> Option<(&str, &str)> {
    let (open, close) = match text.chars().next()? {
        '"' => ('"', '"'),
        '`' => ('`', '`'),
        '“' => ('“', '”'),
        '‘' => ('‘', '’'),
        '\'' => ('\'', '\''),
        _ => return None,
    };
    let inner_start = open.len_utf8();
    let end = text[inner_start..].find(close)? + inner_start;
    let inner = &text[inner_start..end];
    if inner.contains('\n') {
        return None;
    }
    Some((inner, &text[end + close.len_utf8()..]))
}

fn push_word(tokens: &mut Vec<Token>, word: &str) {
    // Sentence punctuation stuck to the end is not part of the word (but a login's dots are).
    let word = word.trim_end_matches(['.', '-', '_', '\'', '’']);
    let word = word.trim_start_matches(['.', '-', '_', '\'', '’']);
    if word.is_empty() {
        return;
    }
    let (word, possessive) = match word.strip_suffix("'s").or_else(|| word.strip_suffix("’s")) {
        Some(stem) if !stem.is_empty() => (stem, true),
        _ => (word, false),
    };
    let lower = word.to_lowercase().replace(['\'', '’'], "");
    let kind = if is_email(&lower) {
        Kind::Email
    } else if crate::identity::is_okta_user_id(word) {
        Kind::OktaId
    } else if SEPARATOR_WORDS.contains(&lower.as_str()) {
        Kind::Separator
    } else {
        Kind::Word
    };
    let norm = match kind {
        Kind::Word if lower.contains('-') => {
            let joined = lower.replace('-', "");
            if JOINED.contains(&joined.as_str()) || joined == "2fa" {
                joined
            } else {
                lower
            }
        }
        _ => lower,
    };
    tokens.push(Token {
        kind,
        raw: word.to_string(),
        norm,
        possessive,
    });
}

/// `local@domain.tld`, loosely.
pub fn is_email(word: &str) -> bool {
    let Some((local, domain)) = word.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        tokenize(text)
            .into_iter()
            .map(|t| (t.kind, t.norm))
            .collect()
    }

    #[test]
    fn mentions_emails_quotes_possessives_and_separators() {
        use Kind::*;
        assert_eq!(
            kinds("Reset <@U0BOB>'s password, and add ana@x.com to \"Zoom Users\"!"),
            vec![
                (Word, "reset".into()),
                (Mention, "<@u0bob>".into()),
                (Word, "password".into()),
                (Separator, ",".into()),
                (Separator, "and".into()),
                (Word, "add".into()),
                (Email, "ana@x.com".into()),
                (Word, "to".into()),
                (Quoted, "zoom users".into()),
            ]
        );
        let t = tokenize("bob's re-enable sign-in can't");
        assert!(t[0].possessive && t[0].norm == "bob");
        assert_eq!(t[1].norm, "reenable");
        assert_eq!(t[2].norm, "signin");
        assert_eq!(t[3].norm, "cant");
        assert_eq!(tokenize("İİİİ 🔒")[0].raw, "İİİİ");
        assert!(tokenize("it's 'quoted' here")[1].kind == Kind::Quoted);
        assert_eq!(tokenize("add ana to R&D")[3].raw, "R&D");
        assert_eq!(tokenize("bob & kate")[1].kind, Kind::Separator);
    }

    #[test]
    fn quoted_emails_and_logins_are_targets_and_quoted_names_are_not() {
        use Kind::*;
        for text in [
            "unlock \"bob@x.com\"",
            "unlock “bob@x.com”",
            "unlock ‘bob@x.com’",
            "unlock `bob@x.com`",
            "unlock (bob@x.com)",
            "unlock [bob@x.com]",
            "unlock <bob@x.com>",
        ] {
            assert_eq!(kinds(text)[1], (Email, "bob@x.com".into()), "{text}");
        }
        assert_eq!(kinds("unlock 'bob.smith'")[1], (Word, "bob.smith".into()));
        assert_eq!(
            kinds("unlock \"<@U0BOB>\"")[1],
            (Mention, "<@u0bob>".into())
        );
        assert_eq!(kinds("add x to \"Sales\"")[3], (Quoted, "sales".into()));
        assert_eq!(
            kinds("add x to `Zoom Users`")[3],
            (Quoted, "zoom users".into())
        );
    }

    #[test]
    fn sentence_ends_and_dashes_separate_clauses_but_not_words() {
        let separators = |text: &str| -> Vec<String> {
            tokenize(text)
                .into_iter()
                .filter(|t| t.kind == Kind::Separator)
                .map(|t| t.raw)
                .collect()
        };
        assert_eq!(separators("unlock bob. he was locked"), ["."]);
        assert_eq!(separators("unlock bob? she asked"), ["?"]);
        assert_eq!(separators("unlock bob - he asked — twice"), ["-", "—"]);
        // At the end, inside a login, or inside a hyphenated word: not a separator.
        assert!(separators("unlock bob.smith.").is_empty());
        assert!(separators("yes!").is_empty());
        assert!(separators("re-enable x-ray").is_empty());
    }
}
