//! The real `okta-agent run` binary against the fake Slack and the Okta simulator: a rig that
//! starts, stops and restarts it on one database, and drives it through Socket Mode.

#![allow(dead_code)]

use std::process::Stdio;

use serde_json::Value;

use okta_agent::store::InboundState;

use super::fake_slack::{
    self, click, envelope_id, event_envelope, mention, wait_for, wait_until, FakeSlack,
};
use super::services::TestDatabase;
use super::Harness;

pub const CHANNEL: &str = "C0HELPDESK";
pub const TRIAGE: &str = "C0TRIAGE";
pub const HELP: &str = "C0HELP";

pub struct Rig {
    pub harness: Harness,
    pub fake: FakeSlack,
    pub dir: tempfile::TempDir,
    child: Option<tokio::process::Child>,
    starts: usize,
    /// Extra environment for the process (a proxy, a model).
    pub env: Vec<(String, String)>,
    /// More `okta-agent run` processes on the same database (replicas).
    pub replicas: Vec<tokio::process::Child>,
    /// A PostgreSQL database; `None` is the SQLite file `okta-agent.db` in `dir`.
    pub postgres: Option<TestDatabase>,
    /// The test's own handle on the database, opened at first use.
    observer: tokio::sync::OnceCell<okta_agent::store::Store>,
}

impl Rig {
    pub async fn new() -> Self {
        Self::with_slack_config("").await
    }

    /// A rig with extra `[slack]` settings (TOML lines).
    pub async fn with_slack_config(extra: &str) -> Self {
        Self::with_config(extra, "reload_seconds = 1\n").await
    }

    /// A rig with extra `[slack]` and `[knowledge]` settings (TOML lines). The help-docs
    /// folder (`help_docs()`) starts with the starter documents.
    pub async fn with_config(slack_extra: &str, knowledge_extra: &str) -> Self {
        Self::with_full_config(slack_extra, knowledge_extra, "").await
    }

    /// A rig with `[[automations.reactions]]` rules (TOML appended to the file).
    pub async fn with_automations(rules: &str) -> Self {
        Self::with_full_config("", "reload_seconds = 1\n", rules).await
    }

    /// A rig with extra `[slack]` and `[knowledge]` lines and more config after them.
    pub async fn with_full_config(slack_extra: &str, knowledge_extra: &str, tail: &str) -> Self {
        Self::on_database(slack_extra, knowledge_extra, tail, None).await
    }

    /// A rig with extra `[policy]` lines (TOML).
    pub async fn with_policy(policy_extra: &str) -> Self {
        Self::on_database_with_policy("", "reload_seconds = 1\n", "", None, policy_extra).await
    }

    /// A rig with automations rules on `database` (a SQLite rig when it is not PostgreSQL).
    /// Every process shares one audit key file, as replicas must.
    pub async fn with_automations_on(rules: &str, database: TestDatabase) -> Self {
        let postgres = database.is_postgres().then_some(database);
        Self::on_database("", "reload_seconds = 1\n", rules, postgres).await
    }

    async fn on_database(
        slack_extra: &str,
        knowledge_extra: &str,
        tail: &str,
        postgres: Option<TestDatabase>,
    ) -> Self {
        Self::on_database_with_policy(slack_extra, knowledge_extra, tail, postgres, "").await
    }

    async fn on_database_with_policy(
        slack_extra: &str,
        knowledge_extra: &str,
        tail: &str,
        postgres: Option<TestDatabase>,
        policy_extra: &str,
    ) -> Self {
        let harness = Harness::demo().await;
        let fake = FakeSlack::start().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("okta.pem"), &harness.pem).unwrap();
        let docs = dir.path().join("help-docs");
        std::fs::create_dir(&docs).unwrap();
        for (name, text) in okta_agent::knowledge::STARTER {
            std::fs::write(docs.join(name), text).unwrap();
        }
        std::fs::write(
            dir.path().join("okta-agent.toml"),
            format!(
                "[policy]\n{admins}self_service = [\"unlock_user\"]\nself_service_with_approval = [\"reset_password\"]\ntwo_person = [\"deactivate_user\", \"reset_factors\"]\nprotected_groups = [\"Okta Administrators\"]\nreset_password_delivery = \"dm_approver\"\n{policy_extra}\n\n[slack]\ntriage_channels = [\"{TRIAGE}\"]\nhelp_channels = [\"{HELP}\"]\nsocket_connections = 1\n{slack_extra}\n\n[knowledge]\npath = \"{}\"\n{knowledge_extra}\n{tail}\n",
                docs.display(),
                // The policy lines may name the admins themselves.
                admins = if policy_extra.contains("admins =") {
                    ""
                } else {
                    "admins = [\"U0LEO\", \"U0GRACE\"]\n"
                },
            ),
        )
        .unwrap();
        let mut rig = Self {
            harness,
            fake,
            dir,
            child: None,
            starts: 0,
            env: Vec::new(),
            replicas: Vec::new(),
            postgres,
            observer: tokio::sync::OnceCell::new(),
        };
        if rig.postgres.is_some() {
            let key = rig.dir.path().join("audit.key");
            okta_agent::audit::AuditKeys::add_key(&key).unwrap();
            rig.env.push((
                "OKTA_AGENT_AUDIT_KEY_FILE".into(),
                key.display().to_string(),
            ));
        }
        rig.start().await;
        rig
    }

    pub async fn start(&mut self) {
        let child = self.spawn().await;
        self.child = Some(child);
    }

    /// Another `okta-agent run` on the same database and Slack app: a replica.
    pub async fn start_replica(&mut self) {
        let child = self.spawn().await;
        self.replicas.push(child);
    }

    /// SIGKILL for replica `n`: no clean stop, no lease given up.
    pub async fn kill_replica(&mut self, n: usize) {
        let child = &mut self.replicas[n];
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    /// `okta-agent run` that is expected to stop by itself (a start-up error): its exit
    /// status and what it logged.
    pub async fn run_to_exit(&mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.command().spawn().unwrap();
        let status = child.wait().await.unwrap();
        let log = self.dir.path().join(format!("run-{}.log", self.starts - 1));
        (status, std::fs::read_to_string(log).unwrap())
    }

    async fn spawn(&mut self) -> tokio::process::Child {
        let connections_before = self.fake.connections();
        let child = self.command().spawn().unwrap();
        let fake = self.fake.clone();
        wait_until("the app to connect over Socket Mode", || {
            fake.connections() > connections_before
        })
        .await;
        child
    }

    fn command(&mut self) -> tokio::process::Command {
        let log = std::fs::File::create(self.dir.path().join(format!("run-{}.log", self.starts)))
            .unwrap();
        self.starts += 1;
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"));
        command
            .arg("run")
            // Where a PostgreSQL store keeps this host's recovery file.
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SLACK_APP_TOKEN", fake_slack::APP_TOKEN)
            .env("SLACK_BOT_TOKEN", fake_slack::BOT_TOKEN)
            .env("SLACK_API_URL", &self.fake.api_url)
            .env("OKTA_ORG_URL", self.harness.sandbox.url())
            .env("OKTA_CLIENT_ID", &self.harness.client_id)
            .env("OKTA_PRIVATE_KEY_FILE", self.dir.path().join("okta.pem"))
            .env("OKTA_AGENT_CONFIG", self.dir.path().join("okta-agent.toml"))
            .env("DATABASE_URL", self.database_url())
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        command
    }

    /// Runs `okta-agent ARGS` once with the rig's configuration, database and audit key, as an
    /// operator on the same host would: (success, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("USER", "operator")
            .env("OKTA_AGENT_CONFIG", self.dir.path().join("okta-agent.toml"))
            .env("DATABASE_URL", self.database_url())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .await
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The `DATABASE_URL` every process of the rig uses.
    pub fn database_url(&self) -> String {
        match &self.postgres {
            Some(database) => database.url(),
            None => format!(
                "sqlite://{}",
                self.dir.path().join("okta-agent.db").display()
            ),
        }
    }

    /// A handle on the rig's database, as one more process would open it (one per rig).
    pub async fn store(&self) -> &okta_agent::store::Store {
        self.observer
            .get_or_init(|| async {
                okta_agent::store::Store::open_url(&self.database_url())
                    .await
                    .unwrap()
            })
            .await
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = child.id().unwrap() as libc::pid_t;
        // SAFETY: signalling our own child process, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        child.wait().await.unwrap()
    }

    /// Sends an Events API event under `event_id`; returns the envelope id.
    pub async fn post(&self, event_id: &str, event: Value) -> String {
        let envelope = envelope_id();
        self.fake
            .send(event_envelope(&envelope, event_id, 0, event))
            .await;
        envelope
    }

    /// Waits for the app to acknowledge an envelope: for an event it ignores, the decision.
    pub async fn until_acked(&self, envelope: &str) {
        let fake = self.fake.clone();
        wait_until("the acknowledgement", || fake.acked(envelope)).await;
    }

    /// What the app recorded for event `event_id`: `None` when it was not work at all.
    pub async fn inbound_state(&self, event_id: &str) -> Option<InboundState> {
        self.key_state(&format!("event:{event_id}")).await
    }

    /// What the app recorded under a dedupe key (`event:…`, `reaction:…`).
    async fn key_state(&self, key: &str) -> Option<InboundState> {
        self.store().await.inbound_state(key).await.ok().flatten()
    }

    /// Waits until the work of event `event_id` is finished (recorded as done).
    pub async fn until_done(&self, event_id: &str) {
        self.until_key_done(&format!("event:{event_id}")).await;
    }

    /// Waits until the work recorded under a dedupe key is finished.
    pub async fn until_key_done(&self, key: &str) {
        wait_for(&format!("{key} to be handled"), || async {
            self.key_state(key).await == Some(InboundState::Done)
        })
        .await;
    }

    /// How many times the log says the help documents were reloaded.
    pub fn reloads(&self) -> usize {
        self.logs().matches("help documents reloaded").count()
    }

    /// The texts of the ephemeral messages posted to `user`, in order.
    pub fn ephemerals_to(&self, user: &str) -> Vec<String> {
        self.fake
            .calls("chat.postEphemeral")
            .iter()
            .filter(|c| c.body["user"] == user)
            .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// A person's Okta status, as the simulator has it now.
    pub async fn status(&self, login: &str) -> String {
        let users = self.harness.users().await;
        users
            .as_array()
            .into_iter()
            .flatten()
            .find(|u| u["profile"]["login"] == login || u["login"] == login)
            .map(|u| u["status"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    /// Waits until a person's Okta status is `status`, showing the app's log if it never is.
    pub async fn until_status(&self, login: &str, status: &str) {
        for _ in 0..600 {
            if self.status(login).await == status {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{login} never became {status}; app log:\n{}", self.logs());
    }

    /// Waits until the simulator has applied `count` mutations.
    pub async fn until_mutations(&self, count: usize) {
        for _ in 0..600 {
            if self.harness.mutations().await.len() >= count {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "Okta never saw {count} change(s); app log:\n{}",
            self.logs()
        );
    }

    /// The help-docs folder the app reads.
    pub fn help_docs(&self) -> std::path::PathBuf {
        self.dir.path().join("help-docs")
    }

    /// SIGHUP: reload the help documents now.
    pub fn sighup(&self) {
        let pid = self.child.as_ref().unwrap().id().unwrap() as libc::pid_t;
        // SAFETY: signalling our own child process, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    }

    pub fn logs(&self) -> String {
        (0..self.starts)
            .map(|i| {
                std::fs::read_to_string(self.dir.path().join(format!("run-{i}.log")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// A mention; returns the new card's proposal id and message.
    pub async fn request(&self, user: &str, text: &str, ts: &str) -> (String, Value) {
        // Cards already posted, by their ts: an earlier card losing its buttons (decided
        // meanwhile) must not hide the new one.
        let before: std::collections::HashSet<String> = self
            .fake
            .messages()
            .iter()
            .filter_map(|m| m["ts"].as_str().map(str::to_string))
            .collect();
        self.fake
            .send(event_envelope(
                &envelope_id(),
                &format!("Ev{ts}"),
                0,
                mention(user, text, CHANNEL, ts),
            ))
            .await;
        let fake = self.fake.clone();
        let new_card = || {
            fake.messages()
                .into_iter()
                .rev()
                .find(|m| has_buttons(m) && m["ts"].as_str().is_some_and(|t| !before.contains(t)))
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(card) = new_card() {
                return (proposal_of(&card), card);
            }
            if let Some(reply) = fake
                .calls("chat.postMessage")
                .iter()
                .find(|c| c.body["thread_ts"] == ts && !has_buttons(&c.body))
            {
                panic!(
                    "a reply instead of a card: {:?}\n{}",
                    reply.body,
                    self.logs()
                );
            }
            if std::time::Instant::now() > deadline {
                panic!("timed out waiting for a card; app log:\n{}", self.logs());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Waits for `condition`, showing the app's log if it never holds.
    pub async fn wait(&self, what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !condition() {
            if std::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; app log:\n{}", self.logs());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// A thread reply (not a card) stored by the fake.
    pub fn reply_in(&self, thread_ts: &str) -> Option<String> {
        self.fake
            .messages()
            .into_iter()
            .find(|m| m["thread_ts"] == thread_ts && m.get("bot_id").is_some() && !has_buttons(m))
            .and_then(|m| m["text"].as_str().map(str::to_string))
    }

    pub fn cards(&self) -> Vec<Value> {
        cards(&self.fake)
    }

    /// `user` presses "I still need help" under a help answer; the escalation it posts in the
    /// triage channel, once there.
    pub async fn escalate(&self, user: &str, answer: &Value) -> Value {
        self.fake
            .send(click(
                &envelope_id(),
                user,
                "help_escalate",
                "escalate",
                answer,
            ))
            .await;
        let find = || {
            self.fake
                .messages()
                .into_iter()
                .find(|m| m["channel"] == TRIAGE)
        };
        self.wait("the escalation in triage", || find().is_some())
            .await;
        find().unwrap()
    }

    pub async fn click(&self, user: &str, action: &str, proposal_id: &str, card: &Value) {
        self.fake
            .send(click(&envelope_id(), user, action, proposal_id, card))
            .await;
    }
}

/// A pending card: it has Approve, or (while it waits for a verification) Cancel.
pub fn has_buttons(message: &Value) -> bool {
    let blocks = message["blocks"].to_string();
    blocks.contains("\"action_id\":\"approve\"") || blocks.contains("\"action_id\":\"cancel\"")
}

pub fn cards(fake: &FakeSlack) -> Vec<Value> {
    fake.messages().into_iter().filter(has_buttons).collect()
}

/// The proposal id a card's buttons carry.
pub fn proposal_of(card: &Value) -> String {
    card["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .find_map(|e| e["value"].as_str().map(str::to_string))
        .unwrap()
}

pub fn card_text(fake: &FakeSlack, proposal_id: &str) -> String {
    fake.card_for(proposal_id)
        .map(|m| m["blocks"].to_string())
        .unwrap_or_default()
}
