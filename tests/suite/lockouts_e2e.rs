//! Reaching people before they ask, end to end: the real `okta-agent run` polling the
//! simulator's System Log (with `okta.logs.read`), the fake Slack. A lockout gets exactly one
//! DM with "Unlock me", across a restart and with two replicas polling; the button is the
//! person's own self-service unlock; an account unlocked before the DM goes out is not told;
//! a storm of lockouts is one alert to IT and no DMs.

use serde_json::Value;

use okta_agent::store::LockoutState;

use crate::common::fake_slack::{click, envelope_id, wait_for};
use crate::common::rig::{proposal_of, Rig, TRIAGE};
use crate::common::services::TestDatabase;

/// The scopes the rig asks for: the defaults and the System Log.
const SCOPES: &str = "[okta]\nscopes = [\"okta.users.read\", \"okta.users.manage\", \"okta.groups.read\", \"okta.groups.manage\", \"okta.apps.read\", \"okta.roles.read\", \"okta.logs.read\"]\n\n[lockouts]\npoll_seconds = 1\n";

async fn lockout_rig(database: TestDatabase) -> Rig {
    Rig::with_automations_on(SCOPES, database).await
}

/// The lockout DMs the bot posted to `user`.
fn lockout_dms(rig: &Rig, user: &str) -> Vec<Value> {
    rig.fake
        .messages()
        .into_iter()
        .filter(|m| m["channel"] == user && m["blocks"].to_string().contains("unlock_me"))
        .collect()
}

fn all_lockout_dms(rig: &Rig) -> usize {
    rig.fake
        .messages()
        .into_iter()
        .filter(|m| m["blocks"].to_string().contains("unlock_me"))
        .count()
}

fn storm_alerts(rig: &Rig) -> Vec<String> {
    rig.fake
        .messages()
        .into_iter()
        .filter(|m| m["channel"] == TRIAGE)
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .filter(|text| text.contains("Lockout storm"))
        .collect()
}

/// Waits until the poller has read the log `polls` more times, whichever process holds it.
async fn until_polled(rig: &Rig, polls: i64) {
    let store = rig.store().await;
    let cursor = store.log_cursor("lockouts").await.unwrap();
    let since = cursor.and_then(|c| c.polled_at).unwrap_or(0);
    wait_for("the System Log to be polled again", || async {
        store
            .log_cursor("lockouts")
            .await
            .unwrap()
            .and_then(|c| c.polled_at)
            .is_some_and(|at| at >= since + polls)
    })
    .await;
}

async fn state_of(rig: &Rig, login: &str) -> Vec<LockoutState> {
    let store = rig.store().await;
    let mut states = Vec::new();
    for state in [
        LockoutState::New,
        LockoutState::Sending,
        LockoutState::Notified,
        LockoutState::NotLocked,
        LockoutState::Unreachable,
        LockoutState::Storm,
    ] {
        for row in store.lockouts_in(state).await.unwrap() {
            if row.login == login {
                states.push(row.state);
            }
        }
    }
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_is_told_once_and_the_person_unlocks_themselves_across_a_restart() {
    let mut rig = lockout_rig(TestDatabase::sqlite()).await;
    rig.harness
        .fail_sign_ins("ana.lopez@example.com", 10, "198.51.100.7", "Canada")
        .await;
    rig.wait("Ana's DM", || lockout_dms(&rig, "U0ANA").len() == 1)
        .await;
    let dm = lockout_dms(&rig, "U0ANA").remove(0);
    let shown = format!("{} {}", dm["text"], dm["blocks"]);
    for expected in [
        "Your Okta account (ana.lopez@example.com) was locked at",
        "UTC after too many failed sign-ins",
        "Unlock me",
        "If this was not you",
    ] {
        assert!(
            shown.contains(expected),
            "{expected:?} missing from {shown}"
        );
    }
    let lockout_id = dm["blocks"][1]["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(rig.status("ana.lopez@example.com").await, "LOCKED_OUT");

    // The button in Ana's DM, pressed by someone else (a forged click), does nothing.
    rig.fake
        .send(click(
            &envelope_id(),
            "U0KATE",
            "unlock_me",
            &lockout_id,
            &dm,
        ))
        .await;
    rig.wait("Kate's refusal", || !rig.ephemerals_to("U0KATE").is_empty())
        .await;
    assert!(rig.ephemerals_to("U0KATE")[0].contains("for the person whose account was locked"));
    assert!(rig.cards().is_empty());

    // Ana's press is her own self-service unlock: the usual card, then the change.
    rig.fake
        .send(click(
            &envelope_id(),
            "U0ANA",
            "unlock_me",
            &lockout_id,
            &dm,
        ))
        .await;
    rig.wait("Ana's card", || !rig.cards().is_empty()).await;
    let card = rig.cards().remove(0);
    assert_eq!(card["channel"], "U0ANA", "the card is in her DM");
    assert!(card["blocks"].to_string().contains("ana.lopez@example.com"));
    let id = proposal_of(&card);
    rig.click("U0ANA", "approve", &id, &card).await;
    rig.until_status("ana.lopez@example.com", "ACTIVE").await;
    assert_eq!(rig.harness.mutations().await.len(), 1, "exactly one change");

    // A restart resumes from the stored cursor: Ana is not told again.
    rig.stop().await;
    // Jamal locks out while nothing polls, and IT unlocks him in the console before it does:
    // there is nothing left to tell him.
    rig.harness
        .fail_sign_ins("jamal.reed@example.com", 10, "198.51.100.7", "Canada")
        .await;
    rig.harness
        .set_status("jamal.reed@example.com", "ACTIVE")
        .await;
    rig.start().await;
    until_polled(&rig, 2).await;
    wait_for("Jamal's lockout to be read", || async {
        state_of(&rig, "jamal.reed@example.com").await == [LockoutState::NotLocked]
    })
    .await;
    assert_eq!(lockout_dms(&rig, "U0ANA").len(), 1, "one DM per lockout");
    assert!(lockout_dms(&rig, "U0JAMAL").is_empty());
    assert_eq!(
        state_of(&rig, "ana.lopez@example.com").await,
        [LockoutState::Notified]
    );
    let (ok, audit, _) = rig
        .cli(&[
            "audit",
            "export",
            "--action",
            "unlock_user",
            "--format",
            "jsonl",
        ])
        .await;
    assert!(ok);
    assert!(audit.contains("\"event\":\"lockout_notice\""), "{audit}");
    assert!(audit.contains("System Log event"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_sqlite_tell_each_lockout_once() {
    two_replicas_tell_each_lockout_once(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_tell_each_lockout_once() {
    if let Some(database) = TestDatabase::postgres() {
        two_replicas_tell_each_lockout_once(database).await;
    }
}

async fn two_replicas_tell_each_lockout_once(database: TestDatabase) {
    let mut rig = lockout_rig(database).await;
    rig.start_replica().await;
    for login in ["ana.lopez", "jamal.reed", "grace.kim"] {
        rig.harness
            .fail_sign_ins(
                &format!("{login}@example.com"),
                10,
                "198.51.100.9",
                "Canada",
            )
            .await;
    }
    rig.wait("three DMs", || all_lockout_dms(&rig) >= 3).await;
    until_polled(&rig, 3).await;
    for user in ["U0ANA", "U0JAMAL", "U0GRACE"] {
        assert_eq!(lockout_dms(&rig, user).len(), 1, "one DM for {user}");
    }
    assert_eq!(all_lockout_dms(&rig), 3);
    // One replica stops: the other takes the poller over and reads what came since.
    rig.stop().await;
    rig.harness
        .fail_sign_ins("leo.martin@example.com", 10, "198.51.100.9", "Canada")
        .await;
    rig.wait("Leo's DM from the replica", || {
        lockout_dms(&rig, "U0LEO").len() == 1
    })
    .await;
    assert_eq!(all_lockout_dms(&rig), 4);
    assert!(
        rig.harness.mutations().await.is_empty(),
        "a DM changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_lockouts_is_one_alert_and_no_dms() {
    let mut rig = lockout_rig(TestDatabase::sqlite()).await;
    until_polled(&rig, 1).await;
    rig.stop().await;
    // 50 accounts locked within a minute, most from one address: a password spray. Four of
    // them are people the bot could DM.
    let mut logins: Vec<String> = ["ana.lopez", "jamal.reed", "leo.martin", "grace.kim"]
        .iter()
        .map(|l| format!("{l}@example.com"))
        .collect();
    for n in 0..46 {
        let login = format!("sprayed{n:02}@example.com");
        rig.harness
            .add_user(&login, "Sprayed", &format!("{n}"))
            .await;
        logins.push(login);
    }
    for (n, login) in logins.iter().enumerate() {
        let (ip, country) = if n % 5 == 0 {
            ("192.0.2.44", "Brazil")
        } else {
            ("203.0.113.99", "Romania")
        };
        rig.harness.fail_sign_ins(login, 10, ip, country).await;
    }
    rig.start().await;
    rig.wait("the storm alert", || !storm_alerts(&rig).is_empty())
        .await;
    let alert = storm_alerts(&rig).remove(0);
    for expected in [
        "Lockout storm: 50 Okta accounts were locked within 5 minutes",
        "more than the 10",
        "203.0.113.99 (40), 192.0.2.44 (10)",
        "Romania (40), Brazil (10)",
        "and 30 more",
    ] {
        assert!(
            alert.contains(expected),
            "{expected:?} missing from {alert}"
        );
    }
    // The storm goes on: one more lockout is neither DMed nor a second alert.
    rig.harness
        .fail_sign_ins("maria.rossini@example.com", 10, "203.0.113.99", "Romania")
        .await;
    wait_for("the last lockout to be read", || async {
        state_of(&rig, "maria.rossini@example.com").await == [LockoutState::Storm]
    })
    .await;
    until_polled(&rig, 2).await;
    assert_eq!(storm_alerts(&rig).len(), 1, "one alert per storm");
    assert_eq!(all_lockout_dms(&rig), 0, "no DMs during a storm");
    assert_eq!(
        state_of(&rig, "ana.lopez@example.com").await,
        [LockoutState::Storm]
    );
    assert!(rig.harness.mutations().await.is_empty());
    let (ok, audit, _) = rig.cli(&["audit", "export", "--format", "jsonl"]).await;
    assert!(ok);
    assert_eq!(
        audit.matches("\"event\":\"lockout_storm\"").count(),
        1,
        "{audit}"
    );
}
