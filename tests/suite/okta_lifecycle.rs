//! Every lifecycle and membership call against the simulator, with its wrong-status errors,
//! and the read calls the agent's tools use.

use okta_agent::okta::types::Reactivation;
use okta_agent::okta::{GroupMatch, OktaError, PasswordReset, UserStatus};

use crate::common::Harness;

async fn status(h: &Harness, login: &str) -> UserStatus {
    h.client().get_user(login).await.unwrap().value.status
}

#[tokio::test]
async fn unlock_and_its_wrong_status_error() {
    let h = Harness::demo().await;
    let okta = h.client();
    let bob = okta.get_user("bob.smith@example.com").await.unwrap().value;
    assert_eq!(bob.status, UserStatus::LockedOut);
    let reply = okta.unlock(&bob.id).await.unwrap();
    assert!(reply.request_id.as_deref().is_some_and(|id| id.len() == 32));
    assert_eq!(
        status(&h, "bob.smith@example.com").await,
        UserStatus::Active
    );
    let err = okta.unlock(&bob.id).await.unwrap_err();
    assert!(
        matches!(err, OktaError::WrongStatus { ref code, .. } if code == "E0000032"),
        "{err}"
    );
    assert!(
        err.to_string().contains("The user is not locked out."),
        "{err}"
    );
    assert!(err.request_id().is_some());
}

#[tokio::test]
async fn unlock_restores_an_expired_password_state() {
    let h = Harness::demo().await;
    let okta = h.client();
    okta.unlock("kate.nguyen@example.com").await.unwrap();
    assert_eq!(
        status(&h, "kate.nguyen@example.com").await,
        UserStatus::PasswordExpired
    );
}

#[tokio::test]
async fn suspend_unsuspend_and_errors() {
    let h = Harness::demo().await;
    let okta = h.client();
    okta.suspend("ana.lopez@example.com").await.unwrap();
    assert_eq!(
        status(&h, "ana.lopez@example.com").await,
        UserStatus::Suspended
    );
    let err = okta.suspend("ana.lopez@example.com").await.unwrap_err();
    assert!(
        matches!(err, OktaError::WrongStatus { ref code, .. } if code == "E0000001"),
        "{err}"
    );
    okta.unsuspend("ana.lopez@example.com").await.unwrap();
    assert_eq!(
        status(&h, "ana.lopez@example.com").await,
        UserStatus::Active
    );
    let err = okta.unsuspend("ana.lopez@example.com").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Cannot unsuspend a user that is not suspended"),
        "{err}"
    );
}

#[tokio::test]
async fn deactivate_then_activate_or_reactivate() {
    let h = Harness::demo().await;
    let okta = h.client();
    let carol = okta.get_user("carol.chen@example.com").await.unwrap().value;
    okta.deactivate(&carol.id).await.unwrap();
    assert_eq!(
        status(&h, "carol.chen@example.com").await,
        UserStatus::Deprovisioned
    );
    assert!(
        okta.user_app_links(&carol.id)
            .await
            .unwrap()
            .value
            .is_empty(),
        "deactivation deprovisions apps"
    );
    let err = okta.deactivate(&carol.id).await.unwrap_err();
    assert!(
        matches!(err, OktaError::NotFound { .. }),
        "deactivating twice is a 404 in Okta: {err}"
    );
    let r = okta.activate_or_reactivate(&carol.id).await.unwrap();
    assert_eq!(r.value, Reactivation::Activated);
    assert_eq!(
        status(&h, "carol.chen@example.com").await,
        UserStatus::Active
    );

    let r = okta
        .activate_or_reactivate("frank.mueller@example.com")
        .await
        .unwrap();
    assert_eq!(r.value, Reactivation::ActivationResent);
    assert_eq!(
        status(&h, "frank.mueller@example.com").await,
        UserStatus::Provisioned
    );

    let err = okta
        .activate_or_reactivate("ana.lopez@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, OktaError::WrongStatus { .. }), "{err}");
    let mutations = h.mutations().await;
    assert_eq!(
        mutations.len(),
        3,
        "deactivate, activate, reactivate: {mutations:?}"
    );
}

#[tokio::test]
async fn reset_password_by_email_and_by_link() {
    let h = Harness::demo().await;
    let okta = h.client();
    let r = okta
        .reset_password("ana.lopez@example.com", true)
        .await
        .unwrap();
    assert!(matches!(r.value, PasswordReset::Emailed));
    assert_eq!(
        status(&h, "ana.lopez@example.com").await,
        UserStatus::Recovery
    );
    let r = okta
        .reset_password("maria.rossi@example.com", false)
        .await
        .unwrap();
    match r.value {
        PasswordReset::Link(url) => {
            assert!(url.expose().contains("/reset_password/"));
            assert_eq!(format!("{url:?}"), "[redacted]");
        }
        PasswordReset::Emailed => panic!("expected a link"),
    }
    let err = okta
        .reset_password("carol.chen@example.com", true)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OktaError::WrongStatus { ref code, .. } if code == "E0000017"),
        "{err}"
    );
}

#[tokio::test]
async fn expire_password_reset_factors_clear_sessions() {
    let h = Harness::demo().await;
    let okta = h.client();
    let user = okta
        .expire_password("ana.lopez@example.com")
        .await
        .unwrap()
        .value;
    assert_eq!(user.status, UserStatus::PasswordExpired);
    let err = okta
        .expire_password("carol.chen@example.com")
        .await
        .unwrap_err();
    assert!(
        matches!(err, OktaError::WrongStatus { ref code, .. } if code == "E0000038"),
        "{err}"
    );

    let ana = okta.get_user("ana.lopez@example.com").await.unwrap().value;
    assert_eq!(okta.user_factors(&ana.id).await.unwrap().value.len(), 1);
    okta.reset_factors(&ana.id).await.unwrap();
    assert!(okta.user_factors(&ana.id).await.unwrap().value.is_empty());
    let err = okta
        .reset_factors("dan.okafor@example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, OktaError::WrongStatus { .. }), "{err}");

    okta.clear_sessions(&ana.id).await.unwrap();
    let err = okta.clear_sessions("nobody@example.com").await.unwrap_err();
    assert!(matches!(err, OktaError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("nobody@example.com (User)"));
}

#[tokio::test]
async fn group_membership_and_lookup() {
    let h = Harness::demo().await;
    let okta = h.client();
    let GroupMatch::Found(zoom) = okta.find_group("zoom users").await.unwrap().value else {
        panic!("exact match wins")
    };
    let GroupMatch::Found(eng) = okta.find_group("Engineering").await.unwrap().value else {
        panic!("'Engineering' equals one group although 'Engineering Managers' also starts with it")
    };
    assert_eq!(eng.name(), "Engineering");
    assert!(
        matches!(okta.find_group("Eng").await.unwrap().value, GroupMatch::Ambiguous(ref g) if g.len() == 2)
    );
    assert!(matches!(
        okta.find_group("Nope").await.unwrap().value,
        GroupMatch::NotFound
    ));

    let maria = okta
        .get_user("maria.rossi@example.com")
        .await
        .unwrap()
        .value;
    okta.add_user_to_group(&zoom, &maria.id).await.unwrap();
    let groups = okta.user_groups(&maria.id).await.unwrap().value;
    assert!(groups.iter().any(|g| g.id == zoom.id));
    assert!(groups.iter().any(|g| g.name() == "Everyone"));
    let apps = okta.user_app_links(&maria.id).await.unwrap().value;
    assert!(
        apps.iter().any(|a| a.label == "Zoom"),
        "group-derived app appears: {apps:?}"
    );
    okta.remove_user_from_group(&zoom, &maria.id).await.unwrap();
    assert!(!okta
        .user_groups(&maria.id)
        .await
        .unwrap()
        .value
        .iter()
        .any(|g| g.id == zoom.id));

    // Non-OKTA_GROUP groups are refused before any request leaves.
    let GroupMatch::Found(ad) = okta.find_group("AD Finance").await.unwrap().value else {
        panic!()
    };
    let GroupMatch::Found(everyone) = okta.find_group("Everyone").await.unwrap().value else {
        panic!()
    };
    let before = h.requests().await.len();
    let err = okta.add_user_to_group(&ad, &maria.id).await.unwrap_err();
    assert!(err.to_string().contains("APP_GROUP"), "{err}");
    assert!(okta
        .remove_user_from_group(&everyone, &maria.id)
        .await
        .is_err());
    assert_eq!(h.requests().await.len(), before, "no request was sent");
    assert_eq!(h.mutations().await.len(), 2);
}

#[tokio::test]
async fn roles_and_search() {
    let h = Harness::demo().await;
    let okta = h.client();
    let grace = okta.get_user("grace.kim").await.unwrap().value;
    let roles = okta.user_roles(&grace.id).await.unwrap().value;
    assert_eq!(roles[0].role_type, "SUPER_ADMIN");
    assert!(okta
        .user_roles("ana.lopez@example.com")
        .await
        .unwrap()
        .value
        .is_empty());

    let found = okta
        .users_with_email("ANA.LOPEZ@example.com")
        .await
        .unwrap()
        .value;
    assert_eq!(found.len(), 1, "search values are case-insensitive");
    let marias = okta.find_users("Maria").await.unwrap().value;
    assert_eq!(marias.len(), 2);
    let quoted = okta.find_users("a\"b").await.unwrap().value;
    assert!(
        quoted.is_empty(),
        "a quote in the text is escaped, not an injection"
    );
}
