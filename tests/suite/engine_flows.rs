//! Engine flows end to end over the simulator: self-service, two-person and triage notices,
//! undo, velocity limits, a missing roles scope, reset links by DM only, outcomes whose answer
//! never came, and restarts between claim and outcome.

use okta_agent::approvals::{Approvals, ProposalState};
use okta_agent::engine::{Choice, Output};
use okta_agent::policy::{Approvers, Policy, ResetDelivery};
use serde_json::json;

use crate::common::{card, final_state, text, update, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_service_unlock_and_admin_approved_password_reset() {
    let stack = Stack::new().await;
    let outputs = stack.ask("U0BOB", "I'm locked out").await;
    let unlock = card(&outputs).unwrap_or_else(|| panic!("{}", text(&outputs)));
    assert_eq!(unlock.approvers, Some(Approvers::RequesterOrAdmin));
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::TriageNotice { .. })),
        "bob can approve his own unlock"
    );
    let done = stack
        .click("U0BOB", &unlock.proposal_id, Choice::Approve)
        .await;
    assert_eq!(
        update(&done).unwrap().state,
        ProposalState::Executed,
        "{}",
        text(&done)
    );
    assert_eq!(stack.status_of("bob.smith@example.com").await, "ACTIVE");

    let outputs = stack.ask("U0BOB", "reset my password").await;
    let reset = card(&outputs).unwrap();
    assert_eq!(reset.approvers, Some(Approvers::AnyAdmin));
    assert!(outputs.iter().any(|o| matches!(o, Output::TriageNotice { proposal_id, .. } if *proposal_id == reset.proposal_id)));
    let refused = stack
        .click("U0BOB", &reset.proposal_id, Choice::Approve)
        .await;
    assert!(
        text(&refused).contains("it needs an IT admin"),
        "{}",
        text(&refused)
    );
    assert!(matches!(&refused[..], [Output::Ephemeral { to, .. }] if to == "U0BOB"));
    let done = stack
        .click("U0GRACE", &reset.proposal_id, Choice::Approve)
        .await;
    let outcome = update(&done).unwrap().outcome.unwrap();
    assert!(
        outcome.summary.contains("Okta emailed them a reset link"),
        "{}",
        outcome.summary
    );
    assert!(
        !done
            .iter()
            .any(|o| matches!(o, Output::DirectMessage { .. })),
        "email delivery sends nothing by DM"
    );

    let outputs = stack.ask("U0BOB", "unlock <@U0KATE>").await;
    assert!(
        text(&outputs).contains("I can only do that for your own account"),
        "{}",
        text(&outputs)
    );
    assert!(card(&outputs).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_links_go_only_to_the_approver_by_direct_message() {
    let mut config = Policy::demo().config().unwrap().clone();
    config.reset_password_delivery = ResetDelivery::DmApprover;
    let stack = Stack::with_policy(Policy::new(config).unwrap()).await;
    let id = stack.propose("U0LEO", "reset password for <@U0ANA>").await;
    let done = stack.click("U0GRACE", &id, Choice::Approve).await;
    let link = done
        .iter()
        .find_map(|o| match o {
            Output::DirectMessage { to, text } if to == "U0GRACE" => Some(text.expose().clone()),
            _ => None,
        })
        .expect("a DM to the approver");
    let url = link.split_whitespace().last().unwrap().to_string();
    assert!(url.contains("/reset_password/"), "{link}");
    // The link appears nowhere else: not in the card, replies, the log of proposals, or audit.
    assert!(!text(&done).contains(&url));
    for row in stack.engine().store().audit_rows().await.unwrap() {
        assert!(!row.record.contains(&url), "audit leaked the reset link");
    }
    let stored = Approvals::new(stack.engine().store())
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{stored:?}").contains(&url));
    assert!(
        format!("{:?}", done).contains("[redacted]"),
        "Debug of outputs redacts the DM"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_offers_the_inverse_as_a_new_proposal() {
    let stack = Stack::new().await;
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    let done = stack.click("U0LEO", &id, Choice::Approve).await;
    let updated = update(&done).unwrap();
    assert!(updated.undo_available);
    assert_eq!(stack.status_of("jamal.reed@example.com").await, "SUSPENDED");
    let undo = card(&stack.click("U0GRACE", &id, Choice::Undo).await).unwrap();
    assert_eq!(undo.tool.name(), "unsuspend_user");
    assert_eq!(undo.undo_of.as_deref(), Some(id.as_str()));
    assert_eq!(undo.requester, "U0GRACE");
    assert_eq!(
        stack.mutation_count().await,
        1,
        "an undo needs its own approval"
    );
    stack
        .click("U0LEO", &undo.proposal_id, Choice::Approve)
        .await;
    assert_eq!(stack.status_of("jamal.reed@example.com").await, "ACTIVE");

    let unlock = stack.propose("U0LEO", "unlock <@U0KATE>").await;
    let done = stack.click("U0LEO", &unlock, Choice::Approve).await;
    assert!(
        !update(&done).unwrap().undo_available,
        "unlock has no clean inverse"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn velocity_limits_per_target() {
    let stack = Stack::new().await;
    for _ in 0..3 {
        assert!(card(&stack.ask("U0LEO", "expire password for <@U0ANA>").await).is_some());
    }
    let outputs = stack.ask("U0LEO", "expire password for <@U0ANA>").await;
    assert!(
        text(&outputs).contains("3 changes proposed in the last hour"),
        "{}",
        text(&outputs)
    );
    stack.clock.advance(3_601);
    assert!(card(&stack.ask("U0LEO", "expire password for <@U0ANA>").await).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_roles_scope_every_change_is_refused() {
    let stack = Stack::new().await;
    let scopes = [
        "okta.users.read",
        "okta.users.manage",
        "okta.groups.read",
        "okta.groups.manage",
        "okta.apps.read",
    ];
    stack
        .harness
        .update_client(json!({ "scopes": scopes }))
        .await;
    stack.harness.revoke_tokens().await;
    let outputs = stack.ask("U0LEO", "suspend <@U0JAMAL>").await;
    assert!(
        text(&outputs).contains("grant the okta.roles.read scope"),
        "{}",
        text(&outputs)
    );
    // A reset or a group change on a possible admin is the classic help-desk takeover:
    // without the roles, nothing changes, not only the destructive actions.
    for request in [
        "unlock <@U0BOB>",
        "reset password for <@U0KATE>",
        "add <@U0KATE> to Zoom Users",
    ] {
        let outputs = stack.ask("U0LEO", request).await;
        assert!(card(&outputs).is_none(), "{request}: {}", text(&outputs));
        assert!(
            text(&outputs).contains("okta.roles.read"),
            "{}",
            text(&outputs)
        );
    }
    assert!(
        text(&stack.ask("U0LEO", "what apps does <@U0KATE> have?").await).contains("app"),
        "reads still work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_settled_by_reading_back_and_never_resent() {
    let stack = Stack::new().await;
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    stack
        .harness
        .inject(
            json!({"kind": "latency", "latency_ms": 3000, "path_contains": "/lifecycle/suspend"}),
        )
        .await;
    let done = stack.click("U0LEO", &id, Choice::Approve).await;
    let card = update(&done).unwrap();
    assert_eq!(card.state, ProposalState::Executed, "{}", text(&done));
    assert!(card
        .outcome
        .unwrap()
        .summary
        .contains("reading the user back shows it took effect"));
    let sent = stack
        .harness
        .requests()
        .await
        .iter()
        .filter(|r| r.path.contains("/lifecycle/suspend"))
        .count();
    assert_eq!(sent, 1, "never resent");
    assert_eq!(stack.mutation_count().await, 1);

    // Clearing sessions leaves nothing to read back: the outcome stays unknown and says so.
    let id = stack.propose("U0LEO", "clear sessions for <@U0ANA>").await;
    stack
        .harness
        .inject(json!({"kind": "latency", "latency_ms": 3000, "path_contains": "/sessions"}))
        .await;
    let done = stack.click("U0LEO", &id, Choice::Approve).await;
    let card = update(&done).unwrap();
    assert_eq!(card.state, ProposalState::Unknown, "{}", text(&done));
    assert!(card
        .outcome
        .unwrap()
        .summary
        .contains("check the user in Okta"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_refusals_are_reported_in_plain_words() {
    let stack = Stack::new().await;
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    // Someone suspends Jamal in the Okta console before the click.
    stack
        .harness
        .set_status("jamal.reed@example.com", "SUSPENDED")
        .await;
    let done = stack.click("U0LEO", &id, Choice::Approve).await;
    let card = update(&done).unwrap();
    assert_eq!(card.state, ProposalState::Failed);
    let summary = card.outcome.unwrap().summary;
    assert!(
        summary.contains("Suspend failed for Jamal Reed")
            && summary.contains("Cannot suspend a user that is not active"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_claim_and_outcome_is_reported_not_repeated() {
    let mut stack = Stack::new().await;
    let id = stack.propose("U0LEO", "suspend <@U0JAMAL>").await;
    // The process dies right after the claim, before Okta answers.
    Approvals::new(stack.engine().store())
        .claim(
            &id,
            "U0LEO",
            Policy::demo().version(),
            crate::common::T0 + 1,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stack.restart().await.unknown, 1);
    let stored = Approvals::new(stack.engine().store())
        .get(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, ProposalState::Unknown);
    assert!(text(&stack.click("U0GRACE", &id, Choice::Approve).await)
        .contains("already decided (unknown)"));
    assert_eq!(stack.mutation_count().await, 0);

    // A card made before a restart still works once after it.
    let id = stack.propose("U0LEO", "unlock <@U0KATE>").await;
    stack.restart().await;
    assert_eq!(
        update(&stack.click("U0GRACE", &id, Choice::Approve).await)
            .unwrap()
            .state,
        ProposalState::Executed
    );
    assert!(text(&stack.click("U0GRACE", &id, Choice::Approve).await)
        .contains("already decided (executed)"));
    assert_eq!(stack.mutation_count().await, 1);
}

/// A failure whose cause is known and safe to say is said, with when to try again for Okta's
/// rate limit; nothing changes in Okta in any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_failures_are_told_in_plain_words() {
    let stack = Stack::new().await;
    // Okta's rate limit, used up for two minutes: longer than the client waits.
    stack
        .harness
        .inject(json!({"kind": "rate_limit", "count": 50, "reset_in_secs": 120}))
        .await;
    let said = text(&stack.ask("U0LEO", "unlock <@U0BOB>").await);
    assert!(
        said.contains("Okta's rate limit for okta-agent is used up for the moment, so nothing was changed. Try again in about 1"),
        "{said}"
    );
    assert!(said.contains("s (after 14:0"), "{said}");
    assert!(!said.contains("Something went wrong"), "{said}");
    stack.harness.clear_faults().await;

    // Okta answering 503 to everything.
    stack
        .harness
        .inject(json!({"kind": "server_error", "status": 503, "count": 50}))
        .await;
    let said = text(&stack.ask("U0LEO", "unlock <@U0BOB>").await);
    assert!(
        said.contains("okta-agent cannot reach Okta right now (or Okta is having trouble), so nothing was changed"),
        "{said}"
    );
    stack.harness.clear_faults().await;

    // The app's key no longer registered: every token request is refused.
    stack
        .harness
        .sandbox
        .state
        .lock()
        .auth
        .client
        .as_mut()
        .unwrap()
        .jwks
        .clear();
    stack.harness.revoke_tokens().await;
    let said = text(&stack.ask("U0LEO", "unlock <@U0BOB>").await);
    assert!(
        said.contains("Okta refused okta-agent's credentials, so nothing was changed"),
        "{said}"
    );
    assert!(said.contains("(Reference "), "{said}");
    assert_eq!(stack.mutation_count().await, 0);
}

/// The admin role docs/install.md lists is what the actions need, and no more: each action,
/// run against a simulated app whose custom role holds the base permissions and that action's
/// own, executes; with the base permissions alone it fails as Okta fails it (403 E0000006),
/// and Okta is not changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_needs_exactly_its_documented_permission() {
    use okta_agent::tools::{Tool, BASE_PERMISSIONS};
    let cases: [(Tool, &str, &str); 11] = [
        (Tool::ResetPassword, "reset password for <@U0ANA>", "U0LEO"),
        (Tool::UnlockUser, "unlock <@U0BOB>", "U0LEO"),
        (Tool::SuspendUser, "suspend <@U0ANA>", "U0LEO"),
        (Tool::UnsuspendUser, "unsuspend <@U0CAROL>", "U0LEO"),
        (Tool::DeactivateUser, "deactivate <@U0JAMAL>", "U0GRACE"),
        (Tool::ReactivateUser, "reactivate <@U0DAN>", "U0LEO"),
        (Tool::AddUserToGroup, "add <@U0ANA> to Sales", "U0LEO"),
        (
            Tool::RemoveUserFromGroup,
            "remove <@U0ANA> from Zoom Users",
            "U0LEO",
        ),
        (Tool::ResetFactors, "reset mfa for <@U0ANA>", "U0GRACE"),
        (Tool::ClearSessions, "sign <@U0ANA> out everywhere", "U0LEO"),
        (
            Tool::ExpirePassword,
            "force a password change for <@U0ANA>",
            "U0LEO",
        ),
    ];
    for (tool, request, approver) in cases {
        let stack = Stack::new().await;
        let attempt = |permissions: Vec<&'static str>| {
            let stack = &stack;
            async move {
                stack
                    .harness
                    .update_client(json!({ "permissions": permissions }))
                    .await;
                let outputs = stack.ask("U0LEO", request).await;
                let card = crate::common::card(&outputs)
                    .unwrap_or_else(|| panic!("{request}: {}", text(&outputs)));
                assert_eq!(card.tool, tool, "{request}");
                update(
                    &stack
                        .click(approver, &card.proposal_id, Choice::Approve)
                        .await,
                )
                .unwrap()
            }
        };
        let refused = attempt(BASE_PERMISSIONS.to_vec()).await;
        assert_eq!(
            refused.state,
            ProposalState::Failed,
            "{request} without its permission"
        );
        assert!(
            refused.outcome.unwrap().summary.contains("not permitted"),
            "{request}"
        );
        assert_eq!(stack.mutation_count().await, 0, "{request}");
        let mut role = BASE_PERMISSIONS.to_vec();
        role.extend(tool.permissions());
        let done = attempt(role).await;
        assert_eq!(
            done.state,
            ProposalState::Executed,
            "{request} with {:?}: {:?}",
            tool.permissions(),
            done.outcome
        );
    }
}

/// The notice after a change goes to the person changed, found by their Okta email among the
/// workspace's confirmed members, and only under `notify_target`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_changed_is_noticed_only_under_notify_target() {
    let notice_to = |outputs: &[Output]| {
        outputs.iter().find_map(|o| match o {
            Output::Notice {
                to,
                requester,
                approver,
                text,
                ..
            } => Some((
                to.clone(),
                requester.clone(),
                approver.clone(),
                text.clone(),
            )),
            _ => None,
        })
    };
    let stack = Stack::new().await;
    let id = stack.propose("U0LEO", "unlock bob.smith@example.com").await;
    let outputs = stack.click("U0GRACE", &id, Choice::Approve).await;
    let (to, requester, approver, said) = notice_to(&outputs).expect("a notice");
    assert_eq!(
        (to.as_str(), requester.as_str(), approver.as_str()),
        ("U0BOB", "U0LEO", "U0GRACE")
    );
    assert!(said.contains("Unlock") && said.contains(&id), "{said}");
    // Nobody's name is inside the text: the front end mentions people from the fields.
    assert!(!said.contains("U0"), "{said}");

    let mut quiet = Policy::demo().config().unwrap().clone();
    quiet.notify_target = vec![];
    let stack = Stack::with_policy(Policy::new(quiet).unwrap()).await;
    let id = stack.propose("U0LEO", "unlock bob.smith@example.com").await;
    let outputs = stack.click("U0GRACE", &id, Choice::Approve).await;
    assert_eq!(final_state(&outputs), Some(ProposalState::Executed));
    assert!(notice_to(&outputs).is_none());
}
