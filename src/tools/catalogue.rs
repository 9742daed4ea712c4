//! The catalogue: every tool, declared once. A declaration holds
//! - `name`: the wire name (model, `tools/`, policy file, audit log);
//! - `verb`: the short phrase for cards and replies; `word`: the command engine's canonical verb;
//! - `for_me` (changes only): the self-service button's words;
//! - `description`: what the model reads; `risk` (changes only): write or destructive;
//! - `args`: the argument struct, from which the schema comes and into which calls decode;
//! - `scopes` and `permissions`: the OAuth scopes and custom-admin-role permissions it needs;
//! - `inverse`: the change that undoes it (Undo and time-bound access);
//! - `refuses`: the status gate, checked before a card is shown (`None` when it applies);
//! - `reached`: what reading the person back must show for the change to have taken effect;
//! - `execute`: the Okta calls, on the frozen ids;
//! - `command`: the canonical command, what "Did you mean: …?" offers.
//!
//! Adding an Okta action: a declaration here, the client method in `okta/client.rs` (when the
//! endpoint is new) and the simulator's handler in `sandbox/handlers.rs`.

use crate::okta::PasswordReset;
use crate::okta::UserStatus::{
    Active, Deprovisioned, LockedOut, PasswordExpired, Provisioned, Recovery, Staged, Suspended,
};
use crate::tools::{
    Answer, Done, FindGroupArgs, FindUserArgs, MembershipArgs, SearchHelpDocsArgs, UserArgs,
};

/// What every change to a person reads first: the person, their groups, their admin roles.
const CHANGE_USER: &[&str] = &[
    "okta.users.manage",
    "okta.users.read",
    "okta.groups.read",
    "okta.roles.read",
];
const CHANGE_MEMBERSHIP: &[&str] = &[
    "okta.groups.manage",
    "okta.users.read",
    "okta.groups.read",
    "okta.roles.read",
];

declare_tools! {
    reads {
        FindUser {
            name: "find_user",
            verb: "find user",
            description: "Search Okta users by name, email or login. Read-only.",
            args: FindUserArgs,
            scopes: &["okta.users.read"],
            answers: Answer::People,
            command: "find user {user}",
        }
        DiagnoseUser {
            name: "diagnose_user",
            verb: "diagnose sign-in",
            description: "Explain why a person may not be able to sign in: status, locked out or not, last login, password changed. Read-only.",
            args: UserArgs,
            scopes: &["okta.users.read"],
            answers: Answer::Diagnosis,
            command: "diagnose {user}",
        }
        ListUserApps {
            name: "list_user_apps",
            verb: "list apps",
            description: "List the apps assigned to a person. Read-only.",
            args: UserArgs,
            scopes: &["okta.users.read"],
            answers: Answer::Apps,
            command: "what apps does {user} have",
        }
        ListUserGroups {
            name: "list_user_groups",
            verb: "list groups",
            description: "List the Okta groups a person belongs to. Read-only.",
            args: UserArgs,
            scopes: &["okta.users.read", "okta.groups.read"],
            answers: Answer::Groups,
            command: "what groups is {user} in",
        }
        FindGroup {
            name: "find_group",
            verb: "find group",
            description: "Find an Okta group by name. Read-only.",
            args: FindGroupArgs,
            scopes: &["okta.groups.read"],
            answers: Answer::Group,
            command: "find group \"{group}\"",
        }
        SearchHelpDocs {
            name: "search_help_docs",
            verb: "search help docs",
            description: "Search the IT help documents for an answer to a question. Read-only.",
            args: SearchHelpDocsArgs,
            scopes: &[],
            answers: Answer::HelpDocs,
            command: "{user}",
        }
    }
    changes {
        ResetPassword {
            name: "reset_password",
            verb: "Reset password",
            for_me: "Reset my password",
            word: None,
            description: "Propose a password reset. Okta emails the person a reset link unless policy says otherwise. Needs approval.",
            risk: Write,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.credentials.resetPassword"],
            inverse: None,
            refuses: |seen| (!matches!(
                seen.status,
                Active | Provisioned | Recovery | PasswordExpired | LockedOut
            ))
            .then_some("Okta does not allow reset password for a user whose status is {status} ({who})."),
            reached: |seen| Some(seen.status == Recovery),
            execute: |change| {
                let reset = change.record(change.okta.reset_password(change.user, change.email_reset).await?);
                Ok(match reset {
                    PasswordReset::Emailed => Done::with_note(" Okta emailed them a reset link."),
                    PasswordReset::Link(link) => Done {
                        reset_link: Some(link),
                        note: " The one-time reset link went to the approver by direct message.",
                    },
                })
            },
            command: "reset password for {user}",
        }
        UnlockUser {
            name: "unlock_user",
            verb: "Unlock",
            for_me: "Unlock my account",
            word: Some("unlock"),
            description: "Propose unlocking a locked-out account. Needs approval.",
            risk: Write,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.lifecycle.unlock"],
            inverse: None,
            refuses: |seen| (seen.status != LockedOut)
                .then_some("{who} is {status}, not locked out: there is nothing to unlock."),
            reached: |seen| Some(seen.status != LockedOut),
            execute: |change| {
                change.record(change.okta.unlock(change.user).await?);
                Ok(Done::default())
            },
            command: "unlock {user}",
        }
        SuspendUser {
            name: "suspend_user",
            verb: "Suspend",
            for_me: "Suspend for me",
            word: Some("suspend"),
            description: "Propose suspending an account: the person cannot sign in until unsuspended. Needs approval.",
            risk: Destructive,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.lifecycle.suspend"],
            inverse: Some(Tool::UnsuspendUser),
            refuses: |seen| (seen.status != Active)
                .then_some("Okta does not allow suspend for a user whose status is {status} ({who})."),
            reached: |seen| Some(seen.status == Suspended),
            execute: |change| {
                change.record(change.okta.suspend(change.user).await?);
                Ok(Done::default())
            },
            command: "suspend {user}",
        }
        UnsuspendUser {
            name: "unsuspend_user",
            verb: "Unsuspend",
            for_me: "Unsuspend for me",
            word: Some("unsuspend"),
            description: "Propose unsuspending a suspended account. Needs approval.",
            risk: Write,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.lifecycle.unsuspend"],
            inverse: Some(Tool::SuspendUser),
            refuses: |seen| (seen.status != Suspended)
                .then_some("{who} is {status}, not suspended: there is nothing to unsuspend."),
            reached: |seen| Some(seen.status == Active),
            execute: |change| {
                change.record(change.okta.unsuspend(change.user).await?);
                Ok(Done::default())
            },
            command: "unsuspend {user}",
        }
        DeactivateUser {
            name: "deactivate_user",
            verb: "Deactivate",
            for_me: "Deactivate for me",
            word: Some("deactivate"),
            description: "Propose deactivating an account (offboarding). Destructive. Needs approval.",
            risk: Destructive,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.lifecycle.deactivate"],
            inverse: None,
            refuses: |seen| (seen.status == Deprovisioned).then_some("{who} is already deactivated."),
            reached: |seen| Some(seen.status == Deprovisioned),
            execute: |change| {
                change.record(change.okta.deactivate(change.user).await?);
                Ok(Done::default())
            },
            command: "deactivate {user}",
        }
        ReactivateUser {
            name: "reactivate_user",
            verb: "Reactivate",
            for_me: "Reactivate for me",
            word: Some("reactivate"),
            description: "Propose reactivating a deactivated account. Needs approval.",
            risk: Write,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.lifecycle.activate"],
            inverse: None,
            refuses: |seen| (!matches!(seen.status, Staged | Deprovisioned | Provisioned | Recovery))
                .then_some("Okta does not allow reactivate for a user whose status is {status} ({who})."),
            reached: |seen| Some(matches!(seen.status, Active | Provisioned | Recovery)),
            execute: |change| {
                change.record(change.okta.activate_or_reactivate(change.user).await?);
                Ok(Done::with_note(" Okta emailed them an activation link."))
            },
            command: "reactivate {user}",
        }
        AddUserToGroup {
            name: "add_user_to_group",
            verb: "Add to group",
            for_me: "Add to group for me",
            word: Some("add"),
            description: "Propose adding a person to an Okta group. Needs approval.",
            risk: Write,
            args: MembershipArgs,
            scopes: CHANGE_MEMBERSHIP,
            permissions: &["okta.groups.members.manage", "okta.users.groupMembership.manage"],
            inverse: Some(Tool::RemoveUserFromGroup),
            refuses: |seen| (seen.member == Some(true))
                .then_some("{who} is already in \"{group}\"; nothing to do."),
            reached: |seen| seen.member,
            execute: |change| {
                // Read by its frozen id: the type check (only OKTA_GROUP) needs it fresh.
                let group = change.record(change.okta.get_group(change.group_id()?).await?);
                change.record(change.okta.add_user_to_group(&group, change.user).await?);
                Ok(Done::default())
            },
            command: "add {user} to \"{group}\"",
        }
        RemoveUserFromGroup {
            name: "remove_user_from_group",
            verb: "Remove from group",
            for_me: "Remove from group for me",
            word: Some("remove"),
            description: "Propose removing a person from an Okta group. Needs approval.",
            risk: Destructive,
            args: MembershipArgs,
            scopes: CHANGE_MEMBERSHIP,
            permissions: &["okta.groups.members.manage", "okta.users.groupMembership.manage"],
            inverse: Some(Tool::AddUserToGroup),
            refuses: |seen| (seen.member == Some(false))
                .then_some("{who} is not in \"{group}\"; nothing to do."),
            reached: |seen| seen.member.map(|member| !member),
            execute: |change| {
                let group = change.record(change.okta.get_group(change.group_id()?).await?);
                change.record(change.okta.remove_user_from_group(&group, change.user).await?);
                Ok(Done::default())
            },
            command: "remove {user} from \"{group}\"",
        }
        ResetFactors {
            name: "reset_factors",
            verb: "Reset MFA factors",
            for_me: "Reset MFA factors for me",
            word: None,
            description: "Propose resetting all of a person's MFA factors so they enrol again. Needs approval.",
            risk: Destructive,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.credentials.resetFactors"],
            inverse: None,
            refuses: |seen| (seen.status == Deprovisioned)
                .then_some("Okta does not allow reset mfa factors for a user whose status is {status} ({who})."),
            // Factors are not read back: the status does not show them.
            reached: |_seen| None,
            execute: |change| {
                change.record(change.okta.reset_factors(change.user).await?);
                Ok(Done::default())
            },
            command: "reset mfa for {user}",
        }
        ClearSessions {
            name: "clear_sessions",
            verb: "Clear sessions",
            for_me: "Clear sessions for me",
            word: None,
            description: "Propose signing a person out of all Okta sessions. Needs approval.",
            risk: Write,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.lifecycle.clearSessions"],
            inverse: None,
            refuses: |_seen| None,
            // Sessions are not read back: the status does not show them.
            reached: |_seen| None,
            execute: |change| {
                change.record(change.okta.clear_sessions(change.user).await?);
                Ok(Done::default())
            },
            command: "clear sessions for {user}",
        }
        ExpirePassword {
            name: "expire_password",
            verb: "Expire password",
            for_me: "Expire password for me",
            word: Some("expire"),
            description: "Propose expiring a person's password so they must change it at next sign-in. Needs approval.",
            risk: Write,
            args: UserArgs,
            scopes: CHANGE_USER,
            permissions: &["okta.users.credentials.expirePassword"],
            inverse: None,
            refuses: |seen| (!matches!(seen.status, Active | PasswordExpired))
                .then_some("Okta does not allow expire password for a user whose status is {status} ({who})."),
            reached: |seen| Some(seen.status == PasswordExpired),
            execute: |change| {
                change.record(change.okta.expire_password(change.user).await?);
                Ok(Done::default())
            },
            command: "expire password for {user}",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::rules::{self, lexicon, Intent, Parsed};
    use crate::okta::UserStatus;
    use crate::tools::{Call, Observed, Risk, Subject, SubjectKind};

    /// Every part of the crate that knows a tool learns it from its declaration: the wire name
    /// (schemas, policy files, audit), the argument struct, the command engine's words, and the
    /// gate, read-back and inverse.
    #[test]
    fn every_part_comes_from_the_declarations() {
        for tool in Tool::ALL {
            let name = tool.name();
            // Policy files and audit records name tools exactly as declared.
            let parsed: Tool = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(parsed, tool);
            assert_eq!(Tool::from_name(name), Some(tool));
            // The model's schema is the declared struct's, and calls decode into it.
            let definition = tool.wire_definition();
            assert_eq!(definition["function"]["name"], name);
            let properties = definition["function"]["parameters"]["properties"]
                .as_object()
                .unwrap();
            let arguments: serde_json::Map<String, serde_json::Value> = properties
                .keys()
                .map(|key| (key.clone(), serde_json::json!("Zoom Users")))
                .collect();
            let call = tool
                .decode(&serde_json::Value::Object(arguments).to_string())
                .unwrap();
            assert_eq!(call.subject.kind(), tool.subject_kind(), "{name}");
            // A call of another kind is refused, never coerced.
            let other = match tool.subject_kind() {
                SubjectKind::User => Subject::Query("x".into()),
                SubjectKind::Query | SubjectKind::Group | SubjectKind::Membership => {
                    Subject::User("x".into())
                }
            };
            assert!(Call::new(tool, other).is_err(), "{name}");
            // The command engine reads the declared command back as this tool.
            if tool.answers() != Some(crate::tools::Answer::HelpDocs) {
                let text = rules::command(tool, "<@U0BOB>", Some("Zoom Users"));
                match rules::parse(&text) {
                    Parsed::Actions(actions) => {
                        assert_eq!(actions[0].intent, Intent::Tool(tool), "{text}")
                    }
                    other => panic!("{text}: {other:?}"),
                }
            }
            // A declared word is one of the command engine's canonical verbs.
            if let Some(word) = tool.word() {
                assert!(
                    lexicon::VERBS.iter().any(|entry| entry.canonical == word),
                    "{name}: {word}"
                );
            }
            // Reads change nothing, need no admin permission, and are never gated or undone.
            let any = Observed {
                status: UserStatus::Active,
                member: Some(true),
            };
            if tool.risk() == Risk::Read {
                assert!(tool.answers().is_some() && tool.permissions().is_empty());
                assert_eq!((tool.refusal(&any), tool.reached(&any)), (None, None));
                assert_eq!(tool.inverse(), None);
            } else {
                assert!(
                    tool.answers().is_none() && !tool.permissions().is_empty(),
                    "{name}"
                );
                assert!(tool.scopes().contains(&"okta.roles.read"), "{name}");
            }
            // An inverse undoes its tool, both ways.
            if let Some(inverse) = tool.inverse() {
                assert_eq!(inverse.inverse(), Some(tool), "{name}");
            }
        }
    }

    /// A gate refuses what Okta would refuse, and never a change that applies.
    #[test]
    fn gates_and_read_backs_agree() {
        use UserStatus::*;
        let statuses = [
            Staged,
            Provisioned,
            Active,
            Recovery,
            PasswordExpired,
            LockedOut,
            Suspended,
            Deprovisioned,
        ];
        for tool in Tool::ALL.into_iter().filter(|t| t.changes_okta()) {
            for status in statuses {
                for member in [None, Some(false), Some(true)] {
                    let seen = Observed { status, member };
                    // Where the gate lets a change through, the change is not already there
                    // (for those a read-back can show).
                    if tool.refusal(&seen).is_none()
                        && tool.subject_kind() == SubjectKind::Membership
                    {
                        assert_ne!(
                            tool.reached(&seen),
                            Some(true),
                            "{tool} {status} {member:?}"
                        );
                    }
                }
            }
        }
        let locked = Observed {
            status: LockedOut,
            member: None,
        };
        assert_eq!(Tool::UnlockUser.refusal(&locked), None);
        assert!(Tool::SuspendUser.refusal(&locked).is_some());
    }
}
