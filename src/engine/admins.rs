//! Admins named by group in `[policy] admins`: Slack user groups (`usergroups.users.list`)
//! and Okta groups (members found in Slack by their confirmed email, as everywhere else).
//! They are re-read every `admins_refresh_seconds` and at once when Slack says a user group
//! changed; an approval is re-checked at the click against the latest reading, so someone
//! removed from a group loses approval rights within that interval. A group that cannot be
//! read keeps its last reading (a Slack or Okta hiccup must not strip every admin), and says so
//! in the log.

use std::collections::BTreeMap;

use tracing::{info, warn};

use super::Engine;
use crate::identity::Resolver;
use crate::okta::NamedGroup;
use crate::policy::{AdminGroup, PersonKind, Policy};

impl Engine {
    /// Reads the groups named in `[policy] admins` again and puts their members in force.
    pub async fn refresh_admins(&self) {
        if self.policy.admin_groups().is_empty() {
            return;
        }
        let before = self.policy.admins_now();
        let reading = read_group_admins(&self.policy, &self.resolver).await;
        let mut fresh = reading.admins;
        for (group, why) in &reading.unreadable {
            warn!(group = ?group, why, "could not read an admin group; its last reading stays in force");
            let rule = group.describe();
            for (id, kept) in before.iter().filter(|(_, r)| **r == rule) {
                fresh.entry(id.clone()).or_insert_with(|| kept.clone());
            }
        }
        let (added, removed) = self.policy.set_group_admins(fresh);
        if !added.is_empty() || !removed.is_empty() {
            info!(?added, ?removed, "admins named by group changed");
        }
    }
}

/// What the groups in `[policy] admins` hold now.
pub struct GroupAdminReading {
    /// Slack user id → the rule that makes them an admin.
    pub admins: BTreeMap<String, String>,
    /// Groups that could not be read, and why.
    pub unreadable: Vec<(AdminGroup, String)>,
}

/// Reads every group named in `[policy] admins` (for `run`, and for `check` to print).
pub async fn read_group_admins(policy: &Policy, resolver: &Resolver) -> GroupAdminReading {
    let mut reading = GroupAdminReading {
        admins: BTreeMap::new(),
        unreadable: Vec::new(),
    };
    for group in policy.admin_groups() {
        match members_of(resolver, &group).await {
            Ok(members) => {
                for id in members {
                    reading.admins.entry(id).or_insert_with(|| group.describe());
                }
            }
            Err(why) => reading.unreadable.push((group, why)),
        }
    }
    reading
}

/// The Slack members of one admin group: full members of this workspace only.
async fn members_of(resolver: &Resolver, group: &AdminGroup) -> Result<Vec<String>, String> {
    let directory = resolver.directory();
    match group {
        AdminGroup::Slack(id) => {
            let ids = directory
                .usergroup_members(id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "there is no Slack workspace to ask".to_string())?;
            let mut members = Vec::new();
            for id in ids {
                match directory.fresh(&id).await {
                    Ok(Some(person)) if person.kind == PersonKind::Member => {
                        members.push(person.id)
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(members)
        }
        AdminGroup::Okta(given) => {
            let okta = resolver.okta();
            let group_id = match okta.group_named(given).await.map_err(|e| e.to_string())? {
                NamedGroup::Found(id) => id,
                NamedGroup::NoSuchId => return Err(format!("Okta has no group with id {given}")),
                NamedGroup::NoneNamed => {
                    return Err(format!("no Okta group is named exactly '{given}'"))
                }
                NamedGroup::SeveralNamed => {
                    return Err(format!(
                        "several Okta groups are named '{given}'; give its 00g… id"
                    ))
                }
            };
            let users = okta
                .group_members(&group_id)
                .await
                .map_err(|e| e.to_string())?
                .value;
            let mut members = Vec::new();
            for user in users {
                let Some(email) = user.profile.email.as_deref() else {
                    continue;
                };
                match directory.by_email(email).await {
                    Ok(Some(person))
                        if person.kind == PersonKind::Member && person.email_confirmed =>
                    {
                        members.push(person.id)
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(members)
        }
    }
}
