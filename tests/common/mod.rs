//! Shared helpers: a simulator with a registered client, a real Okta client for it, and the
//! simulator's `/__sandbox/` control API over HTTP.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use okta_agent::okta::token::Clock;
use okta_agent::okta::{client, ClientOptions, OktaClient, SigningKey, TokenSource};
use okta_agent::sandbox::{self, Fault, Mutation, RequestRecord, RunningSandbox, Seed};
use serde_json::Value;

pub struct Harness {
    pub sandbox: RunningSandbox,
    pub key: SigningKey,
    pub client_id: String,
    control: reqwest::Client,
}

pub const CLIENT_ID: &str = "0oatestclient0000000";

impl Harness {
    /// The demo org with a client registered for a fresh EC key.
    pub async fn demo() -> Self {
        Self::with_seed(Seed::demo().expect("demo seed")).await
    }

    pub async fn with_seed(seed: Seed) -> Self {
        okta_agent::install_crypto_provider();
        let (client, key, _pem) = sandbox::generated_client(CLIENT_ID).expect("key");
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let sandbox = sandbox::start(addr, &seed, Some(client))
            .await
            .expect("sandbox starts");
        Self {
            sandbox,
            key,
            client_id: CLIENT_ID.into(),
            control: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&self.sandbox.url()).unwrap()
    }

    pub fn tokens(&self) -> TokenSource {
        self.tokens_with_key(self.key.clone())
    }

    /// A token source for `client_id` at `org`, requesting `scopes`.
    pub fn token_source(
        org: &url::Url,
        client_id: &str,
        key: SigningKey,
        scopes: Vec<String>,
    ) -> TokenSource {
        TokenSource::new(
            client::http_client(Duration::from_secs(5)).unwrap(),
            org,
            client_id.into(),
            key,
            scopes,
        )
        .unwrap()
    }

    pub fn tokens_with_key(&self, key: SigningKey) -> TokenSource {
        let scopes = okta_agent::config::DEFAULT_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect();
        Self::token_source(&self.url(), &self.client_id, key, scopes)
    }

    pub fn client(&self) -> OktaClient {
        self.client_with(Arc::new(self.tokens()), fast_options())
    }

    pub fn client_with(&self, tokens: Arc<TokenSource>, options: ClientOptions) -> OktaClient {
        let http = client::http_client(options.timeout).unwrap();
        OktaClient::new(self.url(), http, tokens, options)
    }

    pub fn client_with_clock(&self, clock: Arc<dyn Clock>) -> (OktaClient, Arc<TokenSource>) {
        let tokens = Arc::new(self.tokens().with_clock(clock));
        (self.client_with(tokens.clone(), fast_options()), tokens)
    }

    fn control_url(&self, path: &str) -> String {
        format!("{}/__sandbox/{path}", self.sandbox.url())
    }

    pub async fn mutations(&self) -> Vec<Mutation> {
        self.control
            .get(self.control_url("mutations"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn requests(&self) -> Vec<RequestRecord> {
        self.control
            .get(self.control_url("requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn stats(&self) -> Value {
        self.control
            .get(self.control_url("stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn inject(&self, fault: Value) {
        let _: Fault = serde_json::from_value(fault.clone()).expect("valid fault");
        let r = self
            .control
            .post(self.control_url("faults"))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "fault refused: {}", r.status());
    }

    pub async fn update_client(&self, update: Value) {
        let r = self
            .control
            .put(self.control_url("client"))
            .json(&update)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "client update refused: {}",
            r.status()
        );
    }

    pub async fn set_status(&self, login: &str, status: &str) {
        let r = self
            .control
            .put(self.control_url(&format!("users/{login}/status")))
            .json(&serde_json::json!({ "status": status }))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "status update refused: {}",
            r.status()
        );
    }

    pub async fn revoke_tokens(&self) {
        self.control
            .post(self.control_url("tokens/revoke"))
            .send()
            .await
            .unwrap();
    }

    /// A raw GET with a fresh Bearer token, for comparing the simulator's bodies to recordings.
    pub async fn raw(&self, method: &str, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
        let token = self.tokens().token().await.unwrap();
        let r = self
            .control
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.sandbox.url()),
            )
            .header("Authorization", format!("Bearer {}", token.secret.expose()))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, headers, body)
    }
}

/// Short backoffs and timeouts so fault tests finish quickly.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}
