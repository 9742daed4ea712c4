//! A fake Slack for end-to-end tests: the Web API over HTTP (axum) and Socket Mode over a
//! tokio-tungstenite websocket, both on loopback. It records every Web API call and every ack,
//! keeps the messages it was sent, can rate-limit a method, and can ask the client to reconnect.
//! Like Slack, it formats what people type before delivering it ([`slack_format`]): emails
//! become `<mailto:…|…>`, URLs `<…>`, `@here` `<!here>`, and `&<>` are escaped; its people
//! include a Slack Connect stranger and an unconfirmed email, as real workspaces do.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub const APP_TOKEN: &str = "xapp-1-test";
pub const BOT_TOKEN: &str = "xoxb-test";
pub const BOT_USER: &str = "UBOT";

/// One Web API call as the fake saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub auth: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// (channel, ts, thread_ts, text, blocks) of every posted message, updated in place.
    messages: Vec<Value>,
    acks: Vec<(String, Instant)>,
    sent: HashMap<String, Instant>,
    opens: usize,
    /// Sockets that completed the handshake and got `hello`.
    connections: usize,
    next_ts: u64,
    users: HashMap<String, Value>,
    /// method → how many more calls answer 429.
    rate_limited: HashMap<String, usize>,
    sockets: Vec<mpsc::UnboundedSender<Message>>,
}

#[derive(Clone)]
pub struct FakeSlack {
    inner: Arc<Mutex<Inner>>,
    pub api_url: String,
    ws_addr: SocketAddr,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            next_ts: 1_700_000_000_000_100,
            ..Inner::default()
        }));
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ws_addr = ws.local_addr().unwrap();
        let fake = Self {
            inner: inner.clone(),
            api_url: String::new(),
            ws_addr,
        };
        let for_ws = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                let fake = for_ws.clone();
                tokio::spawn(async move { fake.serve_socket(stream).await });
            }
        });
        let app = Router::new()
            .route("/api/{method}", any(api))
            .with_state(fake.clone());
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = http.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(http, app).await.unwrap() });
        let mut fake = fake;
        fake.api_url = format!("http://{addr}/api");
        fake.add_default_users();
        fake
    }

    fn add_default_users(&self) {
        let user = |id: &str, name: &str, email: Option<&str>| {
            let mut u = json!({"id": id, "team_id": "T1", "name": name, "deleted": false, "is_bot": false, "is_email_confirmed": true, "profile": {"real_name": name}});
            if let Some(email) = email {
                u["profile"]["email"] = json!(email);
            }
            u
        };
        let mut inner = self.inner.lock().unwrap();
        for (id, name, email) in [
            ("U0LEO", "leo", "leo.martin@example.com"),
            ("U0GRACE", "grace", "grace.kim@example.com"),
            ("U0BOB", "bob", "bob.smith@example.com"),
            ("U0ANA", "ana", "ana.lopez@example.com"),
            ("U0KATE", "kate", "kate.nguyen@example.com"),
            ("U0JAMAL", "jamal", "jamal.reed@example.com"),
        ] {
            inner.users.insert(id.into(), user(id, name, Some(email)));
        }
        let mut guest = user("U0GUEST", "guest", Some("contractor@example.com"));
        guest["is_restricted"] = json!(true);
        inner.users.insert("U0GUEST".into(), guest);
        let mut bot = user(BOT_USER, "okta-agent", None);
        bot["is_bot"] = json!(true);
        inner.users.insert(BOT_USER.into(), bot);
        // A vendor's engineer in a shared channel, from another organisation, whose email
        // happens to match an admin's: Slack Connect people look like this in users.info.
        let mut partner = user("U0PARTNER", "partner", Some("leo.martin@example.com"));
        partner["team_id"] = json!("T0VENDOR");
        partner["is_stranger"] = json!(true);
        inner.users.insert("U0PARTNER".into(), partner);
        // Someone whose workspace lets people set their own email, not yet confirmed.
        let mut unconfirmed = user("U0NEWBIE", "newbie", Some("ana.lopez@example.com"));
        unconfirmed["is_email_confirmed"] = json!(false);
        inner.users.insert("U0NEWBIE".into(), unconfirmed);
    }

    /// Changes a person as `users.info` reports them (then send [`user_change`]).
    pub fn update_user(&self, id: &str, change: impl FnOnce(&mut Value)) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(user) = inner.users.get_mut(id) {
            change(user);
        }
    }

    pub fn user(&self, id: &str) -> Value {
        self.inner.lock().unwrap().users[id].clone()
    }

    async fn serve_socket(&self, stream: tokio::net::TcpStream) {
        // Small frames both ways: without this, delayed ACKs add ~40 ms to some acks.
        let _ = stream.set_nodelay(true);
        let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
            return;
        };
        let (mut write, mut read) = socket.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        let hello = json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}, "debug_info": {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 3600}});
        if write
            .send(Message::Text(hello.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
        {
            let mut inner = self.inner.lock().unwrap();
            inner.sockets.push(tx);
            inner.connections += 1;
        }
        let inner = self.inner.clone();
        let mut reader = tokio::spawn(async move {
            while let Some(Ok(frame)) = read.next().await {
                if let Message::Text(text) = frame {
                    if let Ok(ack) = serde_json::from_str::<Value>(&text) {
                        if let Some(id) = ack["envelope_id"].as_str() {
                            inner
                                .lock()
                                .unwrap()
                                .acks
                                .push((id.to_string(), Instant::now()));
                        }
                    }
                }
            }
        });
        // Until the client goes away (the reader ends), forward frames; then drop the queue so
        // `send` never picks a dead socket.
        loop {
            tokio::select! {
                _ = &mut reader => break,
                frame = rx.recv() => {
                    let Some(frame) = frame else { break };
                    let close = matches!(frame, Message::Close(_));
                    if write.send(frame).await.is_err() || close {
                        break;
                    }
                }
            }
        }
        reader.abort();
        rx.close();
    }

    /// Sends a frame on the newest open socket, waiting for one to exist.
    pub async fn send(&self, frame: Value) {
        if let Some(id) = frame["envelope_id"].as_str() {
            self.inner
                .lock()
                .unwrap()
                .sent
                .insert(id.to_string(), Instant::now());
        }
        let text = frame.to_string();
        wait_until("a Socket Mode connection", || {
            let mut inner = self.inner.lock().unwrap();
            inner.sockets.retain(|s| !s.is_closed());
            match inner.sockets.last() {
                Some(socket) => socket.send(Message::Text(text.clone().into())).is_ok(),
                None => false,
            }
        })
        .await;
    }

    /// `{"type":"disconnect","reason":…}` on every open socket.
    pub async fn disconnect(&self, reason: &str) {
        let frame =
            json!({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}});
        let mut inner = self.inner.lock().unwrap();
        for socket in inner.sockets.drain(..) {
            let _ = socket.send(Message::Text(frame.to_string().into()));
        }
    }

    /// Records a person's message, as Slack would hold it for `conversations.replies`.
    pub fn user_message(&self, user: &str, channel: &str, ts: &str, thread_ts: &str, text: &str) {
        self.inner.lock().unwrap().messages.push(json!({
            "type": "message", "user": user, "channel": channel, "ts": ts, "thread_ts": thread_ts, "text": slack_format(text)
        }));
    }

    /// Records another bot's message in a thread (an alerting integration, say).
    pub fn bot_message(&self, channel: &str, ts: &str, thread_ts: &str, text: &str) {
        self.inner.lock().unwrap().messages.push(json!({
            "type": "message", "subtype": "bot_message", "bot_id": "B0ALERTS", "username": "alerts", "channel": channel, "ts": ts, "thread_ts": thread_ts, "text": slack_format(text)
        }));
    }

    pub fn connections(&self) -> usize {
        self.inner.lock().unwrap().connections
    }

    pub fn opens(&self) -> usize {
        self.inner.lock().unwrap().opens
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.inner
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    pub fn messages(&self) -> Vec<Value> {
        self.inner.lock().unwrap().messages.clone()
    }

    pub fn acked(&self, envelope_id: &str) -> bool {
        self.inner
            .lock()
            .unwrap()
            .acks
            .iter()
            .any(|(id, _)| id == envelope_id)
    }

    /// Time from sending each envelope to its ack.
    pub fn ack_latencies(&self) -> Vec<Duration> {
        let inner = self.inner.lock().unwrap();
        inner
            .acks
            .iter()
            .filter_map(|(id, at)| {
                inner
                    .sent
                    .get(id)
                    .map(|sent| at.saturating_duration_since(*sent))
            })
            .collect()
    }

    pub fn ack_count(&self) -> usize {
        self.inner.lock().unwrap().acks.len()
    }

    pub fn rate_limit(&self, method: &str, times: usize) {
        self.inner
            .lock()
            .unwrap()
            .rate_limited
            .insert(method.into(), times);
    }

    /// The posted message that carries buttons for this proposal, if any.
    pub fn card_for(&self, proposal_id: &str) -> Option<Value> {
        self.messages()
            .into_iter()
            .find(|m| m["blocks"].to_string().contains(proposal_id))
    }

    /// The proposal id on the newest card with an Approve button.
    pub fn newest_card(&self) -> Option<(String, Value)> {
        self.messages().into_iter().rev().find_map(|m| {
            let blocks = m["blocks"].as_array()?;
            let id = blocks.iter().find_map(|b| {
                b["elements"]
                    .as_array()?
                    .iter()
                    .find(|e| e["action_id"] == "approve")?["value"]
                    .as_str()
                    .map(str::to_string)
            })?;
            Some((id, m))
        })
    }

    fn answer(&self, method: &str, auth: &str, body: Value) -> Response {
        let mut inner = self.inner.lock().unwrap();
        inner.calls.push(Call {
            method: method.into(),
            auth: auth.into(),
            body: body.clone(),
        });
        if let Some(left) = inner.rate_limited.get_mut(method) {
            if *left > 0 {
                *left -= 1;
                let mut headers = HeaderMap::new();
                headers.insert("retry-after", "1".parse().unwrap());
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    headers,
                    axum::Json(json!({"ok": false, "error": "ratelimited"})),
                )
                    .into_response();
            }
        }
        let expected = if method == "apps.connections.open" {
            APP_TOKEN
        } else {
            BOT_TOKEN
        };
        if auth != format!("Bearer {expected}") {
            return ok(json!({"ok": false, "error": "invalid_auth"}));
        }
        let mut next_ts = || {
            inner.next_ts += 1;
            format!(
                "{}.{:06}",
                inner.next_ts / 1_000_000,
                inner.next_ts % 1_000_000
            )
        };
        match method {
            "apps.connections.open" => {
                let ticket = inner.opens;
                inner.opens += 1;
                ok(
                    json!({"ok": true, "url": format!("ws://{}/link/?ticket={ticket}", self.ws_addr)}),
                )
            }
            "auth.test" => {
                let mut headers = HeaderMap::new();
                headers.insert("x-oauth-scopes", "app_mentions:read,chat:write,commands,im:history,reactions:write,users:read,users:read.email,channels:history,groups:history".parse().unwrap());
                (headers, axum::Json(json!({"ok": true, "user_id": BOT_USER, "team": "Acme", "team_id": "T1", "url": "https://acme.slack.com/"}))).into_response()
            }
            "chat.postMessage" => {
                let ts = next_ts();
                let mut message = body.clone();
                message["ts"] = json!(ts);
                // As Slack stores a bot token's message: the bot user, its bot and app ids.
                message["user"] = json!(BOT_USER);
                message["bot_id"] = json!("B1");
                message["app_id"] = json!("A1");
                inner.messages.push(message);
                ok(json!({"ok": true, "channel": body["channel"], "ts": ts, "message": {"ts": ts}}))
            }
            "chat.update" => {
                let (channel, ts) = (body["channel"].clone(), body["ts"].clone());
                match inner
                    .messages
                    .iter_mut()
                    .find(|m| m["channel"] == channel && m["ts"] == ts)
                {
                    Some(message) => {
                        message["text"] = body["text"].clone();
                        message["blocks"] = body["blocks"].clone();
                        message["updated"] = json!(true);
                        ok(json!({"ok": true, "channel": channel, "ts": ts, "message": {}}))
                    }
                    None => ok(json!({"ok": false, "error": "message_not_found"})),
                }
            }
            "chat.postEphemeral" => ok(json!({"ok": true, "message_ts": next_ts()})),
            "chat.getPermalink" => ok(
                json!({"ok": true, "permalink": format!("https://acme.slack.com/archives/{}/p{}", body["channel"].as_str().unwrap_or(""), body["message_ts"].as_str().unwrap_or("").replace('.', ""))}),
            ),
            "reactions.add" => ok(json!({"ok": true})),
            "users.info" => match body["user"].as_str().and_then(|u| inner.users.get(u)) {
                Some(user) => ok(json!({"ok": true, "user": user})),
                None => ok(json!({"ok": false, "error": "user_not_found"})),
            },
            "conversations.replies" => {
                let (channel, ts) = (body["channel"].clone(), body["ts"].clone());
                let messages: Vec<Value> = inner
                    .messages
                    .iter()
                    .filter(|m| m["channel"] == channel && (m["ts"] == ts || m["thread_ts"] == ts))
                    .cloned()
                    .collect();
                ok(json!({"ok": true, "messages": messages, "has_more": false}))
            }
            other => ok(json!({"ok": false, "error": format!("unknown_method {other}")})),
        }
    }
}

fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

async fn api(
    State(fake): State<FakeSlack>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut value: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        for (k, v) in query {
            map.insert(k, json!(v));
        }
    }
    fake.answer(&method, &auth, value)
}

/// Polls `condition` until it holds; fails the test after 30 s (a deadline for a stuck test,
/// not a timing assertion).
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ----- envelopes ---------------------------------------------------------------------------

pub fn envelope_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An `events_api` envelope carrying `event`.
pub fn event_envelope(
    envelope_id: &str,
    event_id: &str,
    retry_attempt: u32,
    event: Value,
) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": false,
        "retry_attempt": retry_attempt,
        "retry_reason": if retry_attempt > 0 { "timeout" } else { "" },
        "payload": {
            "token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id, "event_time": 1_700_000_000,
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": true, "is_enterprise_install": false}],
            "event": event,
        }
    })
}

/// What Slack delivers when a person types `typed` in the composer: mentions picked from the
/// autocomplete (`<@U…>`) stay as they are; emails become `<mailto:a@b|a@b>`, URLs `<url>`,
/// `@here`/`@channel`/`@everyone` `<!here>`…; everything else has `&`, `<`, `>` escaped.
pub fn slack_format(typed: &str) -> String {
    let mut out = String::new();
    let mut rest = typed;
    while !rest.is_empty() {
        // A mention as the composer writes it.
        if let Some(after) = rest.strip_prefix("<@") {
            if let Some(end) = after.find('>') {
                let id = &after[..end];
                if !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                {
                    out.push_str(&format!("<@{id}>"));
                    rest = &after[end + 1..];
                    continue;
                }
            }
        }
        let c = rest.chars().next().unwrap();
        if c.is_whitespace() {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        let core = word.trim_end_matches(['.', ',', '?', '!', ';', ':', ')']);
        let tail = &word[core.len()..];
        let formatted = if core.starts_with("http://") || core.starts_with("https://") {
            Some(format!("<{}>", escape(core)))
        } else if matches!(core, "@here" | "@channel" | "@everyone") {
            Some(format!("<!{}>", &core[1..]))
        } else if is_email(core) {
            Some(format!("<mailto:{}|{}>", escape(core), escape(core)))
        } else {
            None
        };
        match formatted {
            Some(f) => {
                out.push_str(&f);
                out.push_str(&escape(tail));
            }
            None => out.push_str(&escape(word)),
        }
        rest = &rest[end..];
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn is_email(word: &str) -> bool {
    let Some((local, domain)) = word.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('<')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

pub fn mention(user: &str, text: &str, channel: &str, ts: &str) -> Value {
    json!({"type": "app_mention", "user": user, "text": format!("<@{BOT_USER}> {}", slack_format(text)), "ts": ts, "channel": channel, "event_ts": ts})
}

/// The `app_mention` Slack sends when an existing message is edited so that it mentions the
/// app: the same shape, with an `edited` object.
pub fn edited_mention(user: &str, text: &str, channel: &str, ts: &str) -> Value {
    let mut event = mention(user, text, channel, ts);
    event["edited"] = json!({"user": user, "ts": "1700000099.000001"});
    event
}

pub fn direct_message(user: &str, text: &str, ts: &str) -> Value {
    json!({"type": "message", "channel": "D0DM", "user": user, "text": slack_format(text), "ts": ts, "event_ts": ts, "channel_type": "im"})
}

/// A plain message in a channel (help channels read these).
pub fn channel_message(user: &str, channel: &str, text: &str, ts: &str) -> Value {
    json!({"type": "message", "channel": channel, "channel_type": "channel", "user": user, "text": slack_format(text), "ts": ts, "event_ts": ts})
}

/// `user_change`: Slack's news that a person's account changed.
pub fn user_change(user: Value) -> Value {
    json!({"type": "user_change", "user": user, "event_ts": "1700000000.000001", "cache_ts": 1_700_000_000})
}

/// A click on a card's button.
pub fn click(
    envelope_id: &str,
    user: &str,
    action_id: &str,
    proposal_id: &str,
    card: &Value,
) -> Value {
    json!({
        "envelope_id": envelope_id,
        "type": "interactive",
        "accepts_response_payload": false,
        "payload": {
            "type": "block_actions", "api_app_id": "A1", "token": "t", "trigger_id": "1.2.3",
            "team": {"id": "T1", "domain": "acme"},
            "user": {"id": user, "username": user, "team_id": "T1"},
            "container": {"type": "message", "message_ts": card["ts"], "channel_id": card["channel"], "is_ephemeral": false},
            "channel": {"id": card["channel"], "name": "it"},
            "message": {"type": "message", "ts": card["ts"], "thread_ts": card["thread_ts"], "text": "card"},
            "response_url": "http://127.0.0.1:9/response/1",
            "actions": [{"type": "button", "action_id": action_id, "block_id": "decision", "value": proposal_id, "text": {"type": "plain_text", "text": "Approve"}, "action_ts": format!("{}", uuid::Uuid::new_v4().as_u128() % 1_000_000)}]
        }
    })
}
