//! Shared helpers: a simulator with a registered client, a real Okta client for it, and the
//! simulator's `/__sandbox/` control API over HTTP.

#![allow(dead_code)]

pub mod fake_slack;
pub mod rig;
pub mod services;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use okta_agent::okta::token::Clock;
use okta_agent::okta::{ClientOptions, OktaClient, SigningKey, TokenSource};
use okta_agent::sandbox::{self, Fault, Mutation, RequestRecord, RunningSandbox, Seed};
use serde_json::Value;

pub struct Harness {
    pub sandbox: RunningSandbox,
    pub key: SigningKey,
    /// The key's PEM, for running the real binary against this simulator.
    pub pem: String,
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
        let (client, key, pem) = sandbox::generated_client(CLIENT_ID).expect("key");
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let sandbox = sandbox::start(addr, &seed, Some(client))
            .await
            .expect("sandbox starts");
        Self {
            sandbox,
            key,
            pem: pem.expose().clone(),
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
            okta_agent::http::http_client(Duration::from_secs(5)).unwrap(),
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
        let http = okta_agent::http::http_client(options.timeout).unwrap();
        OktaClient::new(self.url(), http, tokens, options)
    }

    pub fn client_with_clock(&self, clock: Arc<dyn Clock>) -> (OktaClient, Arc<TokenSource>) {
        let tokens = Arc::new(self.tokens().with_clock(clock));
        (self.client_with(tokens.clone(), fast_options()), tokens)
    }

    fn control_url(&self, path: &str) -> String {
        format!("{}/__sandbox/{path}", self.sandbox.url())
    }

    async fn control_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.control
            .get(self.control_url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn mutations(&self) -> Vec<Mutation> {
        self.control_get("mutations").await
    }

    pub async fn requests(&self) -> Vec<RequestRecord> {
        self.control_get("requests").await
    }

    /// Every user as the simulator holds them: id, login, status, roles.
    pub async fn users(&self) -> Value {
        self.control_get("users").await
    }

    pub async fn stats(&self) -> Value {
        self.control_get("stats").await
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

    pub async fn clear_faults(&self) {
        let r = self
            .control
            .delete(self.control_url("faults"))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "clearing faults refused: {}",
            r.status()
        );
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

    /// `count` failed sign-ins for `login` from `ip` in `country` (ten lock an active account).
    pub async fn fail_sign_ins(&self, login: &str, count: u32, ip: &str, country: &str) {
        let r = self
            .control
            .post(self.control_url(&format!("users/{login}/failed-sign-ins")))
            .json(&serde_json::json!({"count": count, "ip": ip, "country": country}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "refused: {}", r.status());
    }

    /// `login` answers their newest Okta Verify push: `approve`, `reject` or `timeout`.
    /// Returns the simulator's account of it (`correctAnswer`, `factorResult`).
    pub async fn answer_push(&self, login: &str, answer: &str) -> serde_json::Value {
        let r = self
            .control
            .post(self.control_url(&format!("users/{login}/push")))
            .json(&serde_json::json!({"answer": answer}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "no push to answer: {}", r.status());
        r.json().await.unwrap()
    }

    /// Adds an active user to the simulated org.
    pub async fn add_user(&self, login: &str, first_name: &str, last_name: &str) {
        let r = self
            .control
            .post(self.control_url("users"))
            .json(&serde_json::json!({"login": login, "firstName": first_name, "lastName": last_name}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "user {login} not added");
    }

    /// Settings for okta-agent against this simulator, with `policy` and a SQLite file.
    pub fn settings(&self, db: &std::path::Path, policy: Policy) -> Settings {
        Settings {
            okta: Some(OktaSettings {
                org_url: self.url(),
                client_id: self.client_id.clone(),
                signing_key: self.key.clone(),
                scopes: okta_agent::config::DEFAULT_SCOPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            }),
            policy: Some(policy),
            database: Some(okta_agent::store::Database::new(format!(
                "sqlite://{}",
                db.display()
            ))),
            ..Settings::default()
        }
    }

    /// The id of the group named `name` in the simulator.
    pub fn group_id(&self, name: &str) -> String {
        self.sandbox
            .state
            .lock()
            .org
            .groups
            .iter()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("no group {name}"))
            .id
            .clone()
    }

    /// Deletes a user from the org (a target that no longer exists).
    pub async fn delete_user(&self, login: &str) {
        let r = self
            .control
            .delete(self.control_url(&format!("users/{login}")))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "delete refused: {}", r.status());
    }

    /// Renames a group in Okta.
    pub async fn rename_group(&self, group_id: &str, name: &str) {
        let r = self
            .control
            .put(self.control_url(&format!("groups/{group_id}")))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "rename refused: {}", r.status());
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

// ----- the agent core over the simulator ---------------------------------------------------

use okta_agent::agent::model::ModelClient;
use okta_agent::agent::{Inbound, Limits};
use okta_agent::approvals::ProposalState;
use okta_agent::clock::TestClock;
use okta_agent::config::{OktaSettings, Settings};
use okta_agent::engine::{Card, Choice, Click, Engine, Output};
use okta_agent::identity::StaticDirectory;
use okta_agent::policy::Policy;
use okta_agent::runtime::{self, Overrides, Runtime};

/// The whole core: the demo org in the simulator, the demo policy and Slack directory, a real
/// SQLite file, and (optionally) a model.
pub struct Stack {
    pub harness: Harness,
    pub runtime: Runtime,
    pub clock: Arc<TestClock>,
    pub db: std::path::PathBuf,
    model: Option<Arc<dyn ModelClient>>,
    limits: Limits,
    policy: Policy,
    /// `[knowledge]` instead of the harness's, when a test configures it.
    knowledge: Option<okta_agent::config::KnowledgeSettings>,
    _dir: tempfile::TempDir,
}

/// 2026-11-28 14:00:00 UTC.
pub const T0: i64 = 1_795_874_400;

impl Stack {
    pub async fn new() -> Self {
        Self::with_model(None, Limits::default()).await
    }

    pub async fn with_model(model: Option<Arc<dyn ModelClient>>, limits: Limits) -> Self {
        Self::build(model, limits, Policy::demo()).await
    }

    pub async fn with_policy(policy: Policy) -> Self {
        Self::build(None, Limits::default(), policy).await
    }

    pub async fn build(
        model: Option<Arc<dyn ModelClient>>,
        limits: Limits,
        policy: Policy,
    ) -> Self {
        Self::build_on(Harness::demo().await, model, limits, policy).await
    }

    /// The core over an org seeded with `seed`, under the demo policy.
    pub async fn with_seed(seed: Seed) -> Self {
        Self::build_on(
            Harness::with_seed(seed).await,
            None,
            Limits::default(),
            Policy::demo(),
        )
        .await
    }

    pub async fn build_on(
        harness: Harness,
        model: Option<Arc<dyn ModelClient>>,
        limits: Limits,
        policy: Policy,
    ) -> Self {
        Self::configured(harness, model, limits, policy, None).await
    }

    /// The core over the demo org with this `[knowledge]` (help documents, embeddings) and
    /// model, if any.
    pub async fn with_knowledge(
        knowledge: okta_agent::config::KnowledgeSettings,
        model: Option<Arc<dyn ModelClient>>,
    ) -> Self {
        let harness = Harness::demo().await;
        Self::configured(
            harness,
            model,
            Limits::default(),
            Policy::demo(),
            Some(knowledge),
        )
        .await
    }

    async fn configured(
        harness: Harness,
        model: Option<Arc<dyn ModelClient>>,
        limits: Limits,
        policy: Policy,
        knowledge: Option<okta_agent::config::KnowledgeSettings>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("okta-agent.db");
        let clock = Arc::new(TestClock::at(T0));
        let runtime = Self::assemble(
            &harness,
            &db,
            model.clone(),
            clock.clone(),
            limits.clone(),
            policy.clone(),
            knowledge.as_ref(),
        )
        .await;
        Self {
            harness,
            runtime,
            clock,
            db,
            model,
            limits,
            policy,
            knowledge,
            _dir: dir,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn assemble(
        harness: &Harness,
        db: &std::path::Path,
        model: Option<Arc<dyn ModelClient>>,
        clock: Arc<TestClock>,
        limits: Limits,
        policy: Policy,
        knowledge: Option<&okta_agent::config::KnowledgeSettings>,
    ) -> Runtime {
        let mut settings = harness.settings(db, policy);
        if let Some(knowledge) = knowledge {
            settings.knowledge = knowledge.clone();
        }
        let overrides = Overrides {
            directory: Some(Arc::new(StaticDirectory::demo())),
            model,
            clock: Some(clock),
            limits: Some(limits),
            client_options: Some(ClientOptions {
                timeout: Duration::from_secs(2),
                ..fast_options()
            }),
            mode: okta_agent::engine::Mode::Live,
        };
        runtime::assemble(&settings, overrides)
            .await
            .expect("runtime assembles")
    }

    /// Drops the engine and builds a new one on the same database and org, and runs start-up
    /// recovery as `okta-agent run` does (a process restart). Returns what recovery found.
    pub async fn restart(&mut self) -> okta_agent::engine::Recovered {
        self.runtime = Self::assemble(
            &self.harness,
            &self.db,
            self.model.clone(),
            self.clock.clone(),
            self.limits.clone(),
            self.policy.clone(),
            self.knowledge.as_ref(),
        )
        .await;
        self.runtime.engine.recover().await.expect("recovery runs")
    }

    pub fn engine(&self) -> &Engine {
        &self.runtime.engine
    }

    /// Another engine on the same database and org, as a second process sharing the store.
    pub async fn second_process(&self) -> Runtime {
        Self::assemble(
            &self.harness,
            &self.db,
            self.model.clone(),
            self.clock.clone(),
            self.limits.clone(),
            self.policy.clone(),
            self.knowledge.as_ref(),
        )
        .await
    }

    /// A request with thread history.
    pub async fn ask_in_thread(
        &self,
        requester: &str,
        text: &str,
        history: Vec<okta_agent::agent::HistoryMessage>,
    ) -> Vec<Output> {
        self.engine()
            .handle(Inbound {
                requester: requester.into(),
                text: text.into(),
                history,
                conversation: "test".into(),
            })
            .await
    }

    pub async fn ask(&self, requester: &str, text: &str) -> Vec<Output> {
        self.engine()
            .handle(Inbound {
                requester: requester.into(),
                text: text.into(),
                history: Vec::new(),
                conversation: "test".into(),
            })
            .await
    }

    /// Asks for a change and returns the proposal id of the card it produced.
    pub async fn propose(&self, requester: &str, text: &str) -> String {
        let outputs = self.ask(requester, text).await;
        card(&outputs)
            .unwrap_or_else(|| panic!("no card for {text:?}: {}", self::text(&outputs)))
            .proposal_id
    }

    pub async fn click(&self, clicker: &str, proposal_id: &str, choice: Choice) -> Vec<Output> {
        self.engine()
            .click(Click {
                proposal_id: proposal_id.into(),
                clicker: clicker.into(),
                choice,
                via: None,
            })
            .await
    }

    /// Mutations the simulator applied.
    pub async fn mutation_count(&self) -> usize {
        self.harness.mutations().await.len()
    }

    pub async fn status_of(&self, login: &str) -> String {
        let users = self.harness.users().await;
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["login"] == login)
            .map(|u| u["status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no user {login}"))
    }
}

pub fn card(outputs: &[Output]) -> Option<Card> {
    outputs.iter().find_map(|o| match o {
        Output::Card(card) => Some(card.clone()),
        _ => None,
    })
}

pub fn update(outputs: &[Output]) -> Option<Card> {
    outputs.iter().find_map(|o| match o {
        Output::CardUpdate(card) => Some(card.clone()),
        _ => None,
    })
}

pub fn text(outputs: &[Output]) -> String {
    outputs
        .iter()
        .map(|o| match o {
            Output::Reply(t) => t.clone(),
            Output::Ephemeral { text, .. } => text.clone(),
            Output::TriageNotice {
                requester, summary, ..
            } => format!("<@{requester}> asked for: {summary}"),
            Output::Card(c) | Output::CardUpdate(c) => format!(
                "[card {} {} {:?} {}]",
                c.tool,
                c.target.login,
                c.state,
                c.outcome
                    .as_ref()
                    .map(|o| o.summary.clone())
                    .unwrap_or_default()
            ),
            Output::DirectMessage { .. } => "[dm]".into(),
            Output::Notice { to, text, .. } => format!("[notice to {to}: {text}]"),
            Output::TriageAlert { about, text } => format!("[triage: <@{about}> {text}]"),
            Output::TriageIncident { text } => format!("[triage: {text}]"),
            Output::LockoutNotice { to, text, .. } => format!("[lockout dm to {to}: {text}]"),
            Output::Reaction { emoji, news, .. } => format!("[:{emoji}: {news:?}]"),
            Output::Help { answer, .. } => answer.plain(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn final_state(outputs: &[Output]) -> Option<ProposalState> {
    update(outputs).map(|c| c.state)
}
