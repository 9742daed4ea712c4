//! The real binary's agent commands: `chat --script` on the built-in demo org, `audit verify`
//! and `audit export` (with tampering), `tools`, and `check`'s policy lines.

use std::process::{Command, Output};

use okta_agent::engine::Choice;
use okta_agent::tools::Tool;

use crate::common::{card, Stack};

/// The binary with no Okta, model or database settings inherited from the developer's shell.
/// `okta-agent --config FILE check`.
fn check_with(config: &std::path::Path) -> std::process::Output {
    bin()
        .arg("--config")
        .arg(config)
        .arg("check")
        .output()
        .unwrap()
}

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_okta-agent"));
    for name in [
        "OKTA_ORG_URL",
        "OKTA_CLIENT_ID",
        "OKTA_KEY_ID",
        "OKTA_PRIVATE_KEY",
        "OKTA_PRIVATE_KEY_FILE",
        "OKTA_SCOPES",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_MODEL",
        "DATABASE_URL",
        "OKTA_AGENT_CONFIG",
        "RUST_LOG",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_demo_script_shows_a_request_a_card_an_approval_and_a_verified_result() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo.chat");
    let out = bin().args(["chat", "--script", script]).output().unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "Locked out: yes.",
        "┌ Approval needed: Unlock",
        "Target:    Bob Smith · bob.smith@example.com · LOCKED_OUT",
        "✓ Executed: Unlock done for Bob Smith (bob.smith@example.com): status now ACTIVE (was LOCKED_OUT).",
        "member of Zoom Users",
        "Target:    Bob Smith · bob.smith@example.com · ACTIVE",
        "Approval needed: Remove from group (undo)",
        "a different admin must approve it",
        "by @grace at",
        "protected group 'Okta Administrators'",
        "Which one? Reply with their email or Okta login.",
        "✗ Cancelled",
        "has 4 app(s): Google Workspace, Salesforce, Slack, Zoom.",
        "Source: New phone: setting up Okta Verify again › Still have the old phone (https://intranet.example.com/it/new-phone#still-have-the-old-phone)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        String::from_utf8_lossy(&out.stderr).trim().is_empty(),
        "chat logs only warnings by default"
    );
}

/// `chat --script` over these lines, against the demo org.
fn chat_script(lines: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.chat");
    std::fs::write(&script, lines).unwrap();
    bin()
        .args(["chat", "--script"])
        .arg(&script)
        .output()
        .unwrap()
}

/// A how-to question is answered from the starter documents, and the answer offers the
/// self-service action the policy allows, worded for how resets are delivered (by email here).
#[test]
fn chat_answers_how_to_questions_with_the_self_service_offer() {
    let out = chat_script("/as U0BOB\nhow do I reset my password?\nthanks!\n");
    let text = stdout(&out);
    assert!(text.contains("choose Forgot password?"), "{text}");
    assert!(text.contains("Source: Reset your password › Reset it yourself (https://intranet.example.com/it/reset-password#reset-it-yourself)"), "{text}");
    assert!(text.contains("[Send me a reset email]"), "{text}");
    assert!(text.contains("You're welcome!"), "{text}");
}

/// The automations tour: a refused reaction told only to the reactor, a reaction that becomes
/// a card, an immediate one, and the form with time-bound access ended early.
#[test]
fn the_automations_script_reacts_and_fills_in_the_form() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/automations.chat");
    let out = bin().args(["chat", "--script", script]).output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    for expected in [
        "(only @bob sees this) Your :lock: did nothing: only IT admins may suspend people",
        "│ Requested: @leo (with a :lock: reaction)",
        "✓ Executed: Suspend done for Jamal Reed",
        "│ Requested: @leo (with a :no_entry: reaction)",
        "✓ Executed: Suspend done for Ana Lopez",
        "│ For:       8 hours, then removed automatically",
        "│ Reason:    offsite week",
        "│ Requested: @leo (with the /okta form)",
        "Access ends: ",
        "Time-bound access to Zoom Users ended for Kate Nguyen",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn chat_answers_typed_lines_and_refuses_unknown_people() {
    let out = chat_script("unlock @bob\nno\n/as U0GUEST\nunlock @kate\n");
    let text = stdout(&out);
    assert!(out.status.success());
    assert!(
        text.contains("✗ Cancelled: Cancelled. Nothing was changed.\n    by @leo at"),
        "{text}"
    );
    assert!(
        text.contains("only full members of this Slack workspace can make requests"),
        "{text}"
    );

    let out = bin()
        .args(["chat", "--script", "/nonexistent/file"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("opening script /nonexistent/file"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_and_export_detect_edits_and_removals() {
    let stack = Stack::new().await;
    let outputs = stack.ask("U0LEO", "unlock <@U0BOB>").await;
    let id = card(&outputs).unwrap().proposal_id;
    stack.click("U0BOB", &id, Choice::Approve).await; // refused: audited too
    stack.click("U0LEO", &id, Choice::Approve).await;
    stack.ask("U0LEO", "suspend <@U0GRACE>").await; // denied: audited
    let url = format!("sqlite://{}", stack.db.display());
    let audit = |args: &[&str]| {
        bin()
            .arg("audit")
            .args(args)
            .env("DATABASE_URL", &url)
            .output()
            .unwrap()
    };

    let out = audit(&["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("audit chain intact: 5 record(s)"),
        "{}",
        stdout(&out)
    );
    let csv = stdout(&audit(&["export", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(
        csv.contains(",executed,U0LEO,U0LEO,unlock_user,bob.smith@example.com,"),
        "{csv}"
    );
    let jsonl = stdout(&audit(&["export"]));
    let records: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = records
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["requested", "refused", "approved", "executed", "denied"]
    );
    assert!(!records[3]["okta_request_ids"]
        .as_array()
        .unwrap()
        .is_empty());

    stack
        .engine()
        .store()
        .execute_raw("UPDATE audit SET record = replace(record, 'U0LEO', 'U0ANA') WHERE seq = 3")
        .await
        .unwrap();
    let out = audit(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("audit record 3 was edited"),
        "{}",
        stdout(&out)
    );
    assert!(
        !audit(&["export"]).status.success(),
        "a broken chain is not exported"
    );

    let stack2 = Stack::new().await;
    let id = stack2.propose("U0LEO", "unlock <@U0BOB>").await;
    stack2.click("U0LEO", &id, Choice::Approve).await;
    stack2
        .engine()
        .store()
        .execute_raw("DELETE FROM audit WHERE seq = 2")
        .await
        .unwrap();
    let out = bin()
        .args(["audit", "verify"])
        .env("DATABASE_URL", format!("sqlite://{}", stack2.db.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("a record was removed"),
        "{}",
        stdout(&out)
    );

    let out = bin()
        .args(["audit", "verify"])
        .env("DATABASE_URL", "sqlite:///nonexistent/okta-agent.db")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no database at /nonexistent/okta-agent.db")
    );
}

#[test]
fn tool_files_match_the_code() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tools");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut expected: Vec<String> = Tool::ALL
        .iter()
        .map(|t| format!("{}.json", t.name()))
        .collect();
    expected.sort();
    assert_eq!(
        names, expected,
        "tools/ holds a file per tool and nothing else; run `cargo run -- tools --write tools`"
    );
    for tool in Tool::ALL {
        let text = std::fs::read_to_string(format!("{dir}/{}.json", tool.name())).unwrap();
        let on_disk: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            on_disk,
            tool.wire_definition(),
            "tools/{}.json drifted from the code; run `cargo run -- tools --write tools`",
            tool.name()
        );
    }
}

#[test]
fn snapshots_of_the_schemas_and_the_prompt() {
    let catalogue: Vec<serde_json::Value> = Tool::ALL.iter().map(|t| t.wire_definition()).collect();
    insta::assert_json_snapshot!("tool_catalogue", catalogue);
    insta::assert_snapshot!(
        "system_prompt",
        okta_agent::agent::prompt::system_prompt("U0LEO", "2026-11-28")
    );
}

#[test]
fn check_reports_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg("check").output().unwrap();
    assert!(
        stdout(&out).contains("✓ Policy: none configured: read-only"),
        "{}",
        stdout(&out)
    );
    let config = dir.path().join("okta-agent.toml");
    std::fs::write(
        &config,
        "[policy]\nadmins = [\"U0ADMIN1\"]\nself_service = [\"unlock_user\"]\ntwo_person = [\"deactivate_user\"]\nprotected_groups = [\"Okta Administrators\"]\n",
    )
    .unwrap();
    let out = check_with(&config);
    let text = stdout(&out);
    assert!(text.contains("✓ Policy: version "), "{text}");
    assert!(
        text.contains("1 admin(s); self-service: unlock_user;"),
        "{text}"
    );
    assert!(
        text.contains("✓ Planner: built-in command engine"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1), "no org configured is still a ✗");

    // Emoji rules are checked against the policy, and listed.
    std::fs::write(
        &config,
        "[policy]\nadmins = [\"U0ADMIN1\"]\ntwo_person = [\"deactivate_user\"]\n\n[[automations.reactions]]\nemoji = \"lock\"\ntool = \"suspend_user\"\nchannels = [\"C0SECURITY\"]\ngrace_seconds = 60\n",
    )
    .unwrap();
    let text = stdout(&check_with(&config));
    assert!(
        text.contains("✓ Automations: 1 reaction rule(s): :lock: → suspend_user in C0SECURITY (confirm, 60 s to take it back)"),
        "{text}"
    );
    std::fs::write(
        &config,
        "[policy]\nadmins = [\"U0ADMIN1\"]\ntwo_person = [\"deactivate_user\"]\n\n[[automations.reactions]]\nemoji = \"skull\"\ntool = \"deactivate_user\"\nchannels = [\"security\"]\nmode = \"immediate\"\n",
    )
    .unwrap();
    let out = check_with(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("'security' is not a channel id"), "{err}");
    assert!(err.contains("mode \"immediate\" is not allowed"), "{err}");

    std::fs::write(
        &config,
        "[policy]\nadmins = [\"alice\"]\nself_service = [\"unlock\"]\n",
    )
    .unwrap();
    let out = check_with(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("unknown variant `unlock`"), "{err}");
}

/// `check` reads the help documents as `run` would: a broken file is named, a page that cannot
/// be fetched is named, and the rest are counted.
#[test]
fn check_names_broken_help_documents_and_unreachable_pages() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("help-docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(
        docs.join("vpn.md"),
        "# VPN\n## Connect\nOpen GlobalProtect.\n",
    )
    .unwrap();
    std::fs::write(docs.join("broken.md"), "---\ntitle: [oops\n---\ntext\n").unwrap();
    let config = dir.path().join("okta-agent.toml");
    std::fs::write(
        &config,
        format!(
            "[knowledge]\npath = \"{}\"\npages = [{{ url = \"http://127.0.0.1:9/wiki/printing\" }}]\n",
            docs.display()
        ),
    )
    .unwrap();
    let out = check_with(&config);
    let text = stdout(&out);
    assert!(
        text.contains("✓ Help docs: 1 document(s), 1 section(s)"),
        "{text}"
    );
    assert!(
        text.contains("✗ Help docs: broken.md: front matter"),
        "{text}"
    );
    assert!(
        text.contains("✗ Help pages: http://127.0.0.1:9/wiki/printing: could not connect"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// `chat` against a real org (here the simulator, reached through OKTA_ORG_URL like any org)
/// is a dry run: cards are shown, nothing is stored, approved or executed, no secret is
/// printed, and the shared store's in-flight work is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_against_a_real_org_never_changes_anything() {
    use okta_agent::approvals::{Approvals, Draft, NewProposal, ProposalState, TargetSnapshot};
    let harness = crate::common::Harness::demo().await;
    let fake = crate::common::fake_slack::FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    // A running service's approval, claimed and mid-execution.
    let store = okta_agent::store::Store::open(&db).await.unwrap();
    let approvals = Approvals::new(&store);
    let in_flight = approvals
        .create(NewProposal {
            draft: Draft {
                call: okta_agent::tools::Call::new(
                    Tool::SuspendUser,
                    okta_agent::tools::Subject::User("jamal.reed@example.com".into()),
                )
                .unwrap(),
                target: TargetSnapshot {
                    id: "00ujamal".into(),
                    login: "jamal.reed@example.com".into(),
                    email: None,
                    name: "Jamal Reed".into(),
                    status: okta_agent::okta::UserStatus::Active,
                    group: None,
                },
                worded_by: None,
                as_written: None,
                access_seconds: None,
                reason: None,
            },
            requester: "U0LEO",
            policy_version: "v",
            now: okta_agent::okta::unix_now() as i64,
            ttl_secs: 900,
            conversation: "C1:1",
            undo_of: None,
            trigger: okta_agent::approvals::Trigger::Message,
        })
        .await
        .unwrap();
    approvals
        .claim(
            &in_flight.id,
            "U0GRACE",
            "v",
            okta_agent::okta::unix_now() as i64,
        )
        .await
        .unwrap()
        .unwrap();
    drop(store);
    std::fs::write(dir.path().join("okta.pem"), &harness.pem).unwrap();
    std::fs::write(
        dir.path().join("okta-agent.toml"),
        "[policy]\nadmins = [\"U0LEO\", \"U0GRACE\"]\nprotected_groups = [\"Okta Administrators\"]\nreset_password_delivery = \"dm_approver\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("s.chat"),
        "unlock <@U0BOB>\ny\nreset password for <@U0KATE>\napprove\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
        .args(["chat", "--as", "U0LEO", "--script"])
        .arg(dir.path().join("s.chat"))
        .env_clear()
        .env("OKTA_ORG_URL", harness.sandbox.url())
        .env("OKTA_CLIENT_ID", &harness.client_id)
        .env("OKTA_PRIVATE_KEY_FILE", dir.path().join("okta.pem"))
        .env("OKTA_AGENT_CONFIG", dir.path().join("okta-agent.toml"))
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("SLACK_APP_TOKEN", crate::common::fake_slack::APP_TOKEN)
        .env("SLACK_BOT_TOKEN", crate::common::fake_slack::BOT_TOKEN)
        .env("SLACK_API_URL", &fake.api_url)
        .output()
        .await
        .unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Would ask for approval (dry run): Unlock"),
        "{text}"
    );
    assert!(text.contains("approval happens only in Slack"), "{text}");
    assert!(
        text.contains("never approves or executes changes against a real Okta org"),
        "{text}"
    );
    assert!(!text.contains("Executed"), "{text}");
    assert!(!text.contains("reset_password/"), "no reset link: {text}");
    assert!(harness.mutations().await.is_empty(), "Okta was not changed");
    let store = okta_agent::store::Store::open(&db).await.unwrap();
    let stored = Approvals::new(&store)
        .get(&in_flight.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.state,
        ProposalState::Executing,
        "a running service's work is left alone"
    );
    assert_eq!(
        store
            .proposals_by_requester_since("U0LEO", 0)
            .await
            .unwrap(),
        1,
        "chat stored no proposal of its own"
    );
}

/// The whole transcripts of `chat --script examples/*.chat`, with only the clock and Okta's
/// request ids blanked: refactoring keeps what people see.
#[test]
fn the_example_scripts_print_the_same_transcripts() {
    let time = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC").unwrap();
    let hex = regex::Regex::new(r"\b[0-9a-f]{32}\b").unwrap();
    let ids = regex::Regex::new(r"\b[0-9a-f]{12}\b").unwrap();
    for name in ["demo", "automations"] {
        let script = format!("{}/examples/{name}.chat", env!("CARGO_MANIFEST_DIR"));
        let out = bin().args(["chat", "--script", &script]).output().unwrap();
        assert!(out.status.success());
        let text = stdout(&out);
        let text = time.replace_all(&text, "<time>");
        let text = hex.replace_all(&text, "<okta-request-id>");
        let text = ids.replace_all(&text, "<id>");
        insta::assert_snapshot!(format!("transcript_{name}"), text);
    }
}
