//! A small Slack Web API client over reqwest: JSON POSTs and query GETs with the bot token,
//! `{"ok":false}` mapped to a typed error, and 429s retried after `Retry-After` so no reply is
//! lost to a rate limit.

use std::time::Duration;

use serde_json::{json, Value};
use tracing::{debug, warn};

use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("Slack {method} failed: {error}")]
    Api { method: String, error: String },
    #[error("Slack {method} is still rate-limited after {attempts} attempts")]
    RateLimited { method: String, attempts: u32 },
    #[error("could not reach Slack for {method}: {detail}")]
    Transport { method: String, detail: String },
    #[error("Slack {method} answered something unreadable: {detail}")]
    Unreadable { method: String, detail: String },
}

#[derive(Clone, Debug)]
pub struct SlackWeb {
    http: reqwest::Client,
    base: String,
    token: Secret<String>,
    max_attempts: u32,
    max_wait: Duration,
}

/// What `auth.test` says about a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthInfo {
    pub user_id: String,
    pub team: String,
    pub team_id: String,
    /// Set when the workspace is part of an Enterprise Grid organisation.
    pub enterprise_id: Option<String>,
    /// Scopes granted to the token (from `x-oauth-scopes`), when Slack sent them.
    pub scopes: Option<Vec<String>>,
}

impl SlackWeb {
    pub fn new(http: reqwest::Client, base: &str, token: Secret<String>) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            max_attempts: 5,
            max_wait: Duration::from_secs(60),
        }
    }

    /// Calls a method with a JSON body (POST) and returns the whole answer.
    pub async fn post(&self, method: &str, body: &Value) -> Result<Value, SlackError> {
        self.call(method, Some(body), &[]).await.map(|(v, _)| v)
    }

    /// Calls a read method with query arguments (GET).
    pub async fn get(&self, method: &str, query: &[(&str, &str)]) -> Result<Value, SlackError> {
        self.call(method, None, query).await.map(|(v, _)| v)
    }

    async fn call(
        &self,
        method: &str,
        body: Option<&Value>,
        query: &[(&str, &str)],
    ) -> Result<(Value, reqwest::header::HeaderMap), SlackError> {
        let url = format!("{}/{method}", self.base);
        let transport = |e: reqwest::Error| SlackError::Transport {
            method: method.to_string(),
            detail: crate::http::describe_transport_error(&e),
        };
        let mut transport_retries = 0u32;
        for attempt in 1..=self.max_attempts {
            let request = match body {
                Some(body) => self.http.post(&url).json(body),
                None => self.http.get(&url).query(query),
            };
            let response = match request.bearer_auth(self.token.expose()).send().await {
                Ok(response) => response,
                // A read (GET) is safe to send again; a write only when it never left (the
                // connection failed), so a message is never posted twice. A pooled connection
                // a proxy closed while idle fails like this.
                Err(e) if transport_retries < 2 && (body.is_none() || e.is_connect()) => {
                    transport_retries += 1;
                    warn!(method, error = %crate::http::describe_transport_error(&e), "Slack call failed in transit; retrying");
                    tokio::time::sleep(Duration::from_millis(
                        100 * 4u64.pow(transport_retries - 1),
                    ))
                    .await;
                    continue;
                }
                Err(e) => return Err(transport(e)),
            };
            if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs)
                    .min(self.max_wait);
                warn!(
                    method,
                    attempt,
                    wait_secs = wait.as_secs(),
                    "Slack rate limit; waiting"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            let headers = response.headers().clone();
            let status = response.status();
            let text = response.text().await.map_err(transport)?;
            let value: Value = serde_json::from_str(&text).map_err(|e| SlackError::Unreadable {
                method: method.to_string(),
                detail: format!("HTTP {status}: {e}"),
            })?;
            if value["ok"] != json!(true) {
                return Err(SlackError::Api {
                    method: method.to_string(),
                    error: value["error"]
                        .as_str()
                        .unwrap_or("unknown_error")
                        .to_string(),
                });
            }
            debug!(method, "slack call ok");
            return Ok((value, headers));
        }
        Err(SlackError::RateLimited {
            method: method.to_string(),
            attempts: self.max_attempts,
        })
    }

    /// `auth.test`: who the token belongs to, and its scopes.
    pub async fn auth_test(&self) -> Result<AuthInfo, SlackError> {
        let (value, headers) = self.call("auth.test", Some(&json!({})), &[]).await?;
        let scopes = headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            });
        Ok(AuthInfo {
            user_id: value["user_id"].as_str().unwrap_or_default().to_string(),
            team: value["team"].as_str().unwrap_or_default().to_string(),
            team_id: value["team_id"].as_str().unwrap_or_default().to_string(),
            enterprise_id: value["enterprise_id"]
                .as_str()
                .filter(|e| !e.is_empty())
                .map(str::to_string),
            scopes,
        })
    }

    /// Posts a message; returns its `ts`.
    pub async fn post_message(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<Value>,
    ) -> Result<String, SlackError> {
        let mut body =
            json!({"channel": channel, "text": text, "unfurl_links": false, "unfurl_media": false});
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        if let Some(blocks) = blocks {
            body["blocks"] = blocks;
        }
        let answer = self.post("chat.postMessage", &body).await?;
        Ok(answer["ts"].as_str().unwrap_or_default().to_string())
    }

    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: Value,
    ) -> Result<(), SlackError> {
        self.post(
            "chat.update",
            &json!({"channel": channel, "ts": ts, "text": text, "blocks": blocks}),
        )
        .await
        .map(drop)
    }

    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread_ts: Option<&str>,
        text: &str,
    ) -> Result<(), SlackError> {
        let mut body = json!({"channel": channel, "user": user, "text": text});
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        self.post("chat.postEphemeral", &body).await.map(drop)
    }

    pub async fn add_reaction(
        &self,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), SlackError> {
        match self
            .post(
                "reactions.add",
                &json!({"channel": channel, "timestamp": ts, "name": name}),
            )
            .await
        {
            Err(SlackError::Api { error, .. }) if error == "already_reacted" => Ok(()),
            other => other.map(drop),
        }
    }

    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, SlackError> {
        let answer = self
            .get(
                "chat.getPermalink",
                &[("channel", channel), ("message_ts", ts)],
            )
            .await?;
        Ok(answer["permalink"].as_str().unwrap_or_default().to_string())
    }

    pub async fn user_info(&self, user: &str) -> Result<Value, SlackError> {
        Ok(self.get("users.info", &[("user", user)]).await?["user"].clone())
    }

    /// Starter prompts in the assistant pane (`assistant.threads.setSuggestedPrompts`): without
    /// `thread_ts`, which Slack says makes the call fail silently for an agent app.
    pub async fn assistant_prompts(
        &self,
        channel: &str,
        title: &str,
        prompts: &[(&str, &str)],
    ) -> Result<(), SlackError> {
        let prompts: Vec<Value> = prompts
            .iter()
            .map(|(title, message)| serde_json::json!({"title": title, "message": message}))
            .collect();
        self.post(
            "assistant.threads.setSuggestedPrompts",
            &serde_json::json!({"channel_id": channel, "title": title, "prompts": prompts}),
        )
        .await
        .map(drop)
    }

    /// "is looking this up…" under an assistant thread until the reply (`assistant.threads.setStatus`).
    pub async fn assistant_status(
        &self,
        channel: &str,
        thread_ts: &str,
        status: &str,
    ) -> Result<(), SlackError> {
        self.post(
            "assistant.threads.setStatus",
            &serde_json::json!({"channel_id": channel, "thread_ts": thread_ts, "status": status}),
        )
        .await
        .map(drop)
    }

    /// The workspace member with this email (`users.lookupByEmail`, `users:read.email`).
    /// The user ids in a user group (`usergroups.users.list`, scope `usergroups:read`).
    pub async fn usergroup_users(&self, group_id: &str) -> Result<Vec<String>, SlackError> {
        let answer = self
            .get("usergroups.users.list", &[("usergroup", group_id)])
            .await?;
        Ok(answer["users"]
            .as_array()
            .map(|users| {
                users
                    .iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Value, SlackError> {
        Ok(self.get("users.lookupByEmail", &[("email", email)]).await?["user"].clone())
    }

    /// The thread's messages, oldest first (the parent first), at most `limit`.
    pub async fn replies(
        &self,
        channel: &str,
        thread_ts: &str,
        limit: usize,
    ) -> Result<Vec<Value>, SlackError> {
        let limit = limit.to_string();
        let answer = self
            .get(
                "conversations.replies",
                &[("channel", channel), ("ts", thread_ts), ("limit", &limit)],
            )
            .await?;
        Ok(answer["messages"].as_array().cloned().unwrap_or_default())
    }

    /// One message by its `ts`: from the channel's history, or (for a reply in a thread)
    /// from the thread. `None` when Slack has no such message.
    pub async fn message(&self, channel: &str, ts: &str) -> Result<Option<Value>, SlackError> {
        let answer = self
            .get(
                "conversations.history",
                &[
                    ("channel", channel),
                    ("latest", ts),
                    ("inclusive", "true"),
                    ("limit", "1"),
                ],
            )
            .await?;
        let found = answer["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["ts"] == ts).cloned());
        if found.is_some() {
            return Ok(found);
        }
        Ok(self
            .replies(channel, ts, 1)
            .await?
            .into_iter()
            .find(|m| m["ts"] == ts))
    }

    /// Opens a modal with a fresh `trigger_id`.
    /// Puts `view` on `user`'s Home tab (`views.publish`).
    pub async fn publish_home(&self, user: &str, view: &Value) -> Result<(), SlackError> {
        self.post("views.publish", &json!({"user_id": user, "view": view}))
            .await
            .map(drop)
    }

    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackError> {
        self.post(
            "views.open",
            &json!({"trigger_id": trigger_id, "view": view}),
        )
        .await
        .map(drop)
    }

    /// Replaces an open modal, if it has not changed since `hash`.
    pub async fn update_view(
        &self,
        view_id: &str,
        hash: &str,
        view: &Value,
    ) -> Result<(), SlackError> {
        self.post(
            "views.update",
            &json!({"view_id": view_id, "hash": hash, "view": view}),
        )
        .await
        .map(drop)
    }

    /// `conversations.info`: the channel's name and whether the bot is in it (`is_member`).
    pub async fn conversation_info(&self, channel: &str) -> Result<Value, SlackError> {
        Ok(self
            .get("conversations.info", &[("channel", channel)])
            .await?["channel"]
            .clone())
    }

    /// Posts to a slash command's or shortcut's `response_url`: it works where the bot is not
    /// a member, takes no token, and answers only to the person who typed (`ephemeral`).
    pub async fn respond(&self, response_url: &str, text: &str) -> Result<(), SlackError> {
        let method = "response_url";
        let url = reqwest::Url::parse(response_url).map_err(|e| SlackError::Unreadable {
            method: method.into(),
            detail: format!("not a URL: {e}"),
        })?;
        // Only Slack's own hooks (or a loopback test server) receive these posts.
        let allowed = url.scheme() == "https"
            && url
                .host_str()
                .is_some_and(|h| h == "hooks.slack.com" || h.ends_with(".slack.com"))
            || url.scheme() == "http"
                && url
                    .host_str()
                    .is_some_and(|h| h == "127.0.0.1" || h == "localhost" || h == "[::1]");
        if !allowed {
            return Err(SlackError::Api {
                method: method.into(),
                error: format!(
                    "refusing to post to {}: not a Slack address",
                    url.host_str().unwrap_or("?")
                ),
            });
        }
        let body = json!({"response_type": "ephemeral", "text": text, "replace_original": false});
        let response =
            self.http
                .post(url)
                .json(&body)
                .send()
                .await
                .map_err(|e| SlackError::Transport {
                    method: method.into(),
                    detail: crate::http::describe_transport_error(&e),
                })?;
        if !response.status().is_success() {
            return Err(SlackError::Api {
                method: method.into(),
                error: format!("HTTP {}", response.status()),
            });
        }
        Ok(())
    }

    /// `apps.connections.open` with an app-level token: proves the token can open Socket Mode.
    pub async fn open_connection(&self) -> Result<String, SlackError> {
        let answer = self.post("apps.connections.open", &json!({})).await?;
        Ok(answer["url"].as_str().unwrap_or_default().to_string())
    }
}
