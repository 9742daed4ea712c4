//! The real `okta-agent run` binary against the fake Slack and the Okta simulator: a rig that
//! starts, stops and restarts it on one database, and drives it through Socket Mode.

#![allow(dead_code)]

use std::process::Stdio;

use serde_json::Value;

use super::fake_slack::{self, click, envelope_id, event_envelope, mention, wait_until, FakeSlack};
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
}

impl Rig {
    pub async fn new() -> Self {
        Self::with_slack_config("").await
    }

    /// A rig with extra `[slack]` settings (TOML lines).
    pub async fn with_slack_config(extra: &str) -> Self {
        let harness = Harness::demo().await;
        let fake = FakeSlack::start().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("okta.pem"), &harness.pem).unwrap();
        let docs = dir.path().join("help-docs");
        std::fs::create_dir(&docs).unwrap();
        std::fs::write(
            docs.join("new-phone-mfa.md"),
            "# New phone: setting up Okta Verify again\n\nAsk IT to reset your MFA factors, then enrol Okta Verify on the new phone at your next sign-in.\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("okta-agent.toml"),
            format!(
                "[policy]\nadmins = [\"U0LEO\", \"U0GRACE\"]\nself_service = [\"unlock_user\"]\nself_service_with_approval = [\"reset_password\"]\ntwo_person = [\"deactivate_user\", \"reset_factors\"]\nprotected_groups = [\"Okta Administrators\"]\nreset_password_delivery = \"dm_approver\"\n\n[slack]\ntriage_channels = [\"{TRIAGE}\"]\nhelp_channels = [\"{HELP}\"]\nsocket_connections = 1\n{extra}\n\n[knowledge]\npath = \"{}\"\n",
                docs.display()
            ),
        )
        .unwrap();
        let mut rig = Self {
            harness,
            fake,
            dir,
            child: None,
            starts: 0,
        };
        rig.start().await;
        rig
    }

    pub async fn start(&mut self) {
        let connections_before = self.fake.connections();
        let log = std::fs::File::create(self.dir.path().join(format!("run-{}.log", self.starts)))
            .unwrap();
        self.starts += 1;
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
            .arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SLACK_APP_TOKEN", fake_slack::APP_TOKEN)
            .env("SLACK_BOT_TOKEN", fake_slack::BOT_TOKEN)
            .env("SLACK_API_URL", &self.fake.api_url)
            .env("OKTA_ORG_URL", self.harness.sandbox.url())
            .env("OKTA_CLIENT_ID", &self.harness.client_id)
            .env("OKTA_PRIVATE_KEY_FILE", self.dir.path().join("okta.pem"))
            .env("OKTA_AGENT_CONFIG", self.dir.path().join("okta-agent.toml"))
            .env(
                "DATABASE_URL",
                format!(
                    "sqlite://{}",
                    self.dir.path().join("okta-agent.db").display()
                ),
            )
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let fake = self.fake.clone();
        wait_until("the app to connect over Socket Mode", || {
            fake.connections() > connections_before
        })
        .await;
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = child.id().unwrap() as libc::pid_t;
        // SAFETY: signalling our own child process, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        child.wait().await.unwrap()
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
        let cards_before = self.cards().len();
        self.fake
            .send(event_envelope(
                &envelope_id(),
                &format!("Ev{ts}"),
                0,
                mention(user, text, CHANNEL, ts),
            ))
            .await;
        let fake = self.fake.clone();
        let logs = || self.logs();
        wait_until("a card", || {
            let n = cards(&fake).len();
            if n <= cards_before
                && fake
                    .calls("chat.postMessage")
                    .iter()
                    .any(|c| c.body["thread_ts"] == ts && !has_buttons(&c.body))
            {
                panic!(
                    "a reply instead of a card: {:?}\n{}",
                    fake.calls("chat.postMessage").last(),
                    logs()
                );
            }
            n > cards_before
        })
        .await;
        self.fake.newest_card().unwrap()
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

    pub async fn click(&self, user: &str, action: &str, proposal_id: &str, card: &Value) {
        self.fake
            .send(click(&envelope_id(), user, action, proposal_id, card))
            .await;
    }
}

pub fn has_buttons(message: &Value) -> bool {
    message["blocks"]
        .to_string()
        .contains("\"action_id\":\"approve\"")
}

pub fn cards(fake: &FakeSlack) -> Vec<Value> {
    fake.messages().into_iter().filter(has_buttons).collect()
}

pub fn card_text(fake: &FakeSlack, proposal_id: &str) -> String {
    fake.card_for(proposal_id)
        .map(|m| m["blocks"].to_string())
        .unwrap_or_default()
}
