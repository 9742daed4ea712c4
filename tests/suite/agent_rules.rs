//! The command engine's phrasebook: at least 60 phrasings, each with the tool and target it must
//! produce. Targets are what the text names; resolution to Okta happens later.

use okta_agent::agent::rules::{parse, Parsed, Target};
use okta_agent::tools::Tool;

/// (text, tool, user target ("me" = the requester), group)
const PHRASES: &[(&str, Tool, &str, Option<&str>)] = &[
    // reset password
    (
        "reset password for <@U0BOB>",
        Tool::ResetPassword,
        "<@U0BOB>",
        None,
    ),
    (
        "please reset the password for bob.smith@example.com",
        Tool::ResetPassword,
        "bob.smith@example.com",
        None,
    ),
    (
        "can you reset <@U0BOB>'s password?",
        Tool::ResetPassword,
        "<@U0BOB>",
        None,
    ),
    ("password reset for bob", Tool::ResetPassword, "bob", None),
    (
        "send a password reset link to <@U0ANA>",
        Tool::ResetPassword,
        "<@U0ANA>",
        None,
    ),
    (
        "bob.smith forgot his password",
        Tool::ResetPassword,
        "bob.smith",
        None,
    ),
    ("I forgot my password", Tool::ResetPassword, "me", None),
    ("reset my password please", Tool::ResetPassword, "me", None),
    (
        "reset pw for <@U0KATE>",
        Tool::ResetPassword,
        "<@U0KATE>",
        None,
    ),
    // unlock
    (
        "unlock account for <@U0BOB>",
        Tool::UnlockUser,
        "<@U0BOB>",
        None,
    ),
    ("unlock <@U0BOB>", Tool::UnlockUser, "<@U0BOB>", None),
    (
        "Unlock bob.smith@example.com",
        Tool::UnlockUser,
        "bob.smith@example.com",
        None,
    ),
    ("could you unlock kate?", Tool::UnlockUser, "kate", None),
    (
        "pls unlock the account of <@U0KATE> asap",
        Tool::UnlockUser,
        "<@U0KATE>",
        None,
    ),
    ("unlock me", Tool::UnlockUser, "me", None),
    ("I'm locked out", Tool::UnlockUser, "me", None),
    (
        "i am locked out of my account",
        Tool::UnlockUser,
        "me",
        None,
    ),
    (
        "unlock 00u1bobsmithexample0",
        Tool::UnlockUser,
        "00u1bobsmithexample0",
        None,
    ),
    // suspend / unsuspend
    ("suspend <@U0JAMAL>", Tool::SuspendUser, "<@U0JAMAL>", None),
    (
        "please suspend jamal.reed@example.com immediately",
        Tool::SuspendUser,
        "jamal.reed@example.com",
        None,
    ),
    (
        "freeze the account of <@U0JAMAL>",
        Tool::SuspendUser,
        "<@U0JAMAL>",
        None,
    ),
    ("disable jamal", Tool::SuspendUser, "jamal", None),
    (
        "unsuspend <@U0CAROL>",
        Tool::UnsuspendUser,
        "<@U0CAROL>",
        None,
    ),
    (
        "un-suspend carol.chen@example.com",
        Tool::UnsuspendUser,
        "carol.chen@example.com",
        None,
    ),
    (
        "restore <@U0CAROL>'s account",
        Tool::UnsuspendUser,
        "<@U0CAROL>",
        None,
    ),
    (
        "lift suspension for carol",
        Tool::UnsuspendUser,
        "carol",
        None,
    ),
    // deactivate / reactivate
    (
        "deactivate <@U0DAN>",
        Tool::DeactivateUser,
        "<@U0DAN>",
        None,
    ),
    (
        "offboard dan.okafor@example.com",
        Tool::DeactivateUser,
        "dan.okafor@example.com",
        None,
    ),
    (
        "please deactivate the account for dan",
        Tool::DeactivateUser,
        "dan",
        None,
    ),
    (
        "reactivate <@U0DAN>",
        Tool::ReactivateUser,
        "<@U0DAN>",
        None,
    ),
    (
        "re-activate dan.okafor@example.com",
        Tool::ReactivateUser,
        "dan.okafor@example.com",
        None,
    ),
    (
        "activate <@U0INES>",
        Tool::ReactivateUser,
        "<@U0INES>",
        None,
    ),
    // apps
    (
        "what apps does <@U0ANA> have",
        Tool::ListUserApps,
        "<@U0ANA>",
        None,
    ),
    (
        "list apps for <@U0ANA>",
        Tool::ListUserApps,
        "<@U0ANA>",
        None,
    ),
    (
        "which applications is ana.lopez@example.com assigned?",
        Tool::ListUserApps,
        "ana.lopez@example.com",
        None,
    ),
    ("show me ana's apps", Tool::ListUserApps, "ana", None),
    ("what apps do I have?", Tool::ListUserApps, "me", None),
    // groups
    (
        "add <@U0ANA> to Zoom group",
        Tool::AddUserToGroup,
        "<@U0ANA>",
        Some("Zoom"),
    ),
    (
        "add <@U0ANA> to the Zoom group",
        Tool::AddUserToGroup,
        "<@U0ANA>",
        Some("Zoom"),
    ),
    (
        "please add ana.lopez@example.com to Zoom Users",
        Tool::AddUserToGroup,
        "ana.lopez@example.com",
        Some("Zoom Users"),
    ),
    (
        "put <@U0BOB> in Engineering",
        Tool::AddUserToGroup,
        "<@U0BOB>",
        Some("Engineering"),
    ),
    (
        "give <@U0BOB> access to zoom",
        Tool::AddUserToGroup,
        "<@U0BOB>",
        Some("zoom"),
    ),
    (
        "add me to the Zoom group",
        Tool::AddUserToGroup,
        "me",
        Some("Zoom"),
    ),
    (
        "add bob to the Engineering Managers group please",
        Tool::AddUserToGroup,
        "bob",
        Some("Engineering Managers"),
    ),
    (
        "remove <@U0ANA> from the Engineering group",
        Tool::RemoveUserFromGroup,
        "<@U0ANA>",
        Some("Engineering"),
    ),
    (
        "remove ana.lopez@example.com from Sales",
        Tool::RemoveUserFromGroup,
        "ana.lopez@example.com",
        Some("Sales"),
    ),
    (
        "take <@U0BOB> out of Zoom Users",
        Tool::RemoveUserFromGroup,
        "<@U0BOB>",
        Some("Zoom Users"),
    ),
    (
        "kick bob from the zoom group",
        Tool::RemoveUserFromGroup,
        "bob",
        Some("zoom"),
    ),
    (
        "what groups is <@U0ANA> in?",
        Tool::ListUserGroups,
        "<@U0ANA>",
        None,
    ),
    (
        "list groups for ana.lopez@example.com",
        Tool::ListUserGroups,
        "ana.lopez@example.com",
        None,
    ),
    (
        "which groups does bob belong to",
        Tool::ListUserGroups,
        "bob",
        None,
    ),
    // MFA, sessions, password expiry
    (
        "reset mfa for <@U0KATE>",
        Tool::ResetFactors,
        "<@U0KATE>",
        None,
    ),
    (
        "reset 2FA for kate.nguyen@example.com",
        Tool::ResetFactors,
        "kate.nguyen@example.com",
        None,
    ),
    (
        "<@U0KATE> got a new phone, please reset her okta verify",
        Tool::ResetFactors,
        "<@U0KATE>",
        None,
    ),
    ("clear factors for kate", Tool::ResetFactors, "kate", None),
    ("reset my mfa", Tool::ResetFactors, "me", None),
    (
        "clear sessions for <@U0BOB>",
        Tool::ClearSessions,
        "<@U0BOB>",
        None,
    ),
    (
        "sign <@U0BOB> out everywhere",
        Tool::ClearSessions,
        "<@U0BOB>",
        None,
    ),
    (
        "log out bob.smith@example.com from all sessions",
        Tool::ClearSessions,
        "bob.smith@example.com",
        None,
    ),
    (
        "kill all sessions for jamal",
        Tool::ClearSessions,
        "jamal",
        None,
    ),
    (
        "expire password for <@U0ANA>",
        Tool::ExpirePassword,
        "<@U0ANA>",
        None,
    ),
    (
        "force a password change for ana.lopez@example.com",
        Tool::ExpirePassword,
        "ana.lopez@example.com",
        None,
    ),
    // diagnosis
    (
        "is <@U0BOB> locked out?",
        Tool::DiagnoseUser,
        "<@U0BOB>",
        None,
    ),
    (
        "is bob.smith@example.com locked out",
        Tool::DiagnoseUser,
        "bob.smith@example.com",
        None,
    ),
    (
        "why can't <@U0ERIN> log in?",
        Tool::DiagnoseUser,
        "<@U0ERIN>",
        None,
    ),
    ("why cant erin sign in", Tool::DiagnoseUser, "erin", None),
    (
        "<@U0ERIN> can't log in",
        Tool::DiagnoseUser,
        "<@U0ERIN>",
        None,
    ),
    (
        "erin.walsh@example.com is unable to login",
        Tool::DiagnoseUser,
        "erin.walsh@example.com",
        None,
    ),
    ("diagnose <@U0HIRO>", Tool::DiagnoseUser, "<@U0HIRO>", None),
    (
        "what's wrong with hiro's account?",
        Tool::DiagnoseUser,
        "hiro",
        None,
    ),
    (
        "check status of <@U0FRANK>",
        Tool::DiagnoseUser,
        "<@U0FRANK>",
        None,
    ),
    ("why can't I log in?", Tool::DiagnoseUser, "me", None),
    // lookups
    ("find user maria", Tool::FindUser, "maria", None),
    ("who is <@U0LEO>?", Tool::FindUser, "<@U0LEO>", None),
    (
        "look up maria.rossi@example.com",
        Tool::FindUser,
        "maria.rossi@example.com",
        None,
    ),
];

#[test]
fn every_phrasing_maps_to_its_tool_and_target() {
    assert!(
        PHRASES.len() >= 60,
        "the table must hold at least 60 phrasings"
    );
    let mut wrong = Vec::new();
    for (text, tool, user, group) in PHRASES {
        let expected_user = if *user == "me" {
            Target::Requester
        } else {
            Target::Named(user.to_string())
        };
        let expected = Parsed::Action {
            tool: *tool,
            user: Some(expected_user),
            group: group.map(str::to_string),
        };
        let got = parse(text);
        if got != expected {
            wrong.push(format!(
                "{text:?}\n    expected {expected:?}\n    got      {got:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} phrasings wrong:\n{}",
        wrong.len(),
        PHRASES.len(),
        wrong.join("\n")
    );
}

#[test]
fn missing_targets_and_groups_are_not_guessed() {
    assert_eq!(
        parse("unlock"),
        Parsed::Action {
            tool: Tool::UnlockUser,
            user: None,
            group: None
        }
    );
    assert_eq!(
        parse("add <@U0ANA> to"),
        Parsed::Action {
            tool: Tool::AddUserToGroup,
            user: Some(Target::Named("<@U0ANA>".into())),
            group: None
        }
    );
    assert_eq!(
        parse("find group engineering"),
        Parsed::Action {
            tool: Tool::FindGroup,
            user: None,
            group: Some("engineering".into())
        }
    );
    assert_eq!(parse("help"), Parsed::Help);
    assert_eq!(parse("how do I reset my password?"), Parsed::Unknown);
    assert_eq!(
        parse("what's the weather in Lisbon this weekend?"),
        Parsed::Unknown
    );
    assert_eq!(parse(""), Parsed::Unknown);
    // A channel broadcast is never a target.
    assert_eq!(
        parse("unlock <!channel>"),
        Parsed::Action {
            tool: Tool::UnlockUser,
            user: None,
            group: None
        }
    );
}
