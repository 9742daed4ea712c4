//! Okta failures as one typed error whose `Display` is a sentence a person can act on.
//!
//! Branching uses `errorCode` and the HTTP status only; `errorSummary` is shown, never matched,
//! because Okta says it may change.

use serde::Deserialize;

/// The JSON error body of `/api/v1` (`Error` in the spec).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_summary: Option<String>,
    #[serde(default)]
    pub error_id: Option<String>,
    #[serde(default)]
    pub error_causes: Vec<ErrorCause>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCause {
    #[serde(default)]
    pub error_summary: Option<String>,
}

impl ErrorBody {
    /// "summary (cause; cause)".
    pub fn describe(&self) -> String {
        let summary = self
            .error_summary
            .clone()
            .unwrap_or_else(|| "no details given".into());
        let causes: Vec<&str> = self
            .error_causes
            .iter()
            .filter_map(|c| c.error_summary.as_deref())
            .collect();
        if causes.is_empty() {
            summary
        } else {
            format!("{summary} ({})", causes.join("; "))
        }
    }
}

/// Why the client could not get an access token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("Okta rejected the client assertion: {description}. {hint}")]
    InvalidClient { description: String, hint: String },
    #[error("Okta refused the requested scopes: {description}. Grant the scopes on the app's \"Okta API Scopes\" tab or change OKTA_SCOPES")]
    Scopes { description: String },
    #[error("Okta requires DPoP for this app and the DPoP proof was refused: {description}")]
    Dpop { description: String },
    #[error("the token endpoint is rate-limited; try again in {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the token endpoint answered {status} {error}: {description}")]
    Other {
        status: u16,
        error: String,
        description: String,
    },
    #[error("could not reach the Okta token endpoint at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("could not sign the client assertion: {0}")]
    Signing(String),
}

impl TokenError {
    /// Maps an `invalid_client` description to the setting that is most likely wrong.
    pub fn invalid_client(description: String) -> Self {
        let d = description.to_ascii_lowercase();
        let hint = if d.contains("kid") {
            "The key id is not registered on the Okta app: check OKTA_KEY_ID and the app's public keys"
        } else if d.contains("issuer")
            || d.contains("subject")
            || d.contains("client") && d.contains("valid client_id")
        {
            "OKTA_CLIENT_ID does not name this app"
        } else if d.contains("audience") {
            "OKTA_ORG_URL does not match the org that issued the app"
        } else if d.contains("expired")
            || d.contains("before the current time")
            || d.contains("future")
        {
            "This machine's clock is off; sync it (NTP) and retry"
        } else if d.contains("already been used") {
            "An assertion was replayed; this is a client bug, please report it"
        } else if d.contains("signature") || d.contains("jwkset") || d.contains("jwk") {
            "The private key does not match a public key registered on the Okta app"
        } else if d.contains("application_type") {
            "The Okta app must be an API Services (service) app"
        } else {
            "Check OKTA_CLIENT_ID, OKTA_KEY_ID and the private key"
        };
        Self::InvalidClient {
            description: description.trim_end_matches('.').to_string(),
            hint: hint.to_string(),
        }
    }
}

/// A failed Okta call. Every variant that reached Okta carries its `X-Okta-Request-Id`.
#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    #[error("Okta could not find it: {summary}")]
    NotFound {
        summary: String,
        request_id: Option<String>,
    },
    #[error("Okta refused because of the user's current status: {summary}")]
    WrongStatus {
        code: String,
        summary: String,
        request_id: Option<String>,
    },
    #[error("Okta says the service app is not permitted to do this ({summary}); its admin role may not cover this user or group")]
    NotPermitted {
        summary: String,
        request_id: Option<String>,
    },
    #[error("the Okta service app lacks the scope {scope}; grant it on the app's \"Okta API Scopes\" tab and add it to OKTA_SCOPES")]
    MissingScope {
        scope: String,
        request_id: Option<String>,
    },
    #[error("Okta's rate limit was reached; try again in about {retry_after_secs}s")]
    RateLimited {
        retry_after_secs: u64,
        request_id: Option<String>,
    },
    #[error("Okta is having trouble ({detail}); nothing was changed, try again shortly")]
    Transient {
        detail: String,
        request_id: Option<String>,
    },
    #[error("no clear answer came from Okta ({detail}); the change may or may not have been applied, so it was not retried. Check the user in Okta")]
    OutcomeUnknown {
        detail: String,
        request_id: Option<String>,
    },
    #[error("Okta rejected the request ({status} {code}): {summary}")]
    Rejected {
        status: u16,
        code: String,
        summary: String,
        request_id: Option<String>,
    },
    #[error("the access token was refused by Okta even after a fresh one was fetched")]
    Unauthorized { request_id: Option<String> },
    #[error("could not get an Okta access token: {0}")]
    Token(#[from] TokenError),
    #[error("{0}")]
    Refused(String),
    #[error("Okta sent a response okta-agent could not read: {0}")]
    Unexpected(String),
}

impl OktaError {
    /// The `X-Okta-Request-Id` of the response this error came from, for the audit log.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::NotFound { request_id, .. }
            | Self::WrongStatus { request_id, .. }
            | Self::NotPermitted { request_id, .. }
            | Self::MissingScope { request_id, .. }
            | Self::RateLimited { request_id, .. }
            | Self::Transient { request_id, .. }
            | Self::OutcomeUnknown { request_id, .. }
            | Self::Rejected { request_id, .. }
            | Self::Unauthorized { request_id } => request_id.as_deref(),
            Self::Token(_) | Self::Refused(_) | Self::Unexpected(_) => None,
        }
    }

    /// True when the request may have changed Okta although no success was seen.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// Classifies a non-success `/api/v1` response that is not 401, 429 or 5xx.
    pub fn from_response(
        status: u16,
        body: &ErrorBody,
        www_authenticate: Option<&str>,
        request_id: Option<String>,
    ) -> Self {
        if status == 403 {
            if let Some(scope) = www_authenticate.and_then(insufficient_scope) {
                return Self::MissingScope { scope, request_id };
            }
        }
        let code = body.error_code.clone().unwrap_or_default();
        let summary = body.describe();
        match (status, code.as_str()) {
            (404, _) | (_, "E0000007") => Self::NotFound {
                summary,
                request_id,
            },
            // E0000001 is a validation failure; for lifecycle calls it means wrong status
            // ("Cannot suspend a user that is not active"). E0000016/17/32/38 are status refusals.
            (_, "E0000001" | "E0000016" | "E0000017" | "E0000032" | "E0000038" | "E0000112") => {
                Self::WrongStatus {
                    code,
                    summary,
                    request_id,
                }
            }
            (_, "E0000006") | (403, "") => Self::NotPermitted {
                summary,
                request_id,
            },
            _ => Self::Rejected {
                status,
                code,
                summary,
                request_id,
            },
        }
    }
}

/// The scope named in a `WWW-Authenticate: Bearer … error="insufficient_scope", scope="…"` header.
pub fn insufficient_scope(header: &str) -> Option<String> {
    if !header.contains("insufficient_scope") {
        return None;
    }
    auth_param(header, "scope").or_else(|| Some("(not named by Okta)".into()))
}

/// One `name="value"` parameter of a `WWW-Authenticate` header.
pub fn auth_param(header: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let mut search_from = 0;
    while let Some(pos) = header[search_from..].find(&needle) {
        let at = search_from + pos;
        let preceded_ok = at == 0 || matches!(header.as_bytes()[at - 1], b' ' | b',');
        let start = at + needle.len();
        if preceded_ok {
            let end = header[start..].find('"')? + start;
            return Some(header[start..end].to_string());
        }
        search_from = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_read_from_www_authenticate() {
        let h = r#"Bearer authorization_uri="http://o/oauth2/v1/authorize", realm="http://o", scope="okta.groups.read", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="/api/v1/groups/1""#;
        assert_eq!(insufficient_scope(h).as_deref(), Some("okta.groups.read"));
        let e = OktaError::from_response(403, &ErrorBody::default(), Some(h), None);
        assert!(
            matches!(e, OktaError::MissingScope { ref scope, .. } if scope == "okta.groups.read")
        );
        assert!(e.to_string().contains("okta.groups.read"));
    }

    #[test]
    fn codes_map_to_kinds() {
        let body = |code: &str| ErrorBody {
            error_code: Some(code.into()),
            error_summary: Some("s".into()),
            ..Default::default()
        };
        assert!(matches!(
            OktaError::from_response(404, &body("E0000007"), None, None),
            OktaError::NotFound { .. }
        ));
        assert!(matches!(
            OktaError::from_response(403, &body("E0000032"), None, None),
            OktaError::WrongStatus { .. }
        ));
        assert!(matches!(
            OktaError::from_response(400, &body("E0000001"), None, None),
            OktaError::WrongStatus { .. }
        ));
        assert!(matches!(
            OktaError::from_response(403, &body("E0000006"), None, None),
            OktaError::NotPermitted { .. }
        ));
        assert!(matches!(
            OktaError::from_response(400, &body("E0000031"), None, None),
            OktaError::Rejected { .. }
        ));
    }

    #[test]
    fn invalid_client_hints_name_the_setting() {
        let e = TokenError::invalid_client("The client_assertion JWT kid is invalid.".into());
        assert!(e.to_string().contains("OKTA_KEY_ID"));
        let e = TokenError::invalid_client("The client_assertion token is expired.".into());
        assert!(e.to_string().contains("clock"));
        let e = TokenError::invalid_client(
            "The audience claim for client_assertion must be the endpoint invoked for the request."
                .into(),
        );
        assert!(e.to_string().contains("OKTA_ORG_URL"));
    }

    #[test]
    fn describe_joins_causes() {
        let body: ErrorBody = serde_json::from_str(r#"{"errorCode":"E0000032","errorSummary":"Unlock is not allowed for this user.","errorCauses":[{"errorSummary":"The user is not locked out."}]}"#).unwrap();
        assert_eq!(
            body.describe(),
            "Unlock is not allowed for this user. (The user is not locked out.)"
        );
    }
}
