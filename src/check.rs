//! `okta-agent check`: one line per setup fact, ✓ or ✗, and what to do about each ✗. It proves
//! what the policy will need: that admin roles can be read (without them every change is
//! refused), which actions the granted scopes allow, and that the bot is in every channel it
//! is configured to work in.

use std::sync::Arc;

use crate::config::{OktaSettings, Settings};
use crate::okta::{ClientOptions, OktaClient};
use crate::tools::Tool;

/// One checked fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    pub ok: bool,
    pub label: String,
    pub detail: String,
}

impl CheckLine {
    fn pass(label: &str, detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            label: label.into(),
            detail: detail.into(),
        }
    }

    fn fail(label: &str, detail: impl Into<String>) -> Self {
        Self {
            ok: false,
            label: label.into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for CheckLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = if self.ok { '✓' } else { '✗' };
        write!(f, "{mark} {}: {}", self.label, self.detail)
    }
}

/// What each scope is needed for, for the ✗ line of a missing one.
fn scope_purpose(scope: &str) -> &'static str {
    match scope {
        "okta.users.read" => "finding users and diagnosing sign-in problems",
        "okta.users.manage" => {
            "unlock, reset password, suspend, deactivate and the other lifecycle actions"
        }
        "okta.groups.read" => "finding groups and listing a user's groups",
        "okta.groups.manage" => "adding and removing group members",
        "okta.roles.read" => "detecting admins, without which destructive actions are refused",
        "okta.apps.read" => "listing applications",
        "okta.logs.read" => "reading lockouts from the System Log",
        _ => "a configured action",
    }
}

/// Every check, in the order `okta-agent check` prints them.
pub async fn all(settings: &Settings) -> Vec<CheckLine> {
    let mut lines = vec![CheckLine::pass(
        "Config file",
        crate::config::describe_config(settings.config_file.as_deref(), &settings.config_origin),
    )];
    for (what, source) in &settings.secret_sources {
        lines.push(CheckLine::pass("Secret", format!("{what} from {source}")));
    }
    match &settings.okta {
        Some(okta) => lines.extend(okta_checks(okta, settings).await),
        None => lines.push(CheckLine::fail(
            "Okta org",
            "OKTA_ORG_URL (or [okta] org_url) is not set, so okta-agent would use its built-in demo org. Set it, with the client id and the private key, to check a real org",
        )),
    }
    lines.extend(policy_checks(settings).await);
    lines.extend(help_checks(settings).await);
    lines.extend(slack_checks(settings).await);
    lines
}

/// The change actions this configuration may ask Okta for: every one when the policy names
/// admins (they may ask for anything), else those the policy and the reaction rules name.
/// Each comes with where it is named, when it is.
fn configured_actions(settings: &Settings) -> Vec<(Tool, Option<String>)> {
    let mut named: Vec<(Tool, String)> = Vec::new();
    if let Some(config) = settings.policy.as_ref().and_then(|p| p.config()) {
        for (list, tools) in [
            ("self_service", &config.self_service),
            (
                "self_service_with_approval",
                &config.self_service_with_approval,
            ),
            ("two_person", &config.two_person),
        ] {
            named.extend(tools.iter().map(|t| (*t, format!("policy.{list}"))));
        }
    }
    for rule in &settings.automations.reactions {
        named.push((rule.tool, format!("the :{}: reaction rule", rule.emoji)));
    }
    let admins = settings
        .policy
        .as_ref()
        .and_then(|p| p.config())
        .is_some_and(|c| !c.admins.is_empty());
    Tool::ALL
        .into_iter()
        .filter(|tool| tool.changes_okta())
        .filter_map(|tool| {
            let where_named: Vec<&str> = named
                .iter()
                .filter(|(t, _)| *t == tool)
                .map(|(_, place)| place.as_str())
                .collect();
            let place = (!where_named.is_empty()).then(|| where_named.join(", "));
            (admins || place.is_some()).then_some((tool, place))
        })
        .collect()
}

/// Which configured actions the granted scopes allow, and which the policy names although the
/// scopes forbid them (✗: they would be refused every time).
fn action_lines(settings: &Settings, granted: &[String]) -> Vec<CheckLine> {
    let actions = configured_actions(settings);
    if actions.is_empty() {
        return vec![CheckLine::pass(
            "Actions",
            "none configured: no policy names an admin or an action, so okta-agent only reads",
        )];
    }
    let missing = |tool: Tool| -> Vec<&'static str> {
        tool.scopes()
            .iter()
            .copied()
            .filter(|scope| {
                !granted
                    .iter()
                    .any(|g| g == scope || manage_covers(g, scope))
            })
            .collect()
    };
    let allowed: Vec<&str> = actions
        .iter()
        .filter(|(tool, _)| missing(*tool).is_empty())
        .map(|(tool, _)| tool.name())
        .collect();
    let mut lines = Vec::new();
    let unnamed_forbidden: Vec<String> = actions
        .iter()
        .filter(|(tool, place)| place.is_none() && !missing(*tool).is_empty())
        .map(|(tool, _)| format!("{} (needs {})", tool.name(), missing(*tool).join(", ")))
        .collect();
    let mut detail = if allowed.is_empty() {
        "the granted scopes allow none of the configured actions".to_string()
    } else {
        format!(
            "the granted scopes allow {} of {}: {}",
            allowed.len(),
            actions.len(),
            allowed.join(", ")
        )
    };
    if !unnamed_forbidden.is_empty() {
        detail.push_str(&format!(
            "; an admin asking for these is refused: {}",
            unnamed_forbidden.join("; ")
        ));
    }
    lines.push(CheckLine {
        ok: !allowed.is_empty() || actions.iter().all(|(_, place)| place.is_none()),
        label: "Actions".into(),
        detail,
    });
    for (tool, place) in &actions {
        let gaps = missing(*tool);
        if let (Some(place), false) = (place, gaps.is_empty()) {
            lines.push(CheckLine::fail(
                "Actions",
                format!(
                    "{place} names {} but the scopes forbid it: {} not granted, so it would be refused every time. Grant it on the app's \"Okta API Scopes\" tab (and in OKTA_SCOPES), or take the action out",
                    tool.name(),
                    gaps.join(", ")
                ),
            ));
        }
    }
    lines
}

/// `okta.users.manage` grants reading users too; the same for groups.
fn manage_covers(granted: &str, needed: &str) -> bool {
    matches!(
        (granted, needed),
        ("okta.users.manage", "okta.users.read") | ("okta.groups.manage", "okta.groups.read")
    )
}

/// Reads one user's and one group's admin roles, as protection does before every change.
async fn roles_line(okta: &OktaClient, user: Option<&crate::okta::User>) -> CheckLine {
    let consequence = "every change to a person will be refused, because okta-agent cannot tell admins from others (protection fails closed). Grant the scope okta.roles.read, and give the app's admin role the permission okta.iam.read (docs/install.md)";
    let Some(user) = user else {
        return CheckLine::fail(
            "Admin roles",
            "no active user was found to read the roles of; check the read call above",
        );
    };
    let user_roles = match okta.user_roles(&user.id).await {
        Ok(reply) => reply.value,
        Err(e) => {
            return CheckLine::fail(
                "Admin roles",
                format!(
                    "cannot read {}'s admin roles ({e}): {consequence}",
                    user.profile.login
                ),
            )
        }
    };
    let group = match okta.user_groups(&user.id).await {
        Ok(reply) => reply.value.into_iter().next(),
        Err(e) => {
            return CheckLine::fail(
                "Admin roles",
                format!(
                    "cannot list {}'s groups ({e}): group protection needs them, so {consequence}",
                    user.profile.login
                ),
            )
        }
    };
    let Some(group) = group else {
        return CheckLine::fail(
            "Admin roles",
            format!(
                "{} is in no group, so a group's roles could not be read",
                user.profile.login
            ),
        );
    };
    match okta.group_roles(&group.id).await {
        Ok(reply) => CheckLine::pass(
            "Admin roles",
            format!(
                "read {}'s ({} role(s)) and group {}'s ({} role(s)): admins can be told apart and protected",
                user.profile.login,
                user_roles.len(),
                group.profile.name,
                reply.value.len()
            ),
        ),
        Err(e) => CheckLine::fail(
            "Admin roles",
            format!("cannot read group {}'s admin roles ({e}): {consequence}", group.profile.name),
        ),
    }
}

/// Runs the Okta checks: org URL, token, scopes, one read call, admin roles, the actions the
/// scopes allow, and the policy's protected groups matched to Okta group ids.
pub async fn okta_checks(settings: &OktaSettings, all: &Settings) -> Vec<CheckLine> {
    let policy = all.policy.as_ref();
    let mut lines = vec![
        CheckLine::pass("Okta org URL", settings.org_url.as_str()),
        proxy_line("Okta", settings.org_url.as_str()),
    ];
    let http = match crate::http::http_client(std::time::Duration::from_secs(10)) {
        Ok(http) => http,
        Err(e) => {
            lines.push(CheckLine::fail("HTTP client", e.to_string()));
            return lines;
        }
    };
    let tokens = match settings.token_source(http.clone()) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            lines.push(CheckLine::fail(
                "Okta org URL",
                format!("cannot build the token URL: {e}"),
            ));
            return lines;
        }
    };
    let token = match tokens.token().await {
        Ok(token) => {
            let kind = match token.kind {
                crate::okta::token::TokenKind::Bearer => "Bearer",
                crate::okta::token::TokenKind::Dpop => "DPoP-bound",
            };
            lines.push(CheckLine::pass(
                "access token",
                format!(
                    "{kind} token for client {} (key id {}, {:?})",
                    settings.client_id,
                    settings.signing_key.kid(),
                    settings.signing_key.algorithm()
                ),
            ));
            token
        }
        Err(e) => {
            lines.push(CheckLine::fail("access token", e.to_string()));
            return lines;
        }
    };
    let missing: Vec<&String> = settings
        .scopes
        .iter()
        .filter(|s| !token.granted_scopes.contains(s))
        .collect();
    if missing.is_empty() {
        lines.push(CheckLine::pass(
            "scopes",
            format!("all {} requested scopes granted", settings.scopes.len()),
        ));
    } else {
        for scope in missing {
            lines.push(CheckLine::fail(
                "scopes",
                format!("{scope} was requested but not granted; it is needed for {}. Grant it on the app's \"Okta API Scopes\" tab", scope_purpose(scope)),
            ));
        }
    }
    let okta = OktaClient::new(
        settings.org_url.clone(),
        http,
        tokens,
        ClientOptions::default(),
    );
    let someone = match okta.search_users("status eq \"ACTIVE\"").await {
        Ok(reply) => {
            lines.push(CheckLine::pass(
                "read call",
                format!(
                    "listed {} active users (request id {})",
                    reply.value.len(),
                    reply.request_id.as_deref().unwrap_or("none")
                ),
            ));
            reply.value.into_iter().next()
        }
        Err(e) => {
            lines.push(CheckLine::fail("read call", e.to_string()));
            None
        }
    };
    lines.push(roles_line(&okta, someone.as_ref()).await);
    if let Some(line) = system_log_line(&okta, &settings.scopes).await {
        lines.push(line);
    }
    lines.extend(action_lines(all, &token.granted_scopes));
    if let Some(policy) = policy.filter(|p| !p.protected_group_names().is_empty()) {
        let names = policy.protected_group_names().join(", ");
        lines.push(
            match crate::runtime::match_protected_groups(policy.clone(), &okta).await {
                Ok(_) => CheckLine::pass(
                    "Protected groups",
                    format!("{names}: each matched to exactly one Okta group, protected by its id"),
                ),
                Err(e) => CheckLine::fail("Protected groups", e.to_string()),
            },
        );
    }
    lines
}

/// Which database, whether it answers and at which schema (it changes nothing).
/// Whether the System Log can be read, when `okta.logs.read` is among the scopes (finding
/// lockouts before people ask needs it); nothing when it is not asked for.
async fn system_log_line(okta: &OktaClient, scopes: &[String]) -> Option<CheckLine> {
    if !scopes.iter().any(|s| s == "okta.logs.read") {
        return None;
    }
    let poll = crate::okta::LogPoll::Since {
        since: &crate::clock::format_iso(
            crate::clock::WallClock::now(&crate::clock::SystemWallClock) - 86_400,
        ),
        event_type: "user.account.lock",
    };
    Some(match okta.system_log(poll).await {
        Ok((page, next)) => CheckLine::pass(
            "System Log",
            format!(
                "readable: {} lockout(s) in the last day{}",
                page.value.len(),
                if next.is_some() {
                    ""
                } else {
                    " (Okta sent no link to poll next)"
                }
            ),
        ),
        Err(e) => CheckLine::fail("System Log", e.to_string()),
    })
}

async fn database_line(settings: &Settings) -> CheckLine {
    match crate::store::describe_database(&settings.database_or_default()).await {
        Ok(detail) => CheckLine::pass("Database", detail),
        Err(e) => CheckLine::fail("Database", e.to_string()),
    }
}

/// Where the audit key is, and whether it can be read (no network).
fn audit_key_line(settings: &Settings) -> CheckLine {
    use crate::config::AuditKeySource;
    let loaded = |keys: Result<crate::audit::AuditKeys, crate::audit::AuditError>| match keys {
        Ok(keys) => CheckLine::pass(
            "Audit key",
            format!(
                "{} key(s) from {}; new records are signed with {}",
                keys.ids().len(),
                keys.source,
                keys.current().id
            ),
        ),
        Err(e) => CheckLine::fail("Audit key", e.to_string()),
    };
    match &settings.audit_key {
        AuditKeySource::Env(key) => loaded(crate::audit::AuditKeys::parse(
            key.expose(),
            "OKTA_AGENT_AUDIT_KEY",
        )),
        AuditKeySource::File(path) => loaded(crate::audit::AuditKeys::load(path)),
        AuditKeySource::BesideDatabase => {
            match settings.database_or_default().kind() {
                Ok(crate::store::DatabaseKind::Postgres(shown)) => CheckLine::fail(
                    "Audit key",
                    format!("{shown} is PostgreSQL: set OKTA_AGENT_AUDIT_KEY_FILE to the key every replica shares"),
                ),
                Ok(crate::store::DatabaseKind::Sqlite(db)) => {
                    let path = crate::audit::default_key_path(&db);
                    if path.exists() {
                        loaded(crate::audit::AuditKeys::load(&path))
                    } else {
                        CheckLine::pass(
                            "Audit key",
                            format!("{} will be made on first start (mode 0600); to keep it away from whoever can write the database, make it elsewhere with `okta-agent keygen --audit-key FILE` and set OKTA_AGENT_AUDIT_KEY_FILE", path.display()),
                        )
                    }
                }
                Err(e) => CheckLine::fail("Audit key", e.to_string()),
            }
        }
    }
}

/// The policy, planner, help-docs and database lines (no network but the database).
pub async fn policy_checks(settings: &Settings) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    match settings.policy.as_ref().and_then(|p| p.config().map(|c| (p, c))) {
        None => lines.push(CheckLine::pass(
            "Policy",
            "none configured: read-only. Only read tools and help docs work; add a [policy] section naming admins to allow changes",
        )),
        Some((_, config)) if config.admins.is_empty() => lines.push(CheckLine::fail(
            "Policy",
            "[policy] names no admins, so nobody can approve admin actions; add Slack user ids to policy.admins",
        )),
        Some((policy, config)) => {
            let names = |tools: &[crate::tools::Tool]| {
                if tools.is_empty() {
                    "none".to_string()
                } else {
                    tools.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
                }
            };
            lines.push(CheckLine::pass(
                "Policy",
                format!(
                    "version {}; {} admin(s); self-service: {}; self-service with approval: {}; two-person: {}; Okta Verify push first: {}; protected groups: {}; reset links: {}; approvals expire after {} s",
                    policy.version(),
                    config.admins.len(),
                    names(&config.self_service),
                    names(&config.self_service_with_approval),
                    names(&config.two_person),
                    names(&config.verify_with_push),
                    if config.protected_groups.is_empty() { "none".into() } else { config.protected_groups.join(", ") },
                    match config.reset_password_delivery {
                        crate::policy::ResetDelivery::Email => "by Okta's email to the person",
                        crate::policy::ResetDelivery::DmApprover => "by DM to the approver",
                    },
                    config.approval_ttl_seconds,
                ),
            ));
        }
    }
    if let Some(llm) = &settings.llm {
        lines.push(proxy_line("the model", &llm.base_url));
    }
    lines.push(match &settings.llm {
        Some(llm) => CheckLine::pass(
            "Planner",
            format!("model {} at {}", llm.model, llm.base_url),
        ),
        None => CheckLine::pass("Planner", "built-in command engine (no OPENAI_* settings)"),
    });
    lines.push(audit_key_line(settings));
    lines.push(database_line(settings).await);
    if !settings.automations.reactions.is_empty() {
        let rules: Vec<String> = settings
            .automations
            .reactions
            .iter()
            .map(|r| {
                let mut rule = format!(
                    ":{}: → {} in {} ({}",
                    r.emoji,
                    r.tool,
                    r.channels.join(", "),
                    match r.mode {
                        crate::automations::ReactionMode::Confirm => "confirm",
                        crate::automations::ReactionMode::Immediate => "immediate",
                    }
                );
                if r.grace_seconds > 0 {
                    rule.push_str(&format!(", {} s to take it back", r.grace_seconds));
                }
                if r.reactors_required > 1 {
                    rule.push_str(&format!(", {} people", r.reactors_required));
                }
                rule.push(')');
                rule
            })
            .collect();
        lines.push(CheckLine::pass(
            "Automations",
            format!("{} reaction rule(s): {}", rules.len(), rules.join("; ")),
        ));
    }
    lines
}

/// The help-document lines: the intranet pages fetched now (into the cache), every document
/// read (a broken one named), and the embeddings endpoint asked for one vector.
pub async fn help_checks(settings: &Settings) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    let sources = &settings.knowledge.sources;
    if !sources.pages.is_empty() {
        match crate::http::http_client(std::time::Duration::from_secs(15)) {
            Ok(http) => {
                let (fetched, failures) = sources.refresh_pages(&http).await;
                if fetched > 0 {
                    lines.push(CheckLine::pass(
                        "Help pages",
                        format!("{fetched} page(s) fetched into the cache"),
                    ));
                }
                for failure in failures {
                    lines.push(CheckLine::fail("Help pages", failure));
                }
            }
            Err(e) => lines.push(CheckLine::fail("Help pages", e.to_string())),
        }
    }
    if !settings.knowledge.sources.is_empty() {
        match sources.load() {
            Ok((docs, problems)) => {
                lines.push(if docs.is_empty() {
                    CheckLine::fail(
                        "Help docs",
                        "no help documents were found; put .md, .txt or .html files in [knowledge] path",
                    )
                } else {
                    CheckLine::pass(
                        "Help docs",
                        format!("{} document(s), {} section(s)", docs.len(), docs.sections()),
                    )
                });
                for problem in problems {
                    lines.push(CheckLine::fail("Help docs", problem));
                }
            }
            Err(e) => lines.push(CheckLine::fail("Help docs", e.to_string())),
        }
    }
    if let Some(embeddings) = &settings.knowledge.embeddings {
        let probe = async {
            let embedder = crate::knowledge::semantic::OpenAiEmbedder::new(
                embeddings,
                std::time::Duration::from_secs(15),
            )?;
            crate::knowledge::semantic::Embedder::embed(&embedder, vec!["okta-agent check".into()])
                .await
        };
        lines.push(match probe.await {
            Ok(vectors) => CheckLine::pass(
                "Embeddings",
                format!(
                    "model {} at {} ({} dimensions)",
                    embeddings.model,
                    embeddings.base_url,
                    vectors.first().map_or(0, Vec::len)
                ),
            ),
            Err(e) => CheckLine::fail("Embeddings", e.to_string()),
        });
    }
    lines
}

/// The Slack lines: the bot token (`auth.test`) and its scopes, and the app token
/// (`apps.connections.open`).
pub async fn slack_checks(settings: &Settings) -> Vec<CheckLine> {
    let Some(slack) = &settings.slack else {
        return vec![CheckLine::fail(
            "Slack",
            "SLACK_APP_TOKEN and SLACK_BOT_TOKEN are not set, so `okta-agent run` cannot start (`chat` still works)",
        )];
    };
    let http = match crate::http::http_client(std::time::Duration::from_secs(10)) {
        Ok(http) => http,
        Err(e) => {
            return vec![CheckLine::fail(
                "Slack",
                format!("cannot build an HTTP client: {e}"),
            )]
        }
    };
    let mut lines = Vec::new();
    let bot =
        crate::slack::web::SlackWeb::new(http.clone(), &slack.api_url, slack.bot_token.clone());
    match bot.auth_test().await {
        Ok(info) => {
            lines.push(CheckLine::pass(
                "Slack bot token",
                format!("auth.test ok: bot user {} in workspace {}", info.user_id, info.team),
            ));
            lines.push(match info.scopes {
                Some(granted) => {
                    let missing: Vec<&str> = crate::slack::REQUIRED_BOT_SCOPES
                        .iter()
                        .copied()
                        .filter(|s| !granted.iter().any(|g| g == s))
                        .collect();
                    if missing.is_empty() {
                        CheckLine::pass("Slack scopes", format!("all {} required scopes granted", crate::slack::REQUIRED_BOT_SCOPES.len()))
                    } else {
                        CheckLine::fail(
                            "Slack scopes",
                            format!("missing {}: add them under OAuth & Permissions (or recreate the app from manifest.yml) and reinstall", missing.join(", ")),
                        )
                    }
                }
                None => CheckLine::fail("Slack scopes", "Slack did not report the token's scopes; check them under OAuth & Permissions"),
            });
        }
        Err(e) => lines.push(CheckLine::fail(
            "Slack bot token",
            format!("auth.test failed ({e}); copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions"),
        )),
    }
    lines.extend(channel_lines(&bot, settings).await);
    if let Some(line) = admins_line(settings, &bot, &http).await {
        lines.push(line);
    }
    let app = crate::slack::web::SlackWeb::new(http, &slack.api_url, slack.app_token.clone());
    lines.push(proxy_line("Slack Web API", &slack.api_url));
    match app.open_connection().await {
        Ok(url) => {
            lines.push(CheckLine::pass("Slack app token", "apps.connections.open ok: Socket Mode can connect"));
            lines.push(proxy_line("Slack Socket Mode", &url));
        }
        Err(e) => lines.push(CheckLine::fail(
            "Slack app token",
            format!("apps.connections.open failed ({e}); enable Socket Mode and create an app-level token with connections:write"),
        )),
    }
    lines
}

/// Who the admins are now, when `[policy] admins` names groups: each with the rule that
/// makes them one, read as `run` reads them.
async fn admins_line(
    settings: &Settings,
    bot: &crate::slack::web::SlackWeb,
    http: &reqwest::Client,
) -> Option<CheckLine> {
    let policy = settings.policy.as_ref()?;
    if policy.admin_groups().is_empty() {
        return None;
    }
    let okta = settings.okta.as_ref()?;
    let me = match bot.auth_test().await {
        Ok(me) => me,
        Err(e) => {
            return Some(CheckLine::fail(
                "Admins",
                format!("cannot read the admin groups without Slack ({e})"),
            ))
        }
    };
    let tokens = match okta.token_source(http.clone()) {
        Ok(tokens) => tokens,
        Err(e) => {
            return Some(CheckLine::fail(
                "Admins",
                format!("cannot read the admin groups without Okta ({e})"),
            ))
        }
    };
    let client = std::sync::Arc::new(OktaClient::new(
        okta.org_url.clone(),
        http.clone(),
        std::sync::Arc::new(tokens),
        crate::okta::ClientOptions::default(),
    ));
    let directory = std::sync::Arc::new(crate::slack::directory::SlackDirectory::new(
        bot.clone(),
        std::time::Duration::from_secs(60),
        crate::slack::directory::Workspace {
            team_id: me.team_id.clone(),
            enterprise_id: me.enterprise_id.clone(),
        },
    ));
    let resolver = crate::identity::Resolver::new(client, directory);
    let reading = crate::engine::read_group_admins(policy, &resolver).await;
    policy.set_group_admins(reading.admins);
    let admins: Vec<String> = policy
        .admins_now()
        .into_iter()
        .map(|(id, rule)| format!("{id} ({rule})"))
        .collect();
    Some(if reading.unreadable.is_empty() {
        CheckLine::pass(
            "Admins",
            format!("{} now: {}", admins.len(), admins.join(", ")),
        )
    } else {
        CheckLine::fail(
            "Admins",
            format!(
                "could not read {}: {}; add usergroups:read for Slack user groups, and check the Okta group's name",
                reading.unreadable.len(),
                reading
                    .unreadable
                    .iter()
                    .map(|(group, why)| format!("{} ({why})", group.describe()))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    })
}

/// Every channel okta-agent is configured to work in, with its roles: triage, help, and the
/// reaction rules'.
pub fn configured_channels(settings: &Settings) -> Vec<(String, Vec<String>)> {
    let mut channels: Vec<(String, Vec<String>)> = Vec::new();
    let mut add =
        |channel: &str, role: String| match channels.iter_mut().find(|(c, _)| c == channel) {
            Some((_, roles)) => {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
            None => channels.push((channel.to_string(), vec![role])),
        };
    if let Some(slack) = &settings.slack {
        for channel in &slack.triage_channels {
            add(channel, "triage".into());
        }
        for channel in &slack.help_channels {
            add(channel, "help".into());
        }
    }
    for rule in &settings.automations.reactions {
        for channel in &rule.channels {
            add(channel, format!(":{}: reactions", rule.emoji));
        }
    }
    channels
}

/// That the bot is a member of every configured channel (`conversations.info`), and how to
/// invite it where it is not: Slack delivers nothing from a channel the bot is not in.
async fn channel_lines(bot: &crate::slack::web::SlackWeb, settings: &Settings) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    for (channel, roles) in configured_channels(settings) {
        let roles = roles.join(", ");
        let label = format!("Slack channel {channel}");
        lines.push(match bot.conversation_info(&channel).await {
            Ok(info) if info["is_member"] == true => CheckLine::pass(
                &label,
                format!("#{} ({roles}): the bot is a member", info["name"].as_str().unwrap_or("?")),
            ),
            Ok(info) => CheckLine::fail(
                &label,
                format!(
                    "#{name} ({roles}): the bot is not a member, so it sees nothing there. In Slack, open #{name} and type /invite @okta-agent",
                    name = info["name"].as_str().unwrap_or("?")
                ),
            ),
            Err(crate::slack::web::SlackError::Api { error, .. }) if error == "channel_not_found" => CheckLine::fail(
                &label,
                format!("({roles}): Slack knows no channel {channel} the bot can see: a private channel it is not in, or a wrong id. Invite it there (/invite @okta-agent), or copy the id from the channel's details"),
            ),
            Err(e) => CheckLine::fail(&label, format!("({roles}): {e}")),
        });
    }
    lines
}

/// Which proxy an endpoint goes through (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`),
/// or that it goes direct.
pub fn proxy_line(name: &str, url: &str) -> CheckLine {
    let Ok(parsed) = url::Url::parse(url) else {
        return CheckLine::fail(
            &format!("Proxy for {name}"),
            format!("'{url}' is not a URL"),
        );
    };
    let host = parsed.host_str().unwrap_or_default();
    match crate::http::proxy_for(&parsed, &|var| std::env::var(var).ok()) {
        Some(proxy) => CheckLine::pass(
            &format!("Proxy for {name}"),
            format!(
                "{host} through {}{}",
                proxy.shown,
                if proxy.credentials.is_some() {
                    " (with credentials)"
                } else {
                    ""
                }
            ),
        ),
        None => CheckLine::pass(
            &format!("Proxy for {name}"),
            format!("{host} direct (no proxy applies)"),
        ),
    }
}
