//! A fake Slack for end-to-end tests: the Web API over HTTP (axum) and Socket Mode over a
//! tokio-tungstenite websocket, both on loopback. It records every Web API call and every ack,
//! keeps the messages it was sent, can rate-limit a method, and can ask the client to reconnect.
//! Like Slack, it formats what people type before delivering it ([`slack_format`]): emails
//! become `<mailto:…|…>`, URLs `<…>`, `@here` `<!here>`, and `&<>` are escaped; its people
//! include a Slack Connect stranger and an unconfirmed email, as real workspaces do. Like
//! Slack, it refuses to post or read where the bot is not a member (`not_in_channel`, or
//! `channel_not_found` for a private channel or an unknown id), and it serves `response_url`s,
//! which work anywhere, at most 5 times each.

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
    /// The payload of each ack that carried one (view submissions, suggestions, commands).
    ack_payloads: HashMap<String, Value>,
    /// Open modals by view id, as Slack holds them (id, team_id, hash, and the view).
    views: HashMap<String, Value>,
    next_view: u64,
    /// Channels by id, as `conversations.info` describes them (`name`, `is_private`,
    /// `is_member` for the bot).
    channels: HashMap<String, Value>,
    /// What was posted to each `response_url` (by the id in its path), in order.
    responses: Vec<(String, Value)>,
    /// Whether the workspace has Slack's AI app features (the assistant pane).
    no_ai_features: bool,
    /// The starter prompts each assistant DM shows, as Slack keeps them.
    suggested_prompts: HashMap<String, Value>,
    /// (channel, thread_ts, status) of every status that took.
    statuses: Vec<(String, String, String)>,
    /// User groups (`S…`) and their members' ids.
    usergroups: HashMap<String, Vec<String>>,
    /// Each person's published Home view, as Slack holds it (with its id).
    homes: HashMap<String, Value>,
    /// How many times each person's Home was published.
    home_publishes: HashMap<String, usize>,
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
            .route("/response/{id}", axum::routing::post(respond))
            .with_state(fake.clone());
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = http.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(http, app).await.unwrap() });
        let mut fake = fake;
        fake.api_url = format!("http://{addr}/api");
        fake.add_default_users();
        fake.add_default_channels();
        fake
    }

    /// The channels the tests use, with the bot in each; `C0RANDOM` is a public channel and
    /// `G0PRIVATE` a private one it is not in, and `D0DM` a DM with the bot.
    fn add_default_channels(&self) {
        for (id, name, private, member) in [
            ("C0HELPDESK", "it-helpdesk", false, true),
            ("C0TRIAGE", "it-triage", false, true),
            ("C0HELP", "it-help", false, true),
            ("C0SECURITY", "security", false, true),
            ("C0BENCH", "bench", false, true),
            ("C0RANDOM", "random", false, false),
            ("G0PRIVATE", "hr-private", true, false),
        ] {
            self.add_channel(id, name, private, member);
        }
        self.inner.lock().unwrap().channels.insert(
            "D0DM".into(),
            json!({"id": "D0DM", "is_im": true, "is_member": true}),
        );
    }

    /// Adds (or replaces) a channel as `conversations.info` would show it.
    pub fn add_channel(&self, id: &str, name: &str, private: bool, member: bool) {
        self.inner.lock().unwrap().channels.insert(
            id.into(),
            json!({"id": id, "name": name, "is_channel": !private, "is_group": private, "is_private": private, "is_member": member}),
        );
    }

    /// A fresh `response_url` on this fake, as Slack puts one in a command or shortcut.
    pub fn response_url(&self) -> String {
        let base = self.api_url.trim_end_matches("/api");
        format!("{base}/response/{}", uuid::Uuid::new_v4().simple())
    }

    /// What was posted to `response_url`s, in order (the URL's id, the body).
    pub fn responses(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().responses.clone()
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
            ("U0ERIN", "erin", "erin.walsh@example.com"),
        ] {
            inner.users.insert(id.into(), user(id, name, Some(email)));
        }
        let mut guest = user("U0GUEST", "guest", Some("contractor@example.com"));
        guest["is_restricted"] = json!(true);
        inner.users.insert("U0GUEST".into(), guest);
        let mut bot = user(BOT_USER, "okta-agent", None);
        bot["is_bot"] = json!(true);
        inner.users.insert(BOT_USER.into(), bot);
        // Another app's bot user (an alerting integration), which can add reactions too.
        let mut alerts = user("U0ALERTS", "alerts", None);
        alerts["is_bot"] = json!(true);
        inner.users.insert("U0ALERTS".into(), alerts);
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
                            let mut inner = inner.lock().unwrap();
                            inner.acks.push((id.to_string(), Instant::now()));
                            if let Some(payload) = ack.get("payload") {
                                inner.ack_payloads.insert(id.to_string(), payload.clone());
                            }
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
        self.send_to(None, frame).await;
    }

    /// Sends a frame on the `n`th open socket (in the order they connected, wrapping around):
    /// Slack spreads envelopes over an app's connections, which may be in different processes.
    pub async fn send_on(&self, n: usize, frame: Value) {
        self.send_to(Some(n), frame).await;
    }

    /// Sends on socket `n`, or the newest, once one is open; the envelope's send time is kept
    /// for its ack latency.
    async fn send_to(&self, n: Option<usize>, frame: Value) {
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
            let socket = match n {
                _ if inner.sockets.is_empty() => return false,
                Some(n) => &inner.sockets[n % inner.sockets.len()],
                None => &inner.sockets[inner.sockets.len() - 1],
            };
            socket.send(Message::Text(text.clone().into())).is_ok()
        })
        .await;
    }

    /// Open sockets now.
    pub fn open_sockets(&self) -> usize {
        let mut inner = self.inner.lock().unwrap();
        inner.sockets.retain(|s| !s.is_closed());
        inner.sockets.len()
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

    /// The workspace has no AI app features: the assistant pane's methods are refused.
    /// `user`'s Home as last published, if ever.
    pub fn home_of(&self, user: &str) -> Option<Value> {
        self.inner.lock().unwrap().homes.get(user).cloned()
    }

    /// How many times `user`'s Home was published.
    pub fn home_publishes(&self, user: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .home_publishes
            .get(user)
            .copied()
            .unwrap_or(0)
    }

    /// A button pressed on `user`'s Home, as Slack sends it (`block_actions` from a home view).
    pub fn home_click(&self, user: &str, action_id: &str, value: &str) -> Value {
        let view = self
            .home_of(user)
            .unwrap_or_else(|| json!({"type": "home", "id": "V0", "blocks": []}));
        json!({"type": "block_actions", "team": {"id": "T1", "domain": "acme"},
               "user": {"id": user, "username": user, "team_id": "T1"}, "api_app_id": "A1", "token": "t",
               "container": {"type": "view", "view_id": view["id"]}, "trigger_id": "1.2.5", "view": view,
               "actions": [{"type": "button", "action_id": action_id, "block_id": "home", "value": value,
                            "text": {"type": "plain_text", "text": "button"}, "action_ts": format!("{}", uuid::Uuid::new_v4().as_u128() % 1_000_000)}]})
    }

    /// Sets who is in a user group (`S…`), as an admin editing it in Slack would.
    pub fn set_usergroup(&self, id: &str, members: &[&str]) {
        self.inner
            .lock()
            .unwrap()
            .usergroups
            .insert(id.into(), members.iter().map(|m| m.to_string()).collect());
    }

    pub fn without_ai_features(&self) {
        self.inner.lock().unwrap().no_ai_features = true;
    }

    /// The starter prompts an assistant DM shows (the call's body), if any took.
    pub fn suggested_prompts(&self, channel: &str) -> Option<Value> {
        self.inner
            .lock()
            .unwrap()
            .suggested_prompts
            .get(channel)
            .cloned()
    }

    /// (channel, thread_ts, status) of the assistant statuses set, in order.
    pub fn statuses(&self) -> Vec<(String, String, String)> {
        self.inner.lock().unwrap().statuses.clone()
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

    /// The payload an ack carried (a form answer, group options), once it has been acked.
    pub fn ack_payload(&self, envelope_id: &str) -> Option<Value> {
        self.inner
            .lock()
            .unwrap()
            .ack_payloads
            .get(envelope_id)
            .cloned()
    }

    /// The open modal `view_id`, as Slack holds it.
    pub fn view(&self, view_id: &str) -> Option<Value> {
        self.inner.lock().unwrap().views.get(view_id).cloned()
    }

    /// The most recently opened or updated modal.
    pub fn last_view(&self) -> Option<Value> {
        let inner = self.inner.lock().unwrap();
        inner
            .views
            .values()
            .max_by_key(|v| {
                v["hash"]
                    .as_str()
                    .and_then(|h| h.split('.').next()?.parse::<u64>().ok())
            })
            .cloned()
    }

    /// A `view_submission` for an open modal with these `state.values`, as Slack sends it: the
    /// view as Slack holds it, with the state.
    pub fn view_submission(&self, user: &str, view_id: &str, values: Value) -> Value {
        let mut view = self.view(view_id).expect("an open view");
        view["state"] = json!({"values": values});
        json!({"type": "view_submission", "team": {"id": "T1", "domain": "acme"}, "user": {"id": user, "username": user, "name": user, "team_id": "T1"},
               "api_app_id": "A1", "token": "t", "trigger_id": "1.2.3", "view": view, "response_urls": [], "is_enterprise_install": false})
    }

    /// A `block_suggestion` for an external select in an open modal.
    pub fn block_suggestion(
        &self,
        user: &str,
        view_id: &str,
        block_id: &str,
        action_id: &str,
        value: &str,
    ) -> Value {
        let view = self.view(view_id).expect("an open view");
        json!({"type": "block_suggestion", "user": {"id": user, "username": user, "name": user, "team_id": "T1"},
               "container": {"type": "view", "view_id": view_id}, "api_app_id": "A1", "token": "t",
               "action_id": action_id, "block_id": block_id, "value": value, "team": {"id": "T1", "domain": "acme"}, "view": view})
    }

    /// A `block_actions` from a select in an open modal (the form's action).
    pub fn view_select(
        &self,
        user: &str,
        view_id: &str,
        block_id: &str,
        action_id: &str,
        value: &str,
    ) -> Value {
        let view = self.view(view_id).expect("an open view");
        json!({"type": "block_actions", "team": {"id": "T1", "domain": "acme"}, "user": {"id": user, "username": user, "team_id": "T1"},
               "api_app_id": "A1", "token": "t", "container": {"type": "view", "view_id": view_id}, "trigger_id": "1.2.4", "view": view,
               "actions": [{"type": "static_select", "action_id": action_id, "block_id": block_id,
                            "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value}, "action_ts": format!("{}", uuid::Uuid::new_v4().as_u128() % 1_000_000)}]})
    }

    /// The port of the Socket Mode websocket server.
    pub fn ws_port(&self) -> u16 {
        self.ws_addr.port()
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
                    .find(|e| e["action_id"] == "approve" || e["action_id"] == "cancel")?["value"]
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
        // Where the bot may post or read: its DMs (a user id opens the app's DM), and the
        // channels it is a member of. Slack hides private channels it is not in.
        let reachable =
            |channels: &HashMap<String, Value>, channel: &str| -> Result<(), &'static str> {
                if channel.starts_with(['U', 'W']) {
                    return Ok(());
                }
                match channels.get(channel) {
                    Some(c) if c["is_member"] == true => Ok(()),
                    Some(c) if c["is_private"] == true => Err("channel_not_found"),
                    Some(_) => Err("not_in_channel"),
                    None => Err("channel_not_found"),
                }
            };
        if matches!(
            method,
            "chat.postMessage"
                | "chat.postEphemeral"
                | "chat.update"
                | "conversations.replies"
                | "conversations.history"
                | "reactions.add"
        ) {
            if let Err(error) = reachable(
                &inner.channels,
                body["channel"].as_str().unwrap_or_default(),
            ) {
                return ok(json!({"ok": false, "error": error}));
            }
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
                headers.insert("x-oauth-scopes", "app_mentions:read,chat:write,commands,im:history,reactions:read,reactions:write,users:read,users:read.email,channels:history,groups:history,channels:read,groups:read,usergroups:read".parse().unwrap());
                (headers, axum::Json(json!({"ok": true, "user_id": BOT_USER, "team": "Acme", "team_id": "T1", "url": "https://acme.slack.com/"}))).into_response()
            }
            "chat.postMessage" => {
                if let Err(why) = validate_message_blocks(&body["blocks"]) {
                    return ok(json!({"ok": false, "error": "invalid_blocks", "errors": [why]}));
                }
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
                if let Err(why) = validate_message_blocks(&body["blocks"]) {
                    return ok(json!({"ok": false, "error": "invalid_blocks", "errors": [why]}));
                }
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
            "conversations.info" => {
                match inner
                    .channels
                    .get(body["channel"].as_str().unwrap_or_default())
                {
                    Some(c) if c["is_private"] == true && c["is_member"] != true => {
                        ok(json!({"ok": false, "error": "channel_not_found"}))
                    }
                    Some(c) => ok(json!({"ok": true, "channel": c})),
                    None => ok(json!({"ok": false, "error": "channel_not_found"})),
                }
            }
            // As Slack: people of this workspace only (not Slack Connect strangers), one user per
            // email, and `users_not_found` otherwise.
            "users.lookupByEmail" => {
                let email = body["email"].as_str().unwrap_or_default().to_lowercase();
                let mut found: Vec<&Value> = inner
                    .users
                    .values()
                    .filter(|u| u["team_id"] == "T1" && u["is_stranger"] != true)
                    .filter(|u| {
                        u["profile"]["email"].as_str().map(str::to_lowercase) == Some(email.clone())
                    })
                    .collect();
                found.sort_by_key(|u| {
                    (
                        u["is_email_confirmed"] != true,
                        u["id"].as_str().unwrap_or_default().to_string(),
                    )
                });
                match found.first() {
                    Some(user) => ok(json!({"ok": true, "user": user})),
                    None => ok(json!({"ok": false, "error": "users_not_found"})),
                }
            }
            // As Slack: the members' ids; `no_such_subteam` for an unknown group.
            "usergroups.users.list" => {
                match body["usergroup"]
                    .as_str()
                    .and_then(|g| inner.usergroups.get(g))
                {
                    Some(users) => ok(json!({"ok": true, "users": users})),
                    None => ok(json!({"ok": false, "error": "no_such_subteam"})),
                }
            }
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
            "conversations.history" => {
                // Top-level messages only, newest first, up to `latest` (inclusive) — as Slack.
                let channel = body["channel"].clone();
                let latest = body["latest"]
                    .as_str()
                    .unwrap_or("9999999999.999999")
                    .to_string();
                let limit = body["limit"]
                    .as_str()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(100);
                let mut messages: Vec<Value> = inner
                    .messages
                    .iter()
                    .filter(|m| m["channel"] == channel)
                    .filter(|m| m["thread_ts"].is_null() || m["thread_ts"] == m["ts"])
                    .filter(|m| m["ts"].as_str().unwrap_or_default() <= latest.as_str())
                    .cloned()
                    .collect();
                messages.reverse();
                messages.truncate(limit);
                ok(json!({"ok": true, "messages": messages, "has_more": false}))
            }
            // As Slack: a home view of at most 100 valid blocks with unique block ids, for a
            // user of the workspace.
            "views.publish" => {
                let user = body["user_id"].as_str().unwrap_or_default().to_string();
                if !inner.users.contains_key(&user) {
                    return ok(json!({"ok": false, "error": "user_not_found"}));
                }
                let view = &body["view"];
                if view["type"] != "home" {
                    return ok(
                        json!({"ok": false, "error": "invalid_arguments", "response_metadata": {"messages": ["view type must be home"]}}),
                    );
                }
                let blocks = view["blocks"].as_array().cloned().unwrap_or_default();
                if blocks.len() > 100 {
                    return ok(
                        json!({"ok": false, "error": "invalid_arguments", "response_metadata": {"messages": ["at most 100 blocks"]}}),
                    );
                }
                let mut ids = std::collections::HashSet::new();
                for block in &blocks {
                    if let Some(id) = block["block_id"].as_str() {
                        if !ids.insert(id.to_string()) {
                            return ok(
                                json!({"ok": false, "error": "invalid_arguments", "response_metadata": {"messages": [format!("duplicate block_id {id}")]}}),
                            );
                        }
                    }
                }
                let plain: Vec<Value> = blocks
                    .iter()
                    .filter(|b| b["type"] != "header")
                    .cloned()
                    .collect();
                if let Err(why) = validate_message_blocks(&Value::Array(plain)) {
                    return ok(json!({"ok": false, "error": "invalid_blocks", "errors": [why]}));
                }
                inner.next_view += 1;
                let mut view = view.clone();
                view["id"] = json!(format!("V{:08}", inner.next_view));
                view["team_id"] = json!("T1");
                *inner.home_publishes.entry(user.clone()).or_default() += 1;
                inner.homes.insert(user, view.clone());
                ok(json!({"ok": true, "view": view}))
            }
            "views.open" => {
                if body["trigger_id"].as_str().unwrap_or_default().is_empty() {
                    return ok(json!({"ok": false, "error": "invalid_trigger_id"}));
                }
                if let Err(why) = validate_view(&body["view"]) {
                    return ok(
                        json!({"ok": false, "error": "invalid_arguments", "response_metadata": {"messages": [why]}}),
                    );
                }
                inner.next_view += 1;
                let id = format!("V{:08}", inner.next_view);
                let mut view = body["view"].clone();
                view["id"] = json!(id);
                view["team_id"] = json!("T1");
                view["hash"] = json!(format!("{}.h{}", inner.next_view, inner.next_view));
                view["app_id"] = json!("A1");
                view["bot_id"] = json!("B1");
                inner.views.insert(id.clone(), view.clone());
                ok(json!({"ok": true, "view": view}))
            }
            "views.update" => {
                let id = body["view_id"].as_str().unwrap_or_default().to_string();
                let Some(current) = inner.views.get(&id).cloned() else {
                    return ok(json!({"ok": false, "error": "not_found"}));
                };
                if let Some(hash) = body["hash"].as_str().filter(|h| !h.is_empty()) {
                    if current["hash"] != hash {
                        return ok(json!({"ok": false, "error": "hash_conflict"}));
                    }
                }
                if let Err(why) = validate_view(&body["view"]) {
                    return ok(
                        json!({"ok": false, "error": "invalid_arguments", "response_metadata": {"messages": [why]}}),
                    );
                }
                inner.next_view += 1;
                let mut view = body["view"].clone();
                for key in ["id", "team_id", "app_id", "bot_id"] {
                    view[key] = current[key].clone();
                }
                view["hash"] = json!(format!("{}.h{}", inner.next_view, inner.next_view));
                inner.views.insert(id, view.clone());
                ok(json!({"ok": true, "view": view}))
            }
            "assistant.threads.setSuggestedPrompts" | "assistant.threads.setStatus"
                if inner.no_ai_features =>
            {
                ok(json!({"ok": false, "error": "access_denied"}))
            }
            "assistant.threads.setSuggestedPrompts" => {
                let channel = body["channel_id"].as_str().unwrap_or_default().to_string();
                let prompts = body["prompts"].as_array().cloned().unwrap_or_default();
                let well_formed = prompts.iter().all(|p| {
                    !p["title"].as_str().unwrap_or_default().is_empty()
                        && !p["message"].as_str().unwrap_or_default().is_empty()
                });
                if !channel.starts_with('D')
                    || prompts.is_empty()
                    || prompts.len() > 4
                    || !well_formed
                {
                    return ok(json!({"ok": false, "error": "invalid_arguments"}));
                }
                // As Slack documents: with `thread_ts`, an agent app's call fails silently.
                if body["thread_ts"].is_null() {
                    inner.suggested_prompts.insert(channel, body.clone());
                }
                ok(json!({"ok": true}))
            }
            "assistant.threads.setStatus" => {
                let (channel, thread, status) = (
                    body["channel_id"].as_str().unwrap_or_default(),
                    body["thread_ts"].as_str().unwrap_or_default(),
                    body["status"].as_str(),
                );
                match status {
                    Some(status) if channel.starts_with('D') && !thread.is_empty() => {
                        inner
                            .statuses
                            .push((channel.into(), thread.into(), status.into()));
                        ok(json!({"ok": true}))
                    }
                    _ => ok(json!({"ok": false, "error": "invalid_arguments"})),
                }
            }
            other => ok(json!({"ok": false, "error": format!("unknown_method {other}")})),
        }
    }
}

/// The limits Slack enforces on a message's blocks (Block Kit reference): at most 50 blocks,
/// unique block ids of at most 255 characters, and selects of at most 100 options whose text
/// is plain text of at most 75 characters and whose value is at most 150.
fn validate_message_blocks(blocks: &Value) -> Result<(), String> {
    let Some(blocks) = blocks.as_array() else {
        return Ok(());
    };
    if blocks.len() > 50 {
        return Err("at most 50 blocks".into());
    }
    let mut ids = std::collections::HashSet::new();
    for block in blocks {
        if let Some(id) = block["block_id"].as_str() {
            if id.chars().count() > 255 || !ids.insert(id.to_string()) {
                return Err(format!("block_id {id} is too long or repeated"));
            }
        }
        let accessory = std::iter::once(&block["accessory"]);
        let elements = block["elements"].as_array().into_iter().flatten();
        for element in accessory.chain(elements) {
            let Some(options) = element["options"].as_array() else {
                continue;
            };
            if options.is_empty() || options.len() > 100 {
                return Err("a select needs 1 to 100 options".into());
            }
            for option in options {
                let text = &option["text"];
                if text["type"] != "plain_text"
                    || text["text"].as_str().unwrap_or_default().chars().count() > 75
                {
                    return Err("option text must be plain_text of at most 75 characters".into());
                }
                if option["value"].as_str().unwrap_or_default().chars().count() > 150 {
                    return Err("option value must be at most 150 characters".into());
                }
            }
        }
    }
    Ok(())
}

/// The limits Slack enforces on a modal (Block Kit reference): a title, submit and close of at
/// most 24 characters, unique block ids, labelled inputs, at most 100 options of at most 75
/// characters each, private_metadata up to 3,000 characters.
fn validate_view(view: &Value) -> Result<(), String> {
    if view["type"] != "modal" {
        return Err("view type must be modal".into());
    }
    for key in ["title", "submit", "close"] {
        if let Some(text) = view[key]["text"].as_str() {
            if text.chars().count() > 24 {
                return Err(format!("{key} must be at most 24 characters"));
            }
        }
    }
    if view["title"]["type"] != "plain_text" {
        return Err("title must be plain_text".into());
    }
    if view["private_metadata"].as_str().unwrap_or_default().len() > 3_000 {
        return Err("private_metadata must be at most 3000 characters".into());
    }
    let blocks = view["blocks"].as_array().ok_or("blocks is required")?;
    let mut ids = std::collections::HashSet::new();
    for block in blocks {
        if let Some(id) = block["block_id"].as_str() {
            if !ids.insert(id.to_string()) {
                return Err(format!("duplicate block_id {id}"));
            }
        }
        if block["type"] == "input" {
            if block["label"]["type"] != "plain_text" || block["element"].is_null() {
                return Err("an input block needs a plain_text label and an element".into());
            }
            let options = block["element"]["options"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if options.len() > 100 {
                return Err("at most 100 options".into());
            }
            for option in options {
                if option["text"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .count()
                    > 75
                {
                    return Err("option text must be at most 75 characters".into());
                }
            }
            if block["element"]["type"] == "external_select" && block["dispatch_action"] == true {
                return Err(
                    "dispatch_action is not supported on external_select inputs here".into(),
                );
            }
        }
    }
    Ok(())
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

/// A `response_url` post: no token needed, at most 5 per URL (then `used_url`), as Slack.
async fn respond(
    State(fake): State<FakeSlack>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let value: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
    let mut inner = fake.inner.lock().unwrap();
    if inner.responses.iter().filter(|(i, _)| *i == id).count() >= 5 {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": "used_url"})),
        )
            .into_response();
    }
    inner.responses.push((id, value));
    ok(json!({"ok": true}))
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

/// [`wait_until`], for a condition that has to wait for its answer (a database read).
pub async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    mut condition: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition().await {
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

/// A `reaction_added` (or `reaction_removed`) event, as Slack sends it.
pub fn reaction(
    user: &str,
    emoji: &str,
    channel: &str,
    ts: &str,
    item_user: Option<&str>,
    added: bool,
) -> Value {
    let mut event = json!({
        "type": if added { "reaction_added" } else { "reaction_removed" },
        "user": user, "reaction": emoji,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": format!("{}.000001", ts.split('.').next().unwrap_or("1700000000")),
    });
    if let Some(author) = item_user {
        event["item_user"] = json!(author);
    }
    event
}

/// An `interactive` envelope.
pub fn interactive(envelope_id: &str, payload: Value, accepts_response_payload: bool) -> Value {
    json!({"envelope_id": envelope_id, "type": "interactive", "accepts_response_payload": accepts_response_payload, "payload": payload})
}

/// The global shortcut.
pub fn shortcut(user: &str, callback_id: &str) -> Value {
    json!({"type": "shortcut", "callback_id": callback_id, "trigger_id": format!("{}.trigger", uuid::Uuid::new_v4().simple()), "action_ts": "1700000000.1",
           "team": {"id": "T1", "domain": "acme"}, "user": {"id": user, "username": user, "team_id": "T1"}, "token": "t", "is_enterprise_install": false})
}

/// The message shortcut on `message` (which must carry `ts`, `text` and `user`).
pub fn message_shortcut(user: &str, callback_id: &str, channel: &str, message: Value) -> Value {
    json!({"type": "message_action", "callback_id": callback_id, "trigger_id": format!("{}.trigger", uuid::Uuid::new_v4().simple()), "action_ts": "1700000000.1",
           "team": {"id": "T1", "domain": "acme"}, "user": {"id": user, "username": user, "team_id": "T1"}, "token": "t",
           "channel": {"id": channel, "name": "security"}, "message": message, "response_url": "https://hooks.slack.com/app/T1/1/abc"})
}

/// A `/okta` slash command envelope, with the `response_url` Slack gives it.
pub fn slash_command(
    envelope_id: &str,
    user: &str,
    channel: &str,
    text: &str,
    response_url: &str,
) -> Value {
    json!({"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": true,
           "payload": {"token": "t", "team_id": "T1", "team_domain": "acme", "channel_id": channel, "channel_name": "it",
                       "user_id": user, "user_name": user, "command": "/okta", "text": slack_format(text), "api_app_id": "A1",
                       "response_url": response_url, "trigger_id": format!("{}.trigger", uuid::Uuid::new_v4().simple())}})
}

/// A plain message in a channel (help channels read these).
pub fn channel_message(user: &str, channel: &str, text: &str, ts: &str) -> Value {
    json!({"type": "message", "channel": channel, "channel_type": "channel", "user": user, "text": slack_format(text), "ts": ts, "event_ts": ts})
}

/// A reply in a thread of a channel (as a `message` event: Slack sends replies to channels the
/// app is in, with `thread_ts` the root's ts).
pub fn thread_reply(user: &str, channel: &str, text: &str, ts: &str, thread_ts: &str) -> Value {
    json!({"type": "message", "channel": channel, "channel_type": "channel", "user": user, "text": slack_format(text), "ts": ts, "thread_ts": thread_ts, "event_ts": ts})
}

/// `assistant_thread_started`: someone opened a thread with the app in the assistant pane.
pub fn assistant_thread_started(user: &str, channel: &str, thread_ts: &str) -> Value {
    json!({"type": "assistant_thread_started", "event_ts": thread_ts,
           "assistant_thread": {"user_id": user, "channel_id": channel, "thread_ts": thread_ts,
                                "context": {"channel_id": "C0HELPDESK", "team_id": "T1", "enterprise_id": null}}})
}

/// A message in a DM thread (the assistant pane's threads are DM threads).
pub fn dm_in_thread(user: &str, channel: &str, text: &str, ts: &str, thread_ts: &str) -> Value {
    json!({"type": "message", "channel": channel, "channel_type": "im", "user": user, "text": slack_format(text),
           "ts": ts, "thread_ts": thread_ts, "event_ts": ts})
}

/// A pick from a `static_select` in `message`'s block `block_id`, as Slack sends it.
pub fn select(
    envelope_id: &str,
    user: &str,
    block_id: &str,
    value: &str,
    message: &Value,
) -> Value {
    let option = message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["block_id"] == block_id)
        .flat_map(|b| {
            b["accessory"]["options"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|o| o["value"] == value)
        .unwrap_or_else(|| panic!("no option {value} in block {block_id} of {message}"));
    json!({
        "envelope_id": envelope_id,
        "type": "interactive",
        "accepts_response_payload": false,
        "payload": {
            "type": "block_actions", "api_app_id": "A1", "token": "t", "trigger_id": "1.2.3",
            "team": {"id": "T1", "domain": "acme"},
            "user": {"id": user, "username": user, "team_id": "T1"},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"], "is_ephemeral": false},
            "channel": {"id": message["channel"], "name": "it-triage"},
            "message": {"type": "message", "ts": message["ts"], "text": message["text"], "blocks": message["blocks"]},
            "response_url": "http://127.0.0.1:9/response/1",
            "actions": [{"type": "static_select", "action_id": message["blocks"].as_array().into_iter().flatten().find(|b| b["block_id"] == block_id).map(|b| b["accessory"]["action_id"].clone()).unwrap_or_default(),
                         "block_id": block_id, "selected_option": option,
                         "placeholder": {"type": "plain_text", "text": "Which doc answers this?"},
                         "action_ts": format!("{}", uuid::Uuid::new_v4().as_u128() % 1_000_000)}]
        }
    })
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
