//! Admins named by group, end to end: the real `okta-agent run`, the fake Slack's user groups
//! (`usergroups.users.list`, `subteam_members_changed`) and the simulator's Okta groups. A
//! person added to the group may approve once the group is read again; a person removed loses
//! it within the refresh interval; the audit says which rule made the approver an admin.

use serde_json::json;

use crate::common::rig::Rig;

async fn approved_details(rig: &Rig) -> Vec<String> {
    let (ok, out, err) = rig.cli(&["audit", "export", "--format", "jsonl"]).await;
    assert!(ok, "{err}");
    out.lines()
        .filter(|l| l.contains("\"event\":\"approved\""))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_user_group_admin_approves_while_in_the_group_and_not_after() {
    let rig =
        Rig::with_policy("admins = [\"U0LEO\", \"S0ITADMINS\"]\nadmins_refresh_seconds = 10").await;
    let (id, card) = rig
        .request("U0LEO", "reset mfa for <@U0BOB>", "1700008000.000100")
        .await;
    // Ana is not in the group yet (Slack does not even know it): her approval is refused.
    rig.click("U0ANA", "approve", &id, &card).await;
    rig.wait("Ana's refusal", || !rig.ephemerals_to("U0ANA").is_empty())
        .await;
    assert!(rig.ephemerals_to("U0ANA")[0].contains("You can't do that"));
    assert!(rig.harness.mutations().await.is_empty());

    // An admin adds her to the user group; Slack says so at once.
    rig.fake.set_usergroup("S0ITADMINS", &["U0ANA", "U0GUEST"]);
    rig.post(
        "EvSubteam1",
        json!({"type": "subteam_members_changed", "subteam_id": "S0ITADMINS", "team_id": "T1",
               "date_previous_update": 1700000000, "date_update": 1700008001,
               "added_users": ["U0ANA", "U0GUEST"], "added_users_count": "2",
               "removed_users": [], "removed_users_count": "0", "event_ts": "1700008001.000100"}),
    )
    .await;
    rig.wait("the group read again", || {
        rig.logs().contains("admins named by group changed")
    })
    .await;
    assert!(
        rig.logs().contains("added=[\"U0ANA\"]"),
        "a guest in the group is not an admin"
    );
    rig.click("U0ANA", "approve", &id, &card).await;
    rig.until_mutations(1).await;
    let approved = approved_details(&rig).await;
    assert!(
        approved[0]
            .contains("the approver is an IT admin: member of the Slack user group S0ITADMINS"),
        "{approved:?}"
    );

    // She leaves the group and nobody tells okta-agent: within the refresh interval she may no
    // longer approve, and the click is checked against that.
    let (id, card) = rig
        .request("U0LEO", "reset mfa for <@U0JAMAL>", "1700008000.000200")
        .await;
    rig.fake.set_usergroup("S0ITADMINS", &[]);
    rig.wait("the interval's reading", || {
        rig.logs().contains("removed=[\"U0ANA\"]")
    })
    .await;
    let before = rig.ephemerals_to("U0ANA").len();
    rig.click("U0ANA", "approve", &id, &card).await;
    rig.wait("Ana's second refusal", || {
        rig.ephemerals_to("U0ANA").len() > before
    })
    .await;
    assert!(rig.ephemerals_to("U0ANA")[before].contains("You can't do that"));
    assert_eq!(
        rig.harness.mutations().await.len(),
        1,
        "nothing more changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_okta_group_admin_approves_and_the_audit_names_the_group() {
    let rig = Rig::with_policy("admins = [\"U0LEO\", \"okta:Zoom Users\"]").await;
    let (id, card) = rig
        .request("U0LEO", "reset mfa for <@U0BOB>", "1700008100.000100")
        .await;
    // Kate is not in Zoom Users.
    rig.click("U0KATE", "approve", &id, &card).await;
    rig.wait("Kate's refusal", || !rig.ephemerals_to("U0KATE").is_empty())
        .await;
    assert!(rig.ephemerals_to("U0KATE")[0].contains("You can't do that"));
    // Jamal is, with a confirmed email in Slack.
    rig.click("U0JAMAL", "approve", &id, &card).await;
    rig.until_mutations(1).await;
    let approved = approved_details(&rig).await;
    assert!(
        approved[0].contains("the approver is an IT admin: member of the Okta group Zoom Users"),
        "{approved:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_the_admins_and_the_rule_behind_each() {
    let rig = Rig::with_policy("admins = [\"U0LEO\", \"S0ITADMINS\", \"okta:Zoom Users\"]").await;
    rig.fake.set_usergroup("S0ITADMINS", &["U0GRACE"]);
    let check = |config: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_okta-agent"))
            .arg("check")
            .env_clear()
            .env("SLACK_APP_TOKEN", crate::common::fake_slack::APP_TOKEN)
            .env("SLACK_BOT_TOKEN", crate::common::fake_slack::BOT_TOKEN)
            .env("SLACK_API_URL", &rig.fake.api_url)
            .env("OKTA_ORG_URL", rig.harness.sandbox.url())
            .env("OKTA_CLIENT_ID", &rig.harness.client_id)
            .env("OKTA_PRIVATE_KEY_FILE", rig.dir.path().join("okta.pem"))
            .env("OKTA_AGENT_CONFIG", config)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let config = rig.dir.path().join("okta-agent.toml");
    let out = tokio::task::block_in_place(|| check(&config.display().to_string()));
    let line = out
        .lines()
        .find(|l| l.contains("Admins:"))
        .unwrap_or_else(|| panic!("no Admins line:\n{out}"));
    assert_eq!(
        line,
        "✓ Admins: 4 now: U0ANA (member of the Okta group Zoom Users), U0GRACE (member of the Slack user group S0ITADMINS), U0JAMAL (member of the Okta group Zoom Users), U0LEO (listed in policy.admins)"
    );
    // A group Slack does not know is named, with what to do.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("S0ITADMINS", "S0NOSUCH"),
    )
    .unwrap();
    let out = tokio::task::block_in_place(|| check(&config.display().to_string()));
    let line = out.lines().find(|l| l.contains("Admins:")).unwrap();
    assert!(
        line.starts_with("✗ Admins: could not read 1: member of the Slack user group S0NOSUCH"),
        "{line}"
    );
}
