//! The simulated org's data and Okta's user state machine, with the real error codes and bodies
//! (see `docs/okta-simulator.md` for the evidence behind each rule).

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::seed::Seed;
use crate::okta::{GroupType, UserStatus};

/// An Okta-shaped error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, summary: impl Into<String>) -> Self {
        Self {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    pub fn user_not_found(given: &str) -> Self {
        Self::new(
            404,
            "E0000007",
            format!("Not found: Resource not found: {given} (User)"),
        )
    }

    pub fn group_not_found(given: &str) -> Self {
        Self::new(
            404,
            "E0000007",
            format!("Not found: Resource not found: {given} (UserGroup)"),
        )
    }

    pub fn wrong_status() -> Self {
        Self::new(
            403,
            "E0000038",
            "This operation is not allowed in the user's current status.",
        )
    }

    pub fn body(&self) -> Value {
        json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": format!("oae{}", random_id(22)),
            "errorCauses": self.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct SimUser {
    pub id: String,
    pub status: UserStatus,
    pub login: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub created: String,
    pub activated: Option<String>,
    pub status_changed: String,
    pub last_login: Option<String>,
    pub last_updated: String,
    pub password_changed: Option<String>,
    pub password_expired: bool,
    /// Failed sign-ins since the last success or lockout.
    pub failed_sign_ins: u32,
    /// `profile.managerId`, when the profile has one.
    pub manager_id: Option<String>,
    pub factors: Vec<String>,
    pub roles: Vec<String>,
    pub apps: Vec<String>,
}

/// Failed sign-ins that lock an account, as the default password policy's lockout says.
pub const LOCKOUT_THRESHOLD: u32 = 10;

#[derive(Debug, Clone)]
pub struct SimGroup {
    pub id: String,
    pub group_type: GroupType,
    pub name: String,
    pub description: Option<String>,
    pub members: BTreeSet<String>,
    pub apps: Vec<String>,
    /// Admin roles assigned to the group (`GET /groups/{id}/roles`).
    pub roles: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SimApp {
    pub id: String,
    pub name: String,
    pub label: String,
}

/// The org: users, groups and apps, addressed with `base` (the org URL) in links.
#[derive(Debug, Clone)]
pub struct Org {
    pub base: String,
    pub users: Vec<SimUser>,
    pub groups: Vec<SimGroup>,
    pub apps: Vec<SimApp>,
    /// The System Log, oldest first: `LogEvent` objects as Okta writes them.
    pub log: Vec<Value>,
    /// Okta Verify push challenges, oldest first.
    pub pushes: Vec<Push>,
}

/// How long Okta keeps a push challenge open (`expiresAt`): five minutes.
pub const PUSH_LIFETIME_SECS: u64 = 300;

/// An Okta Verify push challenge sent to a user's phone.
#[derive(Debug, Clone)]
pub struct Push {
    pub transaction: String,
    pub user_id: String,
    pub factor_id: String,
    /// The number the person must tap, with number matching.
    pub correct_answer: Option<u8>,
    pub result: PushResult,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Where a push stands, as `factorResult` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushResult {
    Waiting,
    Success,
    Rejected,
    Timeout,
}

impl PushResult {
    pub fn as_str(self) -> &'static str {
        match self {
            PushResult::Waiting => "WAITING",
            PushResult::Success => "SUCCESS",
            PushResult::Rejected => "REJECTED",
            PushResult::Timeout => "TIMEOUT",
        }
    }
}

/// What a lifecycle call returns on success.
#[derive(Debug, PartialEq)]
pub enum Done {
    /// 200 with this JSON body.
    Json(Value),
    /// 204, no body.
    NoContent,
}

const SEED_TIME: &str = "2026-01-05T09:00:00.000Z";

impl Org {
    pub fn from_seed(seed: &Seed, base: &str) -> Self {
        let apps: Vec<SimApp> = seed
            .apps
            .iter()
            .map(|a| SimApp {
                id: stable_id("0oa", &a.name),
                name: a.name.clone(),
                label: a.label.clone(),
            })
            .collect();
        let mut groups: Vec<SimGroup> = seed
            .groups
            .iter()
            .map(|g| SimGroup {
                id: stable_id("00g", &g.name),
                group_type: serde_json::from_value(json!(g.group_type))
                    .unwrap_or(GroupType::Unknown),
                name: g.name.clone(),
                description: g.description.clone(),
                members: BTreeSet::new(),
                apps: g.apps.clone(),
                roles: g.roles.clone(),
            })
            .collect();
        let users: Vec<SimUser> = seed
            .users
            .iter()
            .map(|u| {
                let status = UserStatus::parse(&u.status).unwrap_or(UserStatus::Active);
                let id = stable_id("00u", &u.login.to_ascii_lowercase());
                for group in &mut groups {
                    if u.groups.contains(&group.name) || group.group_type == GroupType::BuiltIn {
                        group.members.insert(id.clone());
                    }
                }
                SimUser {
                    id,
                    status,
                    login: u.login.clone(),
                    email: u.email.clone().unwrap_or_else(|| u.login.clone()),
                    first_name: u.first_name.clone(),
                    last_name: u.last_name.clone(),
                    created: SEED_TIME.into(),
                    activated: (!matches!(status, UserStatus::Staged)).then(|| SEED_TIME.into()),
                    status_changed: SEED_TIME.into(),
                    last_login: u.last_login.clone(),
                    last_updated: SEED_TIME.into(),
                    password_changed: match status {
                        UserStatus::Staged | UserStatus::Provisioned => None,
                        _ => Some(
                            u.password_changed
                                .clone()
                                .unwrap_or_else(|| SEED_TIME.into()),
                        ),
                    },
                    password_expired: u.password_expired || status == UserStatus::PasswordExpired,
                    failed_sign_ins: 0,
                    manager_id: u.manager_id.clone(),
                    factors: u.factors.clone(),
                    roles: u.roles.clone(),
                    apps: u.apps.clone(),
                }
            })
            .collect();
        Self {
            base: base.trim_end_matches('/').to_string(),
            users,
            groups,
            apps,
            log: Vec::new(),
            pushes: Vec::new(),
        }
    }

    /// Adds an active user (as an admin creating one in the console would); a login already
    /// taken is Okta's E0000001.
    pub fn add_user(
        &mut self,
        login: &str,
        first_name: &str,
        last_name: &str,
        now: &str,
    ) -> Result<Value, ApiError> {
        if self
            .user_index(login)
            .is_ok_and(|i| self.users[i].login.eq_ignore_ascii_case(login))
        {
            return Err(ApiError::new(
                400,
                "E0000001",
                "Api validation failed: login: An object with this field already exists in the current organization",
            ));
        }
        let id = stable_id("00u", &login.to_ascii_lowercase());
        for group in &mut self.groups {
            if group.group_type == GroupType::BuiltIn {
                group.members.insert(id.clone());
            }
        }
        let user = SimUser {
            id,
            status: UserStatus::Active,
            login: login.to_string(),
            email: login.to_string(),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            created: now.to_string(),
            activated: Some(now.to_string()),
            status_changed: now.to_string(),
            last_login: None,
            last_updated: now.to_string(),
            password_changed: Some(now.to_string()),
            password_expired: false,
            failed_sign_ins: 0,
            manager_id: None,
            factors: Vec::new(),
            roles: Vec::new(),
            apps: Vec::new(),
        };
        let body = self.user_json(&user, true);
        self.users.push(user);
        Ok(body)
    }

    /// `count` failed sign-ins for user `i` from `ip` in `country`: at the org's lockout
    /// threshold an active account locks, and Okta's `user.account.lock` event is written.
    /// Returns the events written (none while under the threshold, or already locked).
    pub fn fail_sign_ins(
        &mut self,
        i: usize,
        count: u32,
        ip: &str,
        country: &str,
        published: &str,
    ) -> Vec<Value> {
        let mut events = Vec::new();
        for _ in 0..count {
            let user = &mut self.users[i];
            if user.status != crate::okta::UserStatus::Active {
                // Okta counts failures only against an account that may sign in.
                break;
            }
            user.failed_sign_ins += 1;
            if user.failed_sign_ins >= LOCKOUT_THRESHOLD {
                user.failed_sign_ins = 0;
                events.push(self.lock_out(i, ip, country, published));
            }
        }
        events
    }

    /// Locks user `i` out after failed sign-ins from `ip` in `country`, and writes the
    /// `user.account.lock` event Okta writes, in its shape.
    fn lock_out(&mut self, i: usize, ip: &str, country: &str, published: &str) -> Value {
        let user = &mut self.users[i];
        user.status = crate::okta::UserStatus::LockedOut;
        let name = format!("{} {}", user.first_name, user.last_name);
        let event = serde_json::json!({
            "uuid": uuid::Uuid::new_v4().to_string(),
            "published": published,
            "eventType": "user.account.lock",
            "version": "0",
            "severity": "WARN",
            "displayMessage": "Max sign in attempts exceeded",
            "legacyEventType": "core.user_auth.account_locked",
            "actor": {"id": user.id, "type": "User", "alternateId": user.login, "displayName": name},
            "client": {
                "userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X", "browser": "CHROME"},
                "zone": "null",
                "device": "Computer",
                "ipAddress": ip,
                "geographicalContext": {"country": country}
            },
            "outcome": {"result": "FAILURE", "reason": "LOCKED_OUT"},
            "target": [{"id": user.id, "type": "User", "alternateId": user.login, "displayName": name}],
            "transaction": {"type": "WEB", "id": uuid::Uuid::new_v4().simple().to_string()}
        });
        self.log.push(event.clone());
        event
    }

    // ----- lookup ----------------------------------------------------------------------

    /// By id, login (case-insensitive) or unambiguous login shortname, as Okta resolves `{id}`.
    pub fn user_index(&self, given: &str) -> Result<usize, ApiError> {
        if let Some(i) = self.users.iter().position(|u| u.id == given) {
            return Ok(i);
        }
        if let Some(i) = self
            .users
            .iter()
            .position(|u| u.login.eq_ignore_ascii_case(given))
        {
            return Ok(i);
        }
        let short: Vec<usize> = self
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u.login
                    .split('@')
                    .next()
                    .is_some_and(|s| s.eq_ignore_ascii_case(given))
            })
            .map(|(i, _)| i)
            .collect();
        match short.as_slice() {
            [one] => Ok(*one),
            _ => Err(ApiError::user_not_found(given)),
        }
    }

    pub fn group_index(&self, given: &str) -> Result<usize, ApiError> {
        self.groups
            .iter()
            .position(|g| g.id == given)
            .ok_or_else(|| ApiError::group_not_found(given))
    }

    // ----- JSON views ------------------------------------------------------------------

    fn link(&self, path: &str) -> Value {
        json!({"href": format!("{}{path}", self.base)})
    }

    fn post_link(&self, path: &str) -> Value {
        json!({"href": format!("{}{path}", self.base), "method": "POST"})
    }

    /// The user object; `full_links` for a single GET, `self` only in collections.
    pub fn user_json(&self, user: &SimUser, full_links: bool) -> Value {
        let me = format!("/api/v1/users/{}", user.id);
        let mut links = serde_json::Map::new();
        links.insert("self".into(), self.link(&me));
        if full_links {
            links.insert(
                "schema".into(),
                self.link("/api/v1/meta/schemas/user/oscdemo0000000000000"),
            );
            links.insert(
                "type".into(),
                self.link("/api/v1/meta/types/user/otydemo0000000000000"),
            );
            let lifecycle: &[(&str, &str)] = match user.status {
                UserStatus::Staged => {
                    &[("activate", "activate"), ("resetFactors", "reset_factors")]
                }
                UserStatus::Provisioned => &[
                    ("suspend", "suspend"),
                    ("resetPassword", "reset_password"),
                    ("reactivate", "reactivate"),
                    ("deactivate", "deactivate"),
                ],
                UserStatus::Active | UserStatus::PasswordExpired => &[
                    ("suspend", "suspend"),
                    ("resetPassword", "reset_password"),
                    ("expirePassword", "expire_password"),
                    ("resetFactors", "reset_factors"),
                    ("deactivate", "deactivate"),
                ],
                UserStatus::LockedOut => &[
                    ("unlock", "unlock"),
                    ("resetPassword", "reset_password"),
                    ("resetFactors", "reset_factors"),
                    ("deactivate", "deactivate"),
                ],
                UserStatus::Recovery => &[
                    ("resetPassword", "reset_password"),
                    ("reactivate", "reactivate"),
                    ("resetFactors", "reset_factors"),
                    ("deactivate", "deactivate"),
                ],
                UserStatus::Suspended => &[
                    ("unsuspend", "unsuspend"),
                    ("resetFactors", "reset_factors"),
                    ("deactivate", "deactivate"),
                ],
                UserStatus::Deprovisioned => &[("activate", "activate")],
                UserStatus::Unknown => &[],
            };
            for (rel, op) in lifecycle {
                links.insert(
                    (*rel).into(),
                    self.post_link(&format!("{me}/lifecycle/{op}")),
                );
            }
            if user.status == UserStatus::Deprovisioned {
                links.insert(
                    "delete".into(),
                    json!({"href": format!("{}{me}", self.base), "method": "DELETE"}),
                );
            }
        }
        let mut profile = json!({
            "firstName": user.first_name,
            "lastName": user.last_name,
            "mobilePhone": null,
            "secondEmail": null,
            "login": user.login,
            "email": user.email,
        });
        if let Some(manager) = &user.manager_id {
            profile["managerId"] = json!(manager);
        }
        json!({
            "id": user.id,
            "status": user.status.as_str(),
            "created": user.created,
            "activated": user.activated,
            "statusChanged": user.status_changed,
            "lastLogin": user.last_login,
            "lastUpdated": user.last_updated,
            "passwordChanged": user.password_changed,
            "type": {"id": "otydemo0000000000000"},
            "profile": profile,
            "credentials": {
                "password": {},
                "emails": [{"value": user.email, "status": "VERIFIED", "type": "PRIMARY"}],
                "provider": {"type": "OKTA", "name": "OKTA"},
            },
            "_links": Value::Object(links),
        })
    }

    pub fn group_json(&self, group: &SimGroup) -> Value {
        let me = format!("/api/v1/groups/{}", group.id);
        let (object_class, extra_links) = match group.group_type {
            GroupType::AppGroup => (
                "okta:windows_security_principal",
                json!({"source": self.link("/api/v1/apps/0oademoactivedirectory")}),
            ),
            _ => ("okta:user_group", json!({})),
        };
        let mut links = json!({
            "logo": [
                {"name": "medium", "href": format!("{}/assets/img/logos/groups/okta-medium.png", self.base), "type": "image/png"},
                {"name": "large", "href": format!("{}/assets/img/logos/groups/okta-large.png", self.base), "type": "image/png"}
            ],
            "users": self.link(&format!("{me}/users")),
            "apps": self.link(&format!("{me}/apps")),
        });
        if let (Value::Object(l), Value::Object(extra)) = (&mut links, extra_links) {
            l.extend(extra);
        }
        json!({
            "id": group.id,
            "created": SEED_TIME,
            "lastUpdated": SEED_TIME,
            "lastMembershipUpdated": SEED_TIME,
            "objectClass": [object_class],
            "type": serde_json::to_value(group.group_type).unwrap_or(Value::Null),
            "profile": {"name": group.name, "description": group.description},
            "_links": links,
        })
    }

    pub fn app_links_json(&self, user: &SimUser) -> Value {
        if user.status == UserStatus::Deprovisioned {
            // Deactivation deprovisions every assignment, group-derived ones included.
            return Value::Array(Vec::new());
        }
        let mut names: Vec<&String> = user.apps.iter().collect();
        for group in self.groups.iter().filter(|g| g.members.contains(&user.id)) {
            names.extend(group.apps.iter());
        }
        let mut seen = BTreeSet::new();
        let links: Vec<Value> = names
            .into_iter()
            .filter(|n| seen.insert((*n).clone()))
            .filter_map(|name| self.apps.iter().find(|a| &a.name == name))
            .enumerate()
            .map(|(i, app)| {
                json!({
                    "id": user.id,
                    "label": app.label,
                    "linkUrl": format!("{}/home/{}/{}/1", self.base, app.name, app.id),
                    "logoUrl": format!("{}/img/logos/{}.png", self.base, app.name),
                    "appName": app.name,
                    "appInstanceId": app.id,
                    "appAssignmentId": stable_id("0ua", &format!("{}{}", user.id, app.id)),
                    "credentialsSetup": false,
                    "hidden": false,
                    "sortOrder": i,
                })
            })
            .collect();
        Value::Array(links)
    }

    /// A user's roles: assigned directly (`USER`) and through groups (`GROUP`), as Okta lists
    /// them.
    pub fn roles_json(&self, user: &SimUser) -> Value {
        let direct = user.roles.iter().map(|role| {
            self.role_json(
                role,
                &format!("{}{role}", user.id),
                "USER",
                &format!("/api/v1/users/{}", user.id),
            )
        });
        let inherited = self
            .groups
            .iter()
            .filter(|g| g.members.contains(&user.id))
            .flat_map(|g| {
                g.roles.iter().map(move |role| {
                    self.role_json(
                        role,
                        &format!("{}{role}", g.id),
                        "GROUP",
                        &format!("/api/v1/groups/{}", g.id),
                    )
                })
            });
        Value::Array(direct.chain(inherited).collect())
    }

    /// A group's admin role assignments.
    pub fn group_roles_json(&self, group: &SimGroup) -> Value {
        Value::Array(
            group
                .roles
                .iter()
                .map(|role| {
                    self.role_json(
                        role,
                        &format!("{}{role}", group.id),
                        "GROUP",
                        &format!("/api/v1/groups/{}", group.id),
                    )
                })
                .collect(),
        )
    }

    fn role_json(&self, role: &str, seed: &str, assignment: &str, assignee: &str) -> Value {
        json!({
            "id": stable_id("ra1", seed),
            "label": role_label(role),
            "type": role,
            "status": "ACTIVE",
            "created": SEED_TIME,
            "lastUpdated": SEED_TIME,
            "assignmentType": assignment,
            "_links": {"assignee": self.link(assignee)},
        })
    }

    pub fn factors_json(&self, user: &SimUser) -> Value {
        Value::Array(
            user.factors
                .iter()
                .map(|factor| {
                    let provider = if factor == "webauthn" { "FIDO" } else { "OKTA" };
                    let id = Self::factor_id(user, factor);
                    let mut body = json!({
                        "id": id,
                        "factorType": factor,
                        "provider": provider,
                        "status": "ACTIVE",
                        "created": SEED_TIME,
                        "lastUpdated": SEED_TIME,
                        "_links": {
                            "self": {"href": format!("{}/api/v1/users/{}/factors/{id}", self.base, user.id)},
                            "user": {"href": format!("{}/api/v1/users/{}", self.base, user.id)}
                        }
                    });
                    if factor == "push" {
                        body["profile"] = json!({"credentialId": user.login, "deviceType": "SmartPhone_IPhone", "platform": "IOS", "name": "iPhone"});
                        body["_links"]["verify"] = json!({"href": format!("{}/api/v1/users/{}/factors/{id}/verify", self.base, user.id), "hints": {"allow": ["POST"]}});
                    }
                    body
                })
                .collect(),
        )
    }

    fn factor_id(user: &SimUser, factor: &str) -> String {
        stable_id("mfa", &format!("{}{factor}", user.id))
    }

    /// `POST /users/{id}/factors/{factorId}/verify` for an Okta Verify push: sends the
    /// challenge (with a number to tap when `number_matching`) and answers 201 WAITING with
    /// the transaction's `poll` and `cancel` links. Only an active push factor can be pushed;
    /// Okta refuses a push without the `User-Agent` it must show the person.
    pub fn verify_push(
        &mut self,
        given: &str,
        factor_id: &str,
        number_matching: bool,
        user_agent: Option<&str>,
        now: u64,
    ) -> Result<Value, ApiError> {
        let i = self.user_index(given)?;
        let user = &self.users[i];
        let is_push = user
            .factors
            .iter()
            .any(|f| f == "push" && Self::factor_id(user, f) == factor_id);
        if !is_push {
            return Err(ApiError::new(
                404,
                "E0000007",
                format!("Not found: Resource not found: {factor_id} (UserFactor)"),
            ));
        }
        if user_agent.is_none_or(|ua| ua.trim().is_empty()) {
            return Err(ApiError::new(
                400,
                "E0000001",
                "Api validation failed: User-Agent: the User-Agent header is required to verify a push factor",
            ));
        }
        let transaction = format!("v2mst.{}", uuid::Uuid::new_v4().simple());
        // Okta shows three numbers and asks for one; any two digits will do here.
        let correct_answer =
            number_matching.then(|| 10 + (uuid::Uuid::new_v4().as_u128() % 90) as u8);
        let push = Push {
            transaction,
            user_id: user.id.clone(),
            factor_id: factor_id.to_string(),
            correct_answer,
            result: PushResult::Waiting,
            expires_at: now + PUSH_LIFETIME_SECS,
        };
        let mut body = self.push_json(&push);
        // The challenge itself names no credential (Okta's example); its transaction does.
        if let Some(fields) = body.as_object_mut() {
            fields.remove("profile");
        }
        self.pushes.push(push);
        Ok(body)
    }

    /// `GET …/factors/{factorId}/transactions/{transactionId}`: the push's `factorResult`,
    /// TIMEOUT once `expiresAt` has passed unanswered.
    pub fn push_transaction(
        &mut self,
        given: &str,
        factor_id: &str,
        transaction: &str,
        now: u64,
    ) -> Result<Value, ApiError> {
        let i = self.user_index(given)?;
        let user_id = self.users[i].id.clone();
        let Some(push) = self.pushes.iter_mut().find(|p| {
            p.transaction == transaction && p.user_id == user_id && p.factor_id == factor_id
        }) else {
            return Err(ApiError::new(
                404,
                "E0000007",
                format!("Not found: Resource not found: {transaction} (FactorTransaction)"),
            ));
        };
        if push.result == PushResult::Waiting && now >= push.expires_at {
            push.result = PushResult::Timeout;
        }
        let push = push.clone();
        Ok(self.push_json(&push))
    }

    /// The person answers their newest waiting push: approve, reject, or let it time out.
    /// Returns the push as it now stands.
    pub fn answer_push(&mut self, given: &str, result: PushResult) -> Result<Push, ApiError> {
        let i = self.user_index(given)?;
        let user_id = self.users[i].id.clone();
        let Some(push) = self
            .pushes
            .iter_mut()
            .rev()
            .find(|p| p.user_id == user_id && p.result == PushResult::Waiting)
        else {
            return Err(ApiError::new(
                404,
                "E0000007",
                "no push is waiting for this user",
            ));
        };
        push.result = result;
        Ok(push.clone())
    }

    fn push_json(&self, push: &Push) -> Value {
        let factor = format!(
            "{}/api/v1/users/{}/factors/{}",
            self.base, push.user_id, push.factor_id
        );
        let transaction = format!("{factor}/transactions/{}", push.transaction);
        let login = self
            .users
            .iter()
            .find(|u| u.id == push.user_id)
            .map(|u| u.login.clone())
            .unwrap_or_default();
        match push.result {
            PushResult::Waiting => {
                let mut body = json!({
                    "expiresAt": crate::clock::format_iso(i64::try_from(push.expires_at).unwrap_or(0)),
                    "factorResult": "WAITING",
                    "profile": {"credentialId": login},
                    "_links": {
                        "poll": {"href": transaction, "hints": {"allow": ["GET"]}},
                        "cancel": {"href": transaction, "hints": {"allow": ["DELETE"]}}
                    }
                });
                if let Some(answer) = push.correct_answer {
                    body["_embedded"] = json!({"challenge": {"correctAnswer": answer}});
                }
                body
            }
            PushResult::Success => json!({"factorResult": "SUCCESS"}),
            result => json!({
                "factorResult": result.as_str(),
                "profile": {"credentialId": login},
                "_links": {
                    "verify": {"href": format!("{factor}/verify"), "hints": {"allow": ["POST"]}},
                    "factor": {"href": factor, "hints": {"allow": ["GET", "DELETE"]}}
                }
            }),
        }
    }

    // ----- lifecycle -------------------------------------------------------------------

    /// Runs `lifecycle/<operation>` with Okta's status rules. `send_email` is the query flag.
    pub fn lifecycle(
        &mut self,
        given: &str,
        operation: &str,
        send_email: Option<bool>,
        now: &str,
    ) -> Result<Done, ApiError> {
        let i = self.user_index(given)?;
        let base = self.base.clone();
        let user = &mut self.users[i];
        use UserStatus::*;
        let status = user.status;
        let back_to_active = |u: &SimUser| {
            if u.password_expired {
                PasswordExpired
            } else {
                Active
            }
        };
        let (next, body) = match operation {
            "unlock" => match status {
                LockedOut => (back_to_active(user), json!({})),
                _ => {
                    return Err(ApiError::new(
                        403,
                        "E0000032",
                        "Unlock is not allowed for this user.",
                    )
                    .with_cause("The user is not locked out."))
                }
            },
            "suspend" => match status {
                Active => (Suspended, json!({})),
                _ => {
                    return Err(ApiError::new(
                        400,
                        "E0000001",
                        "Api validation failed: suspendUser",
                    )
                    .with_cause("Cannot suspend a user that is not active"))
                }
            },
            "unsuspend" => match status {
                Suspended => (back_to_active(user), json!({})),
                _ => {
                    return Err(ApiError::new(
                        400,
                        "E0000001",
                        "Api validation failed: unsuspendUser",
                    )
                    .with_cause("Cannot unsuspend a user that is not suspended"))
                }
            },
            "deactivate" => match status {
                Deprovisioned => return Err(ApiError::user_not_found(given)),
                _ => (Deprovisioned, json!({})),
            },
            "reset_password" => {
                let Some(send_email) = send_email else {
                    return Err(ApiError::new(
                        400,
                        "E0000028",
                        "The request is missing a required parameter.",
                    )
                    .with_cause("sendEmail: The field cannot be left blank"));
                };
                match status {
                    Active | Provisioned | Recovery | PasswordExpired | LockedOut => {
                        let body = if send_email {
                            json!({})
                        } else {
                            json!({"resetPasswordUrl": format!("{base}/reset_password/{}", random_id(20))})
                        };
                        (Recovery, body)
                    }
                    _ => {
                        return Err(ApiError::new(403, "E0000017", "Password reset failed")
                            .with_cause(
                                "Password reset is not allowed in the user's current status",
                            ))
                    }
                }
            }
            "expire_password" => match status {
                Active | PasswordExpired => {
                    user.password_expired = true;
                    (PasswordExpired, Value::Null)
                }
                _ => return Err(ApiError::wrong_status()),
            },
            "reset_factors" => match status {
                Deprovisioned => return Err(ApiError::wrong_status()),
                _ => {
                    user.factors.clear();
                    (status, json!({}))
                }
            },
            "activate" => match status {
                Staged | Deprovisioned => {
                    let next = if user.password_changed.is_some() {
                        Active
                    } else {
                        Provisioned
                    };
                    user.activated = Some(now.to_string());
                    (next, activation_body(&base, send_email.unwrap_or(true)))
                }
                _ => {
                    return Err(ApiError::new(
                        403,
                        "E0000016",
                        "Activation failed because the user is already active",
                    ))
                }
            },
            "reactivate" => match status {
                Provisioned | Recovery => {
                    (status, activation_body(&base, send_email.unwrap_or(false)))
                }
                _ => return Err(ApiError::wrong_status()),
            },
            _ => {
                return Err(ApiError::new(
                    404,
                    "E0000022",
                    "The endpoint does not support the provided HTTP method",
                ))
            }
        };
        if next != status {
            user.status = next;
            user.status_changed = now.to_string();
        }
        if matches!(operation, "unlock" | "unsuspend") && next == Active {
            user.password_expired = false;
        }
        if operation == "unlock" {
            user.failed_sign_ins = 0;
        }
        user.last_updated = now.to_string();
        if operation == "deactivate" {
            // Deactivation deprovisions app assignments; group memberships are kept.
            user.apps.clear();
        }
        let body = if body.is_null() {
            let snapshot = self.users[i].clone();
            self.user_json(&snapshot, true)
        } else {
            body
        };
        Ok(Done::Json(body))
    }

    pub fn clear_sessions(&mut self, given: &str) -> Result<Done, ApiError> {
        self.user_index(given)?;
        Ok(Done::NoContent)
    }

    /// PUT (`add`) or DELETE a group membership; only OKTA_GROUP memberships can change.
    pub fn change_membership(
        &mut self,
        group_id: &str,
        user_given: &str,
        add: bool,
    ) -> Result<Done, ApiError> {
        let g = self.group_index(group_id)?;
        let u = self.user_index(user_given)?;
        if self.groups[g].group_type != GroupType::OktaGroup {
            return Err(ApiError::new(
                403,
                "E0000006",
                "You do not have permission to perform the requested action",
            ));
        }
        let user_id = self.users[u].id.clone();
        if add {
            self.groups[g].members.insert(user_id);
        } else {
            self.groups[g].members.remove(&user_id);
        }
        Ok(Done::NoContent)
    }
}

fn activation_body(base: &str, send_email: bool) -> Value {
    if send_email {
        json!({})
    } else {
        let token = random_id(20);
        json!({"activationUrl": format!("{base}/welcome/{token}"), "activationToken": token})
    }
}

fn role_label(role: &str) -> String {
    match role {
        "SUPER_ADMIN" => "Super Administrator".into(),
        "ORG_ADMIN" => "Organizational Administrator".into(),
        "HELP_DESK_ADMIN" => "Help Desk Administrator".into(),
        "USER_ADMIN" => "Group Administrator".into(),
        "APP_ADMIN" => "Application Administrator".into(),
        "READ_ONLY_ADMIN" => "Read-only Administrator".into(),
        other => other.to_string(),
    }
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A 20-character Okta-style id (`00u…`, `00g…`) derived from a name, stable across runs.
pub fn stable_id(prefix: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{prefix}:{name}").as_bytes());
    let tail: String = digest
        .iter()
        .take(20 - prefix.len())
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// A random URL-safe token of `len` characters.
pub fn random_id(len: usize) -> String {
    (0..len)
        .map(|_| ALPHABET[rand::random::<u8>() as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Org {
        Org::from_seed(&Seed::demo().unwrap(), "http://127.0.0.1:1")
    }

    const NOW: &str = "2026-11-28T00:00:00.000Z";

    #[test]
    fn ids_look_like_okta_ids() {
        let o = org();
        assert!(o
            .users
            .iter()
            .all(|u| u.id.len() == 20 && u.id.starts_with("00u")));
        assert!(o
            .groups
            .iter()
            .all(|g| g.id.len() == 20 && g.id.starts_with("00g")));
    }

    #[test]
    fn unlock_returns_expired_password_users_to_password_expired() {
        let mut o = org();
        o.lifecycle("kate.nguyen@example.com", "unlock", None, NOW)
            .unwrap();
        let i = o.user_index("kate.nguyen@example.com").unwrap();
        assert_eq!(o.users[i].status, UserStatus::PasswordExpired);
        let err = o
            .lifecycle("kate.nguyen@example.com", "unlock", None, NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (403, "E0000032"));
    }

    #[test]
    fn wrong_status_errors_match_recordings() {
        let mut o = org();
        let e = o
            .lifecycle("carol.chen@example.com", "suspend", None, NOW)
            .unwrap_err();
        assert_eq!(
            (e.status, e.code, e.summary.as_str()),
            (400, "E0000001", "Api validation failed: suspendUser")
        );
        let e = o
            .lifecycle("ana.lopez@example.com", "reactivate", None, NOW)
            .unwrap_err();
        assert_eq!((e.status, e.code), (403, "E0000038"));
        let e = o
            .lifecycle("dan.okafor@example.com", "deactivate", None, NOW)
            .unwrap_err();
        assert_eq!((e.status, e.code), (404, "E0000007"));
        let e = o
            .lifecycle("ana.lopez@example.com", "activate", None, NOW)
            .unwrap_err();
        assert_eq!((e.status, e.code), (403, "E0000016"));
    }

    #[test]
    fn shortname_must_be_unambiguous() {
        let o = org();
        assert!(o.user_index("ana.lopez").is_ok());
        assert!(o.user_index("nobody").is_err());
    }

    #[test]
    fn app_group_membership_is_protected() {
        let mut o = org();
        let ad = o
            .groups
            .iter()
            .find(|g| g.name == "AD Finance")
            .unwrap()
            .id
            .clone();
        let e = o
            .change_membership(&ad, "ana.lopez@example.com", true)
            .unwrap_err();
        assert_eq!((e.status, e.code), (403, "E0000006"));
    }
}
