//! The subset of Okta's `search` and `filter` expression language the simulator understands:
//! `attribute op "value"` clauses with `eq`, `sw` and `co`, joined by `and` and `or`.

use super::org::SimUser;

/// One clause of a `search`/`filter` expression: `attribute op "value"`.
pub(super) struct Clause {
    pub(super) attribute: String,
    pub(super) op: String,
    pub(super) value: String,
}

/// Parses `a eq "x" or b sw "y" and c co "z"` (`and` binds tighter; parentheses are ignored).
pub(super) fn parse_expression(expr: &str) -> Option<Vec<Vec<Clause>>> {
    let cleaned = expr.replace(['(', ')'], " ");
    let mut alternatives = Vec::new();
    for alt in split_outside_quotes(&cleaned, " or ") {
        let mut all = Vec::new();
        for part in split_outside_quotes(&alt, " and ") {
            let part = part.trim();
            let mut it = part.splitn(3, ' ');
            let attribute = it.next()?.to_string();
            let op = it.next()?.to_ascii_lowercase();
            let raw = it.next()?.trim();
            let value = raw
                .strip_prefix('"')?
                .strip_suffix('"')?
                .replace("\\\"", "\"")
                .replace("\\\\", "\\");
            if !matches!(op.as_str(), "eq" | "sw" | "co") {
                return None;
            }
            all.push(Clause {
                attribute,
                op,
                value,
            });
        }
        alternatives.push(all);
    }
    Some(alternatives)
}

fn split_outside_quotes(text: &str, sep: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let lower = text.to_ascii_lowercase();
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let c = bytes[i] as char;
        if !in_quotes && lower[i..].starts_with(sep) {
            parts.push(std::mem::take(&mut current));
            i += sep.len();
            continue;
        }
        if c == '"' && !escaped {
            in_quotes = !in_quotes;
        }
        escaped = c == '\\' && !escaped;
        // Push the whole UTF-8 character starting here.
        let ch = text[i..].chars().next().unwrap_or(' ');
        current.push(ch);
        i += ch.len_utf8();
    }
    parts.push(current);
    parts
}

/// The user attributes `search` and `filter` understand here.
pub(super) const USER_ATTRIBUTES: &[&str] = &[
    "id",
    "status",
    "profile.login",
    "profile.email",
    "profile.firstName",
    "profile.lastName",
];

pub(super) fn user_attribute(user: &SimUser, attribute: &str) -> Option<String> {
    Some(match attribute {
        "id" => user.id.clone(),
        "status" => user.status.to_string(),
        "profile.login" => user.login.clone(),
        "profile.email" => user.email.clone(),
        "profile.firstName" => user.first_name.clone(),
        "profile.lastName" => user.last_name.clone(),
        _ => return None,
    })
}

pub(super) fn matches(actual: &str, clause: &Clause, case_sensitive: bool) -> bool {
    let (a, v) = if case_sensitive {
        (actual.to_string(), clause.value.clone())
    } else {
        (actual.to_lowercase(), clause.value.to_lowercase())
    };
    match clause.op.as_str() {
        "eq" => a == v,
        "sw" => a.starts_with(&v),
        _ => a.contains(&v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_with_quotes_and_or() {
        let e = parse_expression(r#"profile.login sw "a or b" or profile.email eq "x@y""#).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0][0].value, "a or b");
        assert!(parse_expression("profile.login ne \"x\"").is_none());
        assert!(parse_expression("garbage").is_none());
    }
}
