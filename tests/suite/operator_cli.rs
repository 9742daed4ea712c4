//! The operator's command line against a running service's database: `okta-agent pending` lists
//! what waits (an undecided card, the end of a time-bound access) and `audit export` filters by
//! time, actor, target, action and outcome, in JSON lines, CSV or a table.

use serde_json::Value;

use crate::common::fake_slack::wait_until;
use crate::common::rig::{card_text, Rig};

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_lists_open_cards_and_scheduled_jobs_and_export_filters() {
    let rig = Rig::new().await;
    let (nothing, _, _) = rig.cli(&["pending"]).await;
    assert!(nothing, "pending runs on an empty database");
    let (_, empty, _) = rig.cli(&["pending"]).await;
    assert!(empty.contains("Nothing is waiting"), "{empty}");

    // An undecided card, and a time-bound access that was granted.
    let (open, _) = rig
        .request("U0LEO", "unlock <@U0BOB>", "1700002001.000100")
        .await;
    let (access, access_card) = rig
        .request(
            "U0LEO",
            "add <@U0KATE> to Zoom Users for 8 hours",
            "1700002002.000100",
        )
        .await;
    rig.click("U0GRACE", "approve", &access, &access_card).await;
    let fake = rig.fake.clone();
    wait_until("the access to be granted", || {
        card_text(&fake, &access).contains("Done: Add")
    })
    .await;

    let (ok, out, err) = rig.cli(&["pending", "--format", "jsonl"]).await;
    assert!(ok, "{err}");
    let items = jsonl(&out);
    assert_eq!(items.len(), 2, "{out}");
    assert_eq!(items[0]["kind"], "proposal");
    assert_eq!(items[0]["id"], open.as_str());
    assert_eq!(items[0]["requester"], "U0LEO");
    assert_eq!(items[0]["action"], "unlock_user");
    assert_eq!(items[0]["target"], "bob.smith@example.com");
    assert!(items[0]["waiting_for"]
        .as_str()
        .unwrap()
        .starts_with("approval, until "));
    assert!(items[0]["age_seconds"].as_i64().unwrap() >= 0);
    assert_eq!(items[1]["kind"], "job");
    assert_eq!(items[1]["proposal_id"], access.as_str());
    assert!(items[1]["waiting_for"]
        .as_str()
        .unwrap()
        .starts_with("the end of time-bound access at "));
    let (_, table, _) = rig.cli(&["pending"]).await;
    assert!(
        table.contains("waiting for") && table.contains(&open),
        "{table}"
    );
    let (_, csv, _) = rig.cli(&["pending", "--format", "csv"]).await;
    assert_eq!(csv.lines().count(), 3, "{csv}");

    // The audit, filtered.
    let (ok, all, _) = rig.cli(&["audit", "export"]).await;
    assert!(ok);
    let all = jsonl(&all);
    assert!(all.len() >= 4, "requested ×2, approved, executed: {all:?}");
    let (_, executed, err) = rig
        .cli(&[
            "audit",
            "export",
            "--outcome",
            "executed",
            "--actor",
            "U0GRACE",
        ])
        .await;
    let executed = jsonl(&executed);
    assert_eq!(executed.len(), 1, "{executed:?}");
    assert_eq!(executed[0]["action"], "add_user_to_group");
    assert!(
        err.contains(&format!("exported 1 of {} record(s)", all.len())),
        "{err}"
    );
    let (_, about_bob, _) = rig
        .cli(&[
            "audit",
            "export",
            "--target",
            "BOB.SMITH@example.com",
            "--action",
            "unlock_user",
        ])
        .await;
    let about_bob = jsonl(&about_bob);
    assert!(!about_bob.is_empty());
    assert!(about_bob
        .iter()
        .all(|r| r["target"] == "bob.smith@example.com"));
    let (_, recent, _) = rig.cli(&["audit", "export", "--since", "1h"]).await;
    assert_eq!(jsonl(&recent).len(), all.len());
    let (_, old, _) = rig.cli(&["audit", "export", "--until", "2020-01-01"]).await;
    assert!(old.is_empty(), "{old}");
    let (_, table, _) = rig
        .cli(&[
            "audit",
            "export",
            "--format",
            "table",
            "--action",
            "add_user_to_group",
        ])
        .await;
    assert!(
        table.lines().next().unwrap().contains("requester"),
        "{table}"
    );
    assert!(table.contains("add_user_to_group"), "{table}");
    // Bad filters are refused, naming the flag and what it takes.
    let (ok, _, err) = rig.cli(&["audit", "export", "--since", "yesterday"]).await;
    assert!(
        !ok && err.contains("--since: 'yesterday' is not a time"),
        "{err}"
    );
    let (ok, _, err) = rig.cli(&["audit", "export", "--action", "unlok"]).await;
    assert!(!ok && err.contains("'unlok' is not an action"), "{err}");
}
