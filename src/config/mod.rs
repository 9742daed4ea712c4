//! Settings from the environment and an optional TOML file. Environment variables override the
//! file, which overrides defaults. Every problem is reported at once, one line each, naming the
//! variable (or file key) and what to do; secrets never appear in `Debug` output.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

mod sources;

pub use sources::{
    choose_config, default_search, describe_config, read_env_file, ConfigOrigin, SecretSource,
    SecretSpec, CONFIG_SEARCH, SECRETS,
};

use crate::llm::ModelSettings;
use crate::okta::SigningKey;
use crate::policy::{Policy, PolicyConfig};
use crate::secret::Secret;
use sources::{locate, Located};

/// Scopes requested when `OKTA_SCOPES` is not set: everything okta-agent's tools use.
pub const DEFAULT_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.apps.read",
    "okta.roles.read",
];

/// All configuration problems found, one per line.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// How to reach a real Okta org. Absent when `OKTA_ORG_URL` is unset (the built-in demo org).
#[derive(Debug)]
pub struct OktaSettings {
    pub org_url: Url,
    pub client_id: String,
    pub signing_key: SigningKey,
    pub scopes: Vec<String>,
}

impl OktaSettings {
    /// The token source for this org, client, key and scopes.
    pub fn token_source(
        &self,
        http: reqwest::Client,
    ) -> Result<crate::okta::TokenSource, url::ParseError> {
        crate::okta::TokenSource::new(
            http,
            &self.org_url,
            self.client_id.clone(),
            self.signing_key.clone(),
            self.scopes.clone(),
        )
    }
}

#[derive(Debug)]
pub struct Settings {
    pub okta: Option<OktaSettings>,
    /// The OpenAI-compatible model; `None` means the built-in command engine.
    pub llm: Option<ModelSettings>,
    /// `[policy]`, checked; `None` when the file has none (reads only).
    pub policy: Option<Policy>,
    /// `[knowledge]`: where help documents come from, and how often the folder is checked
    /// for changes.
    pub knowledge: KnowledgeSettings,
    /// `DATABASE_URL` or `[store] database_url`, when set, with the PostgreSQL password from
    /// `DATABASE_PASSWORD_FILE` or `[store] password_file` when one is given.
    pub database: Option<crate::store::Database>,
    /// `[store] inbound_retention_days`: how long finished inbound work (and the message text
    /// it holds) is kept. Default 7.
    pub inbound_retention_days: u32,
    /// Where the audit key comes from.
    pub audit_key: AuditKeySource,
    /// Slack tokens and channels; `None` when no Slack token is set.
    pub slack: Option<SlackSettings>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// How that file was chosen (or that there is none).
    pub config_origin: ConfigOrigin,
    /// Where each secret in force came from ("the Slack bot token", its source), never its
    /// value: for `check` and the start-up log.
    pub secret_sources: Vec<(&'static str, SecretSource)>,
    /// `[automations]`: emoji rules, checked against the policy.
    pub automations: crate::automations::Automations,
    /// `[store] lease_seconds`: how long a process's lease on its in-flight work lasts
    /// without renewal before another process takes the work over. Default 30.
    pub lease_seconds: i64,
    /// `[server] listen` (or `OKTA_AGENT_LISTEN`): where `/healthz`, `/readyz` and `/metrics`
    /// are served; off when unset.
    pub server_listen: Option<std::net::SocketAddr>,
    /// `[lockouts]`: how the System Log is polled for lockouts (when `okta.logs.read` is
    /// among the scopes).
    pub lockouts: LockoutSettings,
}

/// `[lockouts]`, checked: how often the System Log is read, and what makes a storm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutSettings {
    /// Seconds between polls (`poll_seconds`, default 60).
    pub poll_seconds: u64,
    /// More accounts than this locked within `storm_minutes` is a storm (default 10).
    pub storm_accounts: usize,
    /// The storm window, in minutes (default 5).
    pub storm_minutes: u64,
}

impl Default for LockoutSettings {
    fn default() -> Self {
        Self {
            poll_seconds: 60,
            storm_accounts: 10,
            storm_minutes: 5,
        }
    }
}

/// `[lockouts]` in the TOML file.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LockoutsFile {
    poll_seconds: Option<u64>,
    storm_accounts: Option<usize>,
    storm_minutes: Option<u64>,
}

fn lockout_settings(file: LockoutsFile, problems: &mut Vec<String>) -> LockoutSettings {
    let defaults = LockoutSettings::default();
    let settings = LockoutSettings {
        poll_seconds: file.poll_seconds.unwrap_or(defaults.poll_seconds),
        storm_accounts: file.storm_accounts.unwrap_or(defaults.storm_accounts),
        storm_minutes: file.storm_minutes.unwrap_or(defaults.storm_minutes),
    };
    if !(1..=3_600).contains(&settings.poll_seconds) {
        problems.push(format!(
            "lockouts.poll_seconds: {} is out of range; use 1 to 3600 (Okta recommends polling no more than once a second)",
            settings.poll_seconds
        ));
    }
    if !(1..=10_000).contains(&settings.storm_accounts) {
        problems.push(format!(
            "lockouts.storm_accounts: {} is out of range; use 1 to 10000",
            settings.storm_accounts
        ));
    }
    if !(1..=60).contains(&settings.storm_minutes) {
        problems.push(format!(
            "lockouts.storm_minutes: {} is out of range; use 1 to 60",
            settings.storm_minutes
        ));
    }
    settings
}

impl Default for Settings {
    /// Nothing configured: the demo org, read-only, the default SQLite file.
    fn default() -> Self {
        Self {
            okta: None,
            llm: None,
            policy: None,
            knowledge: knowledge_settings(KnowledgeFile::default(), &mut Vec::new()),
            database: None,
            inbound_retention_days: 7,
            audit_key: AuditKeySource::default(),
            slack: None,
            config_file: None,
            config_origin: ConfigOrigin::None,
            secret_sources: Vec::new(),
            automations: crate::automations::Automations::default(),
            lease_seconds: crate::store::DEFAULT_LEASE_SECS,
            server_listen: None,
            lockouts: LockoutSettings::default(),
        }
    }
}

/// Where the audit key is: `OKTA_AGENT_AUDIT_KEY` (the key itself), `OKTA_AGENT_AUDIT_KEY_FILE`
/// or `[audit] key_file`, or by default a file beside the database, made on first start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AuditKeySource {
    #[default]
    BesideDatabase,
    File(PathBuf),
    /// The key material from the environment (never printed).
    Env(Secret<String>),
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AuditFile {
    key_file: Option<PathBuf>,
}

/// `[llm]`: the same names as the `OPENAI_*` variables, lower-cased without the prefix.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LlmFile {
    base_url: Option<String>,
    model: Option<String>,
    api_key: Option<String>,
    api_key_file: Option<PathBuf>,
    embeddings_model: Option<String>,
}

/// How to reach Slack (`okta-agent run`).
#[derive(Clone, Debug)]
pub struct SlackSettings {
    /// `xapp-…`, scope `connections:write`: opens the Socket Mode websocket.
    pub app_token: Secret<String>,
    /// `xoxb-…`: every Web API call.
    pub bot_token: Secret<String>,
    /// The Web API base, `https://slack.com/api` unless `SLACK_API_URL` says otherwise.
    pub api_url: String,
    /// Where approval notices go.
    pub triage_channels: Vec<String>,
    pub help_channels: Vec<String>,
    /// Socket Mode connections to keep open (Slack allows up to 10).
    pub socket_connections: u32,
    /// Requests one person may make per minute; more get a polite "slow down".
    pub max_requests_per_person_per_minute: u32,
    /// Requests being worked on at once, across everyone.
    pub max_requests_in_flight: u32,
    /// Help answers the assistant may post per channel per hour.
    pub help_answers_per_channel_per_hour: u32,
}

/// `[slack]`: tokens may be here too, but the environment is the better place for them.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SlackFile {
    app_token: Option<String>,
    app_token_file: Option<PathBuf>,
    bot_token: Option<String>,
    bot_token_file: Option<PathBuf>,
    api_url: Option<String>,
    #[serde(default)]
    triage_channels: Vec<String>,
    #[serde(default)]
    help_channels: Vec<String>,
    socket_connections: Option<u32>,
    max_requests_per_person_per_minute: Option<u32>,
    max_requests_in_flight: Option<u32>,
    help_answers_per_channel_per_hour: Option<u32>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct KnowledgeFile {
    path: Option<PathBuf>,
    #[serde(default)]
    pages: Vec<PageFile>,
    cache_dir: Option<PathBuf>,
    #[serde(default)]
    synonyms: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    symptoms: std::collections::BTreeMap<String, Vec<String>>,
    reload_seconds: Option<u64>,
    min_similarity: Option<f32>,
    semantic_weight: Option<f32>,
    min_confidence: Option<f32>,
    #[serde(default)]
    off_topic: Vec<String>,
    builtin_off_topic: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PageFile {
    url: String,
    refresh_minutes: Option<u64>,
}

/// `[knowledge]`, checked.
#[derive(Clone, Debug, Default)]
pub struct KnowledgeSettings {
    pub sources: crate::knowledge::sources::Sources,
    /// How often the folder is checked for changes (and due pages fetched), in seconds.
    pub reload_seconds: u64,
    /// The embeddings model for semantic recall (`OPENAI_EMBEDDINGS_MODEL`), if any.
    pub embeddings: Option<ModelSettings>,
    /// How a question's meaning counts (`min_similarity`, `semantic_weight`).
    pub recall: crate::knowledge::semantic::Recall,
    /// Messages that are not for IT (`off_topic`, after the built-in ones unless
    /// `builtin_off_topic = false`), compared by meaning; the classifier over spelling learns
    /// them from [`Self::sources`].
    pub off_topic: Vec<String>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    database_url: Option<String>,
    password_file: Option<PathBuf>,
    inbound_retention_days: Option<u32>,
    lease_seconds: Option<i64>,
}

/// Every environment variable okta-agent reads, with its meaning: for `--help`, and checked
/// against docs/configuration.md and against what the loader asks for.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("OKTA_AGENT_CONFIG", "the config file (as --config)"),
    ("OKTA_AGENT_ENV_FILE", "an env file to read first (as --env-file)"),
    ("OKTA_ORG_URL", "the Okta org, https://acme.okta.com; unset: the built-in demo org"),
    ("OKTA_CLIENT_ID", "the API Services app's client id"),
    ("OKTA_KEY_ID", "the kid of the registered public key"),
    ("OKTA_PRIVATE_KEY", "the PEM private key itself"),
    ("OKTA_PRIVATE_KEY_FILE", "a file holding the PEM private key"),
    ("OKTA_SCOPES", "the scopes to request, space- or comma-separated"),
    ("SLACK_APP_TOKEN", "the app-level token, xapp-…"),
    ("SLACK_APP_TOKEN_FILE", "a file holding the app-level token"),
    ("SLACK_BOT_TOKEN", "the bot token, xoxb-…"),
    ("SLACK_BOT_TOKEN_FILE", "a file holding the bot token"),
    ("SLACK_API_URL", "the Slack Web API base (tests point it at a fake)"),
    ("OPENAI_BASE_URL", "an OpenAI-compatible server, with /v1"),
    ("OPENAI_API_KEY", "the model server's API key"),
    ("OPENAI_API_KEY_FILE", "a file holding the model server's API key"),
    ("OPENAI_MODEL", "the chat model; unset: the built-in command engine"),
    ("OPENAI_EMBEDDINGS_MODEL", "an embeddings model for help questions"),
    ("DATABASE_URL", "sqlite://path or postgres://user@host:5432/db"),
    ("DATABASE_PASSWORD_FILE", "a file holding the PostgreSQL password"),
    ("OKTA_AGENT_AUDIT_KEY", "the audit key itself (64 hex digits)"),
    ("OKTA_AGENT_AUDIT_KEY_FILE", "the audit key file"),
    ("OKTA_AGENT_LISTEN", "where /healthz, /readyz and /metrics are served"),
    ("CREDENTIALS_DIRECTORY", "systemd's credentials: okta.pem, audit-key, slack-app-token, slack-bot-token, openai-api-key, db-password are found there by name"),
    ("LOG_FORMAT", "json for one JSON object per log line"),
    ("RUST_LOG", "the log level, e.g. info or okta_agent=debug"),
    ("HTTPS_PROXY", "the forward proxy for every connection (also HTTP_PROXY, ALL_PROXY, lower case too)"),
    ("HTTP_PROXY", "the forward proxy for http:// URLs"),
    ("ALL_PROXY", "the forward proxy when no other applies"),
    ("NO_PROXY", "hosts that go direct"),
];

/// Every key the config file accepts, as `section.key` (`section.list[].key` inside an array
/// of tables), from the same types the parser reads it with: for checking the docs.
pub fn file_keys() -> Vec<String> {
    let settings = schemars::generate::SchemaSettings::default().with(|s| {
        s.inline_subschemas = true;
    });
    let schema = settings
        .into_generator()
        .into_root_schema_for::<FileSettings>();
    let mut keys = Vec::new();
    collect_keys(schema.as_value(), "", &mut keys);
    keys.sort();
    keys
}

/// Walks a schema's properties: objects by their properties, arrays of objects by their items'
/// (`name[]`); anything else (and a map of free keys) is one key.
fn collect_keys(schema: &serde_json::Value, prefix: &str, keys: &mut Vec<String>) {
    let object = |schema: &serde_json::Value| -> Option<serde_json::Value> {
        // `Option<T>` is `anyOf: [T, null]` or `type: [object, null]`.
        if schema.get("properties").is_some() {
            return Some(schema.clone());
        }
        schema
            .get("anyOf")
            .and_then(|any| any.as_array())
            .and_then(|any| any.iter().find(|s| s.get("properties").is_some()).cloned())
    };
    let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    for (name, property) in properties {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if let Some(inner) = object(property) {
            collect_keys(&inner, &key, keys);
        } else if let Some(items) = property.get("items").and_then(object) {
            collect_keys(&items, &format!("{key}[]"), keys);
        } else {
            keys.push(key);
        }
    }
}

/// The environment variables, as `--help` lists them.
pub fn environment_help() -> String {
    let width = ENVIRONMENT
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from(
        "Environment (overrides the config file; every key in docs/configuration.md):\n",
    );
    for (name, meaning) in ENVIRONMENT {
        text.push_str(&format!("  {name:<width$}  {meaning}\n"));
    }
    text
}

/// The Slack Web API base, unless `SLACK_API_URL` says otherwise.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// The public OpenAI endpoint, used when only a key and model are given.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// `[okta]` in the TOML file; the same names as the env vars, lower-cased without the prefix.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct OktaFile {
    org_url: Option<String>,
    client_id: Option<String>,
    key_id: Option<String>,
    private_key_file: Option<PathBuf>,
    private_key: Option<String>,
    scopes: Option<Vec<String>>,
}

/// `[server]` in the TOML file: the operations endpoint.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ServerFile {
    listen: Option<String>,
}

/// `[automations]` in the TOML file.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AutomationsFile {
    #[serde(default)]
    reactions: Vec<crate::automations::reactions::RuleFile>,
}

/// The file's top level; a misspelt section or key is an error.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    #[serde(default)]
    okta: OktaFile,
    #[serde(default)]
    llm: LlmFile,
    #[serde(default)]
    slack: SlackFile,
    #[serde(default)]
    policy: Option<PolicyConfig>,
    #[serde(default)]
    knowledge: KnowledgeFile,
    #[serde(default)]
    automations: AutomationsFile,
    #[serde(default)]
    server: ServerFile,
    #[serde(default)]
    store: StoreFile,
    #[serde(default)]
    audit: AuditFile,
    #[serde(default)]
    lockouts: LockoutsFile,
}

impl Settings {
    /// The configured database, or the default SQLite file in the working directory.
    pub fn database_or_default(&self) -> crate::store::Database {
        self.database
            .clone()
            .unwrap_or_else(|| crate::store::Database::new(crate::store::DEFAULT_DATABASE_URL))
    }

    /// Loads from the process environment, with the variables of `env_file` (`--env-file`)
    /// over it, and the config file in force: `--config`, `OKTA_AGENT_CONFIG`, or the first of
    /// [`CONFIG_SEARCH`] that exists.
    pub fn from_env(
        config_flag: Option<&Path>,
        env_file: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        let from_file = match env_file {
            Some(path) => read_env_file(path).map_err(|problem| ConfigError {
                problems: vec![problem],
            })?,
            None => Default::default(),
        };
        Self::load_searching(
            &|name| {
                from_file
                    .get(name)
                    .cloned()
                    .or_else(|| std::env::var(name).ok())
            },
            config_flag,
            &default_search(),
        )
    }

    /// Loads with an explicit environment lookup and no search for a config file (tests pass
    /// a map).
    pub fn load(
        env: &dyn Fn(&str) -> Option<String>,
        config_flag: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        Self::load_searching(env, config_flag, &[])
    }

    /// Loads with an explicit environment lookup, searching `search` for a config file when
    /// neither the flag nor `OKTA_AGENT_CONFIG` names one.
    pub fn load_searching(
        env: &dyn Fn(&str) -> Option<String>,
        config_flag: Option<&Path>,
        search: &[PathBuf],
    ) -> Result<Self, ConfigError> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let (config_file, origin) = choose_config(config_flag, &env, search);
        let text = match &config_file {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Some(text),
                Err(e) => {
                    return Err(ConfigError {
                        problems: vec![format!(
                            "config file {}: cannot read it ({e})",
                            path.display()
                        )],
                    })
                }
            },
            None => None,
        };
        let mut settings = Self::load_text(&env, config_file, text.as_deref())?;
        settings.config_origin = origin;
        Ok(settings)
    }

    /// Loads from an environment lookup and the config file's text (`None`: no file).
    pub fn load_text(
        env: &dyn Fn(&str) -> Option<String>,
        config_file: Option<PathBuf>,
        text: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut secret_sources = Vec::new();
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let name = config_file
            .as_deref()
            .map_or_else(|| "(text)".to_string(), |p| p.display().to_string());
        let file = match text.map(|text| parse_file(&name, text)) {
            Some(Ok(file)) => file,
            Some(Err(problem)) => {
                problems.push(problem);
                FileSettings::default()
            }
            None => FileSettings::default(),
        };
        let okta = okta_settings(&env, file.okta, &mut problems, &mut secret_sources);
        let (llm, embeddings) = llm_settings(&env, file.llm, &mut problems, &mut secret_sources);
        let (reactions, rule_problems) = crate::automations::reactions::check_rules(
            file.automations.reactions,
            file.policy.as_ref(),
        );
        problems.extend(rule_problems);
        let automations = crate::automations::Automations { reactions };
        let policy = file.policy.and_then(|config| match Policy::new(config) {
            Ok(policy) => Some(policy),
            Err(found) => {
                problems.extend(found);
                None
            }
        });
        let database_url = env("DATABASE_URL").or(file.store.database_url);
        let database_kind = match database_url.as_deref().map(crate::store::database_kind) {
            Some(Err(e)) => {
                problems.push(format!("DATABASE_URL: {e}"));
                None
            }
            Some(Ok(kind)) => Some(kind),
            None => None,
        };
        let password = locate(
            &sources::DATABASE_PASSWORD,
            &env,
            None,
            file.store.password_file,
            &mut problems,
        );
        let database = match (database_url, password) {
            (None, None) => None,
            (None, Some(located)) => {
                problems.push(format!(
                    "{} gives a database password but DATABASE_URL is not set: set DATABASE_URL=postgres://user@host:5432/database",
                    located.source()
                ));
                None
            }
            (Some(url), None) => Some(crate::store::Database::new(url)),
            (Some(url), Some(located)) => {
                let database = crate::store::Database::new(url);
                if matches!(database_kind, Some(crate::store::DatabaseKind::Postgres(_))) {
                    match database_password(located, database.url()) {
                        Ok((password, source)) => {
                            secret_sources.push(("the database password", source));
                            Some(database.with_password(password))
                        }
                        Err(problem) => {
                            problems.push(problem);
                            Some(database)
                        }
                    }
                } else {
                    problems.push(format!("{} gives a database password, which is for PostgreSQL, and DATABASE_URL does not name a PostgreSQL database: remove it, or point DATABASE_URL at postgres://user@host:5432/database", located.source()));
                    Some(database)
                }
            }
        };
        let slack = slack_settings(&env, file.slack, &mut problems, &mut secret_sources);
        let mut knowledge = knowledge_settings(file.knowledge, &mut problems);
        knowledge.embeddings = embeddings;
        let server_listen = match env("OKTA_AGENT_LISTEN").or(file.server.listen) {
            Some(text) => match text.trim().parse::<std::net::SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    problems.push(format!(
                        "server.listen: '{text}' is not an address and port; write e.g. \"127.0.0.1:9090\""
                    ));
                    None
                }
            },
            None => None,
        };
        let lockouts = lockout_settings(file.lockouts, &mut problems);
        let lease_seconds = file
            .store
            .lease_seconds
            .unwrap_or(crate::store::DEFAULT_LEASE_SECS);
        if !(3..=600).contains(&lease_seconds) {
            problems.push(format!(
                "store.lease_seconds: {lease_seconds} is out of range; use 3 to 600"
            ));
        }
        let inbound_retention_days = file.store.inbound_retention_days.unwrap_or(7);
        if !(1..=365).contains(&inbound_retention_days) {
            problems.push(format!(
                "store.inbound_retention_days: {inbound_retention_days} is out of range; use 1 to 365"
            ));
        }
        let audit_key = match locate(
            &sources::AUDIT_KEY,
            &env,
            None,
            file.audit.key_file,
            &mut problems,
        ) {
            Some(Located::Value(key, source)) => {
                secret_sources.push(("the audit key", source));
                AuditKeySource::Env(key)
            }
            Some(Located::File(path, source)) => {
                secret_sources.push(("the audit key", source));
                AuditKeySource::File(path)
            }
            None => AuditKeySource::BesideDatabase,
        };
        if let (Some(crate::store::DatabaseKind::Postgres(shown)), AuditKeySource::BesideDatabase) =
            (&database_kind, &audit_key)
        {
            problems.push(format!("DATABASE_URL names PostgreSQL ({shown}), where no key file can sit beside the database: every replica must sign the audit chain with the same key, so make one with `okta-agent keygen --audit-key FILE`, give each replica a copy, and set OKTA_AGENT_AUDIT_KEY_FILE (or OKTA_AGENT_AUDIT_KEY)"));
        }
        if problems.is_empty() {
            Ok(Self {
                okta,
                llm,
                slack,
                policy,
                knowledge,
                database,
                inbound_retention_days,
                audit_key,
                config_file,
                config_origin: ConfigOrigin::None,
                secret_sources,
                automations,
                lease_seconds,
                server_listen,
                lockouts,
            })
        } else {
            Err(ConfigError { problems })
        }
    }
}

fn knowledge_settings(file: KnowledgeFile, problems: &mut Vec<String>) -> KnowledgeSettings {
    let mut pages = Vec::new();
    for page in file.pages {
        match Url::parse(&page.url) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => {}
            _ => {
                problems.push(format!(
                    "knowledge.pages: '{}' is not an http(s) URL",
                    page.url
                ));
                continue;
            }
        }
        let minutes = page.refresh_minutes.unwrap_or(60);
        if !(1..=10_080).contains(&minutes) {
            problems.push(format!(
                "knowledge.pages: refresh_minutes {minutes} for {} is out of range; use 1 to 10080 (a week)",
                page.url
            ));
            continue;
        }
        pages.push(crate::knowledge::sources::Page {
            url: page.url,
            refresh: std::time::Duration::from_secs(minutes * 60),
        });
    }
    let cache_dir = file.cache_dir.or_else(|| {
        (!pages.is_empty()).then(|| {
            file.path.as_ref().map_or_else(
                || PathBuf::from("okta-agent-help-cache"),
                |p| p.join(".cache"),
            )
        })
    });
    let reload_seconds = file.reload_seconds.unwrap_or(5);
    if !(1..=86_400).contains(&reload_seconds) {
        problems.push(format!(
            "knowledge.reload_seconds: {reload_seconds} is out of range; use 1 to 86400"
        ));
    }
    let defaults = crate::knowledge::semantic::Recall::default();
    let min_similarity = file.min_similarity.unwrap_or(defaults.min_similarity);
    if !(0.0..=1.0).contains(&min_similarity) {
        problems.push(format!(
            "knowledge.min_similarity: {min_similarity} is out of range; use a cosine similarity from 0 to 1 ({} suits OpenAI's text-embedding-3 models)",
            defaults.min_similarity
        ));
    }
    let semantic_weight = file.semantic_weight.unwrap_or(defaults.weight);
    if !(0.0..=1.0).contains(&semantic_weight) {
        problems.push(format!(
            "knowledge.semantic_weight: {semantic_weight} is out of range; use the share of the ranking that meaning has, from 0 (keywords alone) to 1 (meaning alone), {} by default",
            defaults.weight
        ));
    }
    let min_confidence = file.min_confidence.unwrap_or(defaults.min_confidence);
    if !(0.5..=1.0).contains(&min_confidence) {
        problems.push(format!(
            "knowledge.min_confidence: {min_confidence} is out of range; use the probability at which a classifier's document answers a question nothing else answers, from 0.5 to 1 (1 turns both classifiers off), {} by default",
            defaults.min_confidence
        ));
    }
    for (topics, situations) in &file.symptoms {
        if topics.trim().is_empty() {
            problems.push(
                "knowledge.symptoms: a line has no topics; write topics = [\"word + word|word\"]"
                    .to_string(),
            );
        }
        for situation in situations {
            if let Err(why) = crate::knowledge::index::parse_situation(situation) {
                problems.push(format!("knowledge.symptoms.{topics}: {why}"));
            }
        }
    }
    let mut off_topic = if file.builtin_off_topic.unwrap_or(true) {
        crate::knowledge::semantic::built_in_off_topic()
    } else {
        Vec::new()
    };
    for message in file.off_topic {
        if message.trim().is_empty() {
            problems.push(
                "knowledge.off_topic: an empty message; write each as a message people send that is not for IT, such as \"when is payday\"".to_string(),
            );
        } else {
            off_topic.push(message.trim().to_string());
        }
    }
    KnowledgeSettings {
        embeddings: None,
        off_topic: off_topic.clone(),
        recall: crate::knowledge::semantic::Recall::at(min_similarity)
            .weighted(semantic_weight)
            .confident(min_confidence),
        sources: crate::knowledge::sources::Sources {
            folder: file.path,
            pages,
            cache_dir,
            synonyms: file.synonyms.into_iter().collect(),
            symptoms: file.symptoms.into_iter().collect(),
            off_topic: Some(off_topic),
            min_confidence: Some(min_confidence),
        },
        reload_seconds,
    }
}

fn parse_file(name: &str, text: &str) -> Result<FileSettings, String> {
    toml::from_str(text).map_err(|e| {
        format!(
            "config file {name}: {}",
            e.to_string().replace('\n', " ").trim()
        )
    })
}

fn okta_settings(
    env: &dyn Fn(&str) -> Option<String>,
    file: OktaFile,
    problems: &mut Vec<String>,
    secret_sources: &mut Vec<(&'static str, SecretSource)>,
) -> Option<OktaSettings> {
    let org_url = env("OKTA_ORG_URL").or(file.org_url);
    let client_id = env("OKTA_CLIENT_ID").or(file.client_id);
    let key_id = env("OKTA_KEY_ID").or(file.key_id);
    let scopes_text = env("OKTA_SCOPES");
    // The environment (a variable, a *_FILE variable or a systemd credential) overrides the
    // file's key; two places on one level are refused.
    let problems_before_key = problems.len();
    let key = locate(
        &sources::OKTA_PRIVATE_KEY,
        env,
        file.private_key,
        file.private_key_file,
        problems,
    );

    let Some(org_url) = org_url else {
        if client_id.is_some() {
            problems.push("OKTA_CLIENT_ID (or [okta] client_id) is set but OKTA_ORG_URL is not: set OKTA_ORG_URL (or [okta] org_url) to your org (https://acme.okta.com), or unset OKTA_CLIENT_ID to use the built-in demo org".into());
        }
        if let Some(key) = &key {
            problems.push(format!(
                "{} gives the Okta private key but OKTA_ORG_URL (or [okta] org_url) is not set: set it to your org (https://acme.okta.com), or remove the key to use the built-in demo org",
                key.source()
            ));
        }
        return None;
    };

    let before = problems.len();
    let org_url = match parse_org_url(&org_url) {
        Ok(url) => Some(url),
        Err(problem) => {
            problems.push(format!("OKTA_ORG_URL: {problem}"));
            None
        }
    };
    if client_id.is_none() {
        problems.push(
            "OKTA_CLIENT_ID (or [okta] client_id) is missing: copy the Client ID of the Okta API Services app".into(),
        );
    }
    let key_refused = problems.len() > problems_before_key;
    let pem = match key.map(Located::read) {
        Some(Ok((pem, source))) => Some((pem, source)),
        Some(Err(problem)) => {
            problems.push(problem);
            None
        }
        None => {
            if !key_refused {
                problems.push("OKTA_PRIVATE_KEY_FILE (or OKTA_PRIVATE_KEY, the credential okta.pem, or [okta] private_key_file) is missing: point it at the PEM private key whose public key is registered on the Okta app (`okta-agent init` or `okta-agent keygen` makes one)".into());
            }
            None
        }
    };
    let signing_key =
        pem.and_then(
            |(pem, source)| match SigningKey::from_pem(pem.expose(), key_id.as_deref()) {
                Ok(key) => {
                    secret_sources.push(("the Okta private key", source));
                    Some(key)
                }
                Err(e) => {
                    problems.push(format!("{source}: {e}"));
                    None
                }
            },
        );
    let scopes = match scopes_text {
        Some(text) => text
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        None => file
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()),
    };
    for scope in &scopes {
        if !scope.starts_with("okta.") {
            problems.push(format!(
                "OKTA_SCOPES: '{scope}' is not an Okta management scope (they start with 'okta.', e.g. okta.users.read)"
            ));
        }
    }
    if scopes.is_empty() {
        problems.push(
            "OKTA_SCOPES is empty: list the scopes to request, or unset it for the defaults".into(),
        );
    }
    if problems.len() > before {
        return None;
    }
    Some(OktaSettings {
        org_url: org_url?,
        client_id: client_id?,
        signing_key: signing_key?,
        scopes,
    })
}

/// A token located and read, trimmed (tokens hold no spaces), with where it came from.
fn read_token(
    located: Option<Located>,
    problems: &mut Vec<String>,
) -> Option<(String, SecretSource)> {
    match located?.read() {
        Ok((value, source)) => Some((value.expose().trim().to_string(), source)),
        Err(problem) => {
            problems.push(problem);
            None
        }
    }
}

fn slack_settings(
    env: &dyn Fn(&str) -> Option<String>,
    file: SlackFile,
    problems: &mut Vec<String>,
    secret_sources: &mut Vec<(&'static str, SecretSource)>,
) -> Option<SlackSettings> {
    let app_token = locate(
        &sources::SLACK_APP_TOKEN,
        env,
        file.app_token,
        file.app_token_file,
        problems,
    );
    let bot_token = locate(
        &sources::SLACK_BOT_TOKEN,
        env,
        file.bot_token,
        file.bot_token_file,
        problems,
    );
    let (app_token, bot_token) = (
        read_token(app_token, problems),
        read_token(bot_token, problems),
    );
    let api_url = env("SLACK_API_URL").or(file.api_url);
    let before = problems.len();
    for channel in file.triage_channels.iter().chain(&file.help_channels) {
        let valid = channel.len() >= 3
            && channel.starts_with(['C', 'G'])
            && channel
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !valid {
            problems.push(format!(
                "slack: '{channel}' is not a channel id (they look like C0123ABCD; open the channel's details and copy the id at the bottom), not a #name"
            ));
        }
    }
    if app_token.is_none() && bot_token.is_none() {
        return None;
    }
    match &app_token {
        None => problems.push("SLACK_APP_TOKEN (or SLACK_APP_TOKEN_FILE, or the credential slack-app-token) is missing: create an app-level token with connections:write (Basic Information → App-Level Tokens)".into()),
        Some((t, source)) if !t.starts_with("xapp-") => problems.push(format!("{source} does not start with xapp-: it must be the app-level token, not the bot token")),
        Some(_) => {}
    }
    match &bot_token {
        None => problems.push("SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE, or the credential slack-bot-token) is missing: install the app and copy the Bot User OAuth Token (xoxb-…)".into()),
        Some((t, source)) if !t.starts_with("xoxb-") => problems.push(format!("{source} does not start with xoxb-: it must be the Bot User OAuth Token")),
        Some(_) => {}
    }
    let api_url = api_url.unwrap_or_else(|| SLACK_API_URL.to_string());
    match Url::parse(&api_url) {
        Ok(url) if url.scheme() == "https" => {}
        Ok(url) if url.scheme() == "http" && is_loopback(url.host_str().unwrap_or_default()) => {}
        _ => problems.push(format!(
            "SLACK_API_URL: '{api_url}' must be an https:// URL (http:// only for loopback test servers), e.g. https://slack.com/api"
        )),
    }
    let socket_connections = file.socket_connections.unwrap_or(2);
    if !(1..=10).contains(&socket_connections) {
        problems.push(format!(
            "slack.socket_connections: {socket_connections} is out of range; Slack allows 1 to 10"
        ));
    }
    let max_requests_per_person_per_minute = file.max_requests_per_person_per_minute.unwrap_or(10);
    if !(1..=600).contains(&max_requests_per_person_per_minute) {
        problems.push(format!(
            "slack.max_requests_per_person_per_minute: {max_requests_per_person_per_minute} is out of range; use 1 to 600"
        ));
    }
    let max_requests_in_flight = file.max_requests_in_flight.unwrap_or(32);
    if !(1..=1000).contains(&max_requests_in_flight) {
        problems.push(format!(
            "slack.max_requests_in_flight: {max_requests_in_flight} is out of range; use 1 to 1000"
        ));
    }
    let help_answers_per_channel_per_hour = file.help_answers_per_channel_per_hour.unwrap_or(30);
    if !(1..=3_600).contains(&help_answers_per_channel_per_hour) {
        problems.push(format!(
            "slack.help_answers_per_channel_per_hour: {help_answers_per_channel_per_hour} is out of range; use 1 to 3600"
        ));
    }
    if problems.len() > before {
        return None;
    }
    Some(SlackSettings {
        app_token: {
            let (token, source) = app_token?;
            secret_sources.push(("the Slack app token", source));
            Secret::new(token)
        },
        bot_token: {
            let (token, source) = bot_token?;
            secret_sources.push(("the Slack bot token", source));
            Secret::new(token)
        },
        api_url: api_url.trim_end_matches('/').to_string(),
        triage_channels: file.triage_channels,
        help_channels: file.help_channels,
        socket_connections,
        max_requests_per_person_per_minute,
        max_requests_in_flight,
        help_answers_per_channel_per_hour,
    })
}

/// The chat model and the embeddings model, on the same OpenAI-compatible server; either may
/// be configured without the other.
fn llm_settings(
    env: &dyn Fn(&str) -> Option<String>,
    file: LlmFile,
    problems: &mut Vec<String>,
    secret_sources: &mut Vec<(&'static str, SecretSource)>,
) -> (Option<ModelSettings>, Option<ModelSettings>) {
    let base_url = env("OPENAI_BASE_URL").or(file.base_url);
    let model = env("OPENAI_MODEL").or(file.model);
    let api_key = read_token(
        locate(
            &sources::OPENAI_API_KEY,
            env,
            file.api_key,
            file.api_key_file,
            problems,
        ),
        problems,
    );
    if let Some((_, source)) = &api_key {
        secret_sources.push(("the model's API key", source.clone()));
    }
    let api_key = api_key.map(|(key, _)| key);
    let embeddings_model = env("OPENAI_EMBEDDINGS_MODEL").or(file.embeddings_model);
    if base_url.is_none() && model.is_none() && api_key.is_none() && embeddings_model.is_none() {
        return (None, None);
    }
    let base_url = base_url.unwrap_or_else(|| DEFAULT_OPENAI_BASE_URL.to_string());
    let before = problems.len();
    match Url::parse(&base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => problems.push(format!(
            "OPENAI_BASE_URL: '{base_url}' is not an http(s) URL; give the server's base with /v1, e.g. http://127.0.0.1:11434/v1"
        )),
    }
    if model.is_none() && embeddings_model.is_none() {
        problems.push(
            "OPENAI_MODEL is missing: name the model to use (e.g. gpt-4.1-mini, or llama3.1 on Ollama), or unset OPENAI_* to use the built-in command engine".into(),
        );
    }
    if api_key.is_none() && base_url.starts_with(DEFAULT_OPENAI_BASE_URL) {
        problems.push("OPENAI_API_KEY (or OPENAI_API_KEY_FILE, or the credential openai-api-key) is missing: api.openai.com needs a key".into());
    }
    if problems.len() > before {
        return (None, None);
    }
    let settings = |model: String| ModelSettings {
        base_url: base_url.trim_end_matches('/').to_string(),
        api_key: Secret::new(api_key.clone().unwrap_or_default()),
        model,
    };
    (model.map(settings), embeddings_model.map(settings))
}

/// Accepts `https://` org URLs, and `http://` only for loopback hosts (the simulator).
pub fn parse_org_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim())
        .map_err(|e| format!("'{text}' is not a URL ({e}); expected e.g. https://acme.okta.com"))?;
    let host = url.host_str().unwrap_or_default().to_string();
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(format!(
                "'{text}' uses http://, which is allowed only for loopback hosts; use https://"
            ))
        }
        other => return Err(format!("'{text}' has scheme '{other}'; use https://")),
    }
    if host.is_empty() {
        return Err(format!("'{text}' has no host"));
    }
    if host.contains("-admin.") {
        return Err(format!(
            "'{text}' is the admin console address; use the org URL without '-admin' (e.g. https://acme.okta.com)"
        ));
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(format!(
            "'{text}' has a path; give only the org's base URL (e.g. https://acme.okta.com)"
        ));
    }
    if url.query().is_some() {
        return Err(format!(
            "'{text}' has a query string; give only the org's base URL"
        ));
    }
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The PostgreSQL password from a file of its own (one line; a final newline is not part of
/// it), for a URL that holds none of its own.
fn database_password(
    located: Located,
    url: &str,
) -> Result<(Secret<String>, SecretSource), String> {
    if crate::store::url_has_password(url) {
        return Err(format!("DATABASE_URL holds a password and {} gives another: keep exactly one (the file keeps it out of the environment)", located.source()));
    }
    located
        .read()
        .map_err(|problem| format!("{problem}; put the database user's password in it"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)], file: Option<&Path>) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&|k| map.get(k).cloned(), file)
    }

    fn ec_pem() -> String {
        SigningKey::generate_ec().unwrap().1.expose().clone()
    }

    #[test]
    fn nothing_set_means_demo_org() {
        let s = load(&[], None).unwrap();
        assert!(s.okta.is_none());
    }

    #[test]
    fn full_env_loads_with_default_scopes() {
        let pem = ec_pem();
        let s = load(
            &[
                ("OKTA_ORG_URL", "https://acme.okta.com"),
                ("OKTA_CLIENT_ID", "0oa1"),
                ("OKTA_KEY_ID", "kid-1"),
                ("OKTA_PRIVATE_KEY", &pem),
            ],
            None,
        )
        .unwrap();
        let okta = s.okta.unwrap();
        assert_eq!(okta.client_id, "0oa1");
        assert_eq!(okta.signing_key.kid(), "kid-1");
        assert_eq!(okta.scopes.len(), DEFAULT_SCOPES.len());
        let debug = format!("{okta:?}");
        assert!(
            !debug.contains("PRIVATE KEY"),
            "Debug leaked the key: {debug}"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_variable() {
        let err = load(
            &[
                ("OKTA_ORG_URL", "http://acme.okta.com"),
                ("OKTA_PRIVATE_KEY", "x"),
                ("OKTA_PRIVATE_KEY_FILE", "/nope"),
                ("OKTA_SCOPES", "users.read"),
            ],
            None,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("OKTA_ORG_URL: 'http://acme.okta.com' uses http://"),
            "{text}"
        );
        assert!(
            text.contains("OKTA_CLIENT_ID (or [okta] client_id) is missing"),
            "{text}"
        );
        assert!(
            text.contains("The Okta private key is given twice, by OKTA_PRIVATE_KEY and OKTA_PRIVATE_KEY_FILE (/nope)"),
            "{text}"
        );
        assert!(text.contains("OKTA_SCOPES: 'users.read'"), "{text}");
        assert_eq!(err.problems.len(), 4, "{text}");
    }

    #[test]
    fn org_url_rules() {
        assert!(parse_org_url("https://acme.okta.com").is_ok());
        assert!(parse_org_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_org_url("http://localhost:8080/").is_ok());
        assert!(parse_org_url("http://[::1]:9").is_ok());
        assert!(parse_org_url("http://10.0.0.1").is_err());
        assert!(parse_org_url("https://acme-admin.okta.com").is_err());
        assert!(parse_org_url("https://acme.okta.com/oauth2/default").is_err());
        assert!(parse_org_url("acme.okta.com").is_err());
    }

    #[test]
    fn okta_vars_without_org_are_an_error() {
        let err = load(&[("OKTA_CLIENT_ID", "0oa1")], None).unwrap_err();
        assert!(err
            .to_string()
            .contains("OKTA_CLIENT_ID (or [okta] client_id) is set but OKTA_ORG_URL is not"));
    }

    #[test]
    fn env_overrides_file_and_unknown_keys_are_named() {
        let dir = std::env::temp_dir().join(format!("okta-agent-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_path = dir.join("k.pem");
        std::fs::write(&key_path, ec_pem()).unwrap();
        let cfg = dir.join("c.toml");
        std::fs::write(&cfg, format!("[okta]\norg_url = \"https://file.okta.com\"\nclient_id = \"file-id\"\nprivate_key_file = \"{}\"\n[policy]\nadmins = [\"U0ADMIN1\"]\n", key_path.display())).unwrap();
        let s = load(&[("OKTA_CLIENT_ID", "env-id")], Some(&cfg)).unwrap();
        let okta = s.okta.unwrap();
        assert_eq!(okta.client_id, "env-id");
        assert_eq!(okta.org_url.as_str(), "https://file.okta.com/");

        std::fs::write(&cfg, "[okta]\norg_ur = \"https://x.okta.com\"\n").unwrap();
        let err = load(&[], Some(&cfg)).unwrap_err().to_string();
        assert!(err.contains("org_ur"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_embeddings_model_works_with_or_without_a_chat_model() {
        let s = load(
            &[
                ("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1"),
                ("OPENAI_EMBEDDINGS_MODEL", "nomic-embed-text"),
            ],
            None,
        )
        .unwrap();
        assert!(s.llm.is_none(), "no chat model: the command engine plans");
        let embeddings = s.knowledge.embeddings.unwrap();
        assert_eq!(embeddings.model, "nomic-embed-text");
        assert_eq!(embeddings.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(s.knowledge.recall.min_similarity, 0.5);
        assert_eq!(s.knowledge.recall.weight, 0.8);
        let s = load(
            &[
                ("OPENAI_API_KEY", "sk-test"),
                ("OPENAI_MODEL", "gpt-4.1-mini"),
                ("OPENAI_EMBEDDINGS_MODEL", "text-embedding-3-small"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s.llm.unwrap().model, "gpt-4.1-mini");
        assert_eq!(
            s.knowledge.embeddings.unwrap().model,
            "text-embedding-3-small"
        );
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(&cfg, "[knowledge]\nmin_similarity = 1.5\n").unwrap();
        let err = load(&[], Some(&cfg)).unwrap_err().to_string();
        assert!(
            err.contains("knowledge.min_similarity: 1.5 is out of range"),
            "{err}"
        );
        std::fs::write(&cfg, "[knowledge]\nsemantic_weight = -0.2\n").unwrap();
        let err = load(&[], Some(&cfg)).unwrap_err().to_string();
        assert!(
            err.contains("knowledge.semantic_weight: -0.2 is out of range"),
            "{err}"
        );
        std::fs::write(&cfg, "[knowledge]\nmin_confidence = 0.3\n").unwrap();
        let err = load(&[], Some(&cfg)).unwrap_err().to_string();
        assert!(
            err.contains("knowledge.min_confidence: 0.3 is out of range"),
            "{err}"
        );
        // Off-topic messages: the built-in ones and the team's, or the team's alone; an empty
        // one is named.
        let built_in = crate::knowledge::semantic::built_in_off_topic();
        assert_eq!(load(&[], None).unwrap().knowledge.off_topic, built_in);
        std::fs::write(&cfg, "[knowledge]\noff_topic = [\"is the canteen open\"]\n").unwrap();
        let s = load(&[], Some(&cfg)).unwrap();
        assert_eq!(s.knowledge.off_topic.len(), built_in.len() + 1);
        assert_eq!(s.knowledge.off_topic.last().unwrap(), "is the canteen open");
        std::fs::write(
            &cfg,
            "[knowledge]\nbuiltin_off_topic = false\noff_topic = [\"is the canteen open\"]\n",
        )
        .unwrap();
        let s = load(&[], Some(&cfg)).unwrap();
        assert_eq!(s.knowledge.off_topic, ["is the canteen open"]);
        // The classifier over spelling learns the same messages, with or without embeddings.
        assert_eq!(
            s.knowledge.sources.off_topic.as_deref(),
            Some(&s.knowledge.off_topic[..])
        );
        std::fs::write(&cfg, "[knowledge]\noff_topic = [\" \"]\n").unwrap();
        let err = load(&[], Some(&cfg)).unwrap_err().to_string();
        assert!(
            err.contains("knowledge.off_topic: an empty message"),
            "{err}"
        );
        std::fs::write(
            &cfg,
            "[knowledge]\nmin_similarity = 0.55\nsemantic_weight = 0.8\nmin_confidence = 0.9\n",
        )
        .unwrap();
        let s = load(&[], Some(&cfg)).unwrap();
        assert_eq!(
            s.knowledge.recall,
            crate::knowledge::semantic::Recall::at(0.55)
                .weighted(0.8)
                .confident(0.9)
        );
        // The classifier over spelling answers from the same probability, with or without
        // embeddings.
        assert_eq!(s.knowledge.sources.min_confidence, Some(0.9));
    }

    #[test]
    fn the_teams_symptom_lines_are_read_and_a_broken_one_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(
            &cfg,
            "[knowledge.symptoms]\n\"badge\" = [\"door + red|beeps\"]\n",
        )
        .unwrap();
        let s = load(&[], Some(&cfg)).unwrap();
        assert_eq!(
            s.knowledge.sources.symptoms,
            vec![("badge".to_string(), vec!["door + red|beeps".to_string()])]
        );
        std::fs::write(&cfg, "[knowledge.symptoms]\nbadge = [\"door + \"]\n").unwrap();
        let err = load(&[], Some(&cfg)).unwrap_err().to_string();
        assert!(
            err.contains("knowledge.symptoms.badge: 'door + ' has an empty group"),
            "{err}"
        );
    }

    #[test]
    fn model_settings_need_a_model_and_openai_needs_a_key() {
        assert!(load(&[], None).unwrap().llm.is_none());
        let s = load(
            &[
                ("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/"),
                ("OPENAI_MODEL", "llama3.1"),
            ],
            None,
        )
        .unwrap();
        let llm = s.llm.unwrap();
        assert_eq!(llm.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(llm.model, "llama3.1");
        let err = load(&[("OPENAI_API_KEY", "sk-test")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("OPENAI_MODEL is missing"), "{err}");
        assert!(!err.contains("sk-test"), "the key never appears in errors");
        let err = load(&[("OPENAI_MODEL", "gpt-4.1-mini")], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("OPENAI_API_KEY (or OPENAI_API_KEY_FILE, or the credential openai-api-key) is missing"),
            "{err}"
        );
        let err = load(
            &[("OPENAI_BASE_URL", "ftp://x"), ("OPENAI_MODEL", "m")],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not an http(s) URL"), "{err}");
        let s = load(
            &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_MODEL", "m")],
            None,
        )
        .unwrap();
        assert!(!format!("{:?}", s.llm).contains("sk-test"));
    }

    #[test]
    fn policy_store_and_knowledge_sections_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(
            &cfg,
            "[policy]\nadmins = [\"U0ADMIN1\"]\ntwo_person = [\"deactivate_user\"]\n[store]\ndatabase_url = \"sqlite://x.db\"\n[knowledge]\npath = \"docs\"\n",
        )
        .unwrap();
        let s = load(&[], Some(&cfg)).unwrap();
        assert!(s.policy.unwrap().is_admin("U0ADMIN1"));
        assert_eq!(s.database.as_ref().map(|d| d.url()), Some("sqlite://x.db"));
        assert_eq!(s.knowledge.sources.folder, Some(PathBuf::from("docs")));
        let s = load(&[("DATABASE_URL", "sqlite://env.db")], Some(&cfg)).unwrap();
        assert_eq!(
            s.database.as_ref().map(|d| d.url()),
            Some("sqlite://env.db")
        );
        let err = load(&[("DATABASE_URL", "postgres://db")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DATABASE_URL"), "{err}");
        assert!(err.contains("names no database"), "{err}");
        let postgres = "postgres://okta:hunter2@db.internal:5432/okta";
        let err = load(&[("DATABASE_URL", postgres)], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("OKTA_AGENT_AUDIT_KEY_FILE"), "{err}");
        assert!(
            err.contains("postgres://okta@db.internal:5432/okta"),
            "{err}"
        );
        assert!(
            !err.contains("hunter2"),
            "the password is never shown: {err}"
        );
        let s = load(
            &[
                ("DATABASE_URL", postgres),
                ("OKTA_AGENT_AUDIT_KEY_FILE", "/etc/okta-agent/audit.key"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s.database.as_ref().map(|d| d.url()), Some(postgres));
        assert!(
            !format!("{s:?}").contains("hunter2"),
            "Debug never shows it"
        );
        // The password may come from a file of its own (a systemd credential, a secret).
        let password = dir.path().join("db-password");
        std::fs::write(&password, "s3cr3t-from-file\n").unwrap();
        let audit = ("OKTA_AGENT_AUDIT_KEY_FILE", "/etc/okta-agent/audit.key");
        let password_file = password.display().to_string();
        let s = load(
            &[
                ("DATABASE_URL", "postgres://okta@db.internal/okta"),
                ("DATABASE_PASSWORD_FILE", password_file.as_str()),
                audit,
            ],
            None,
        )
        .unwrap();
        assert!(format!("{:?}", s.database).contains("postgres://okta@db.internal:5432/okta"));
        assert!(!format!("{s:?}").contains("s3cr3t-from-file"));
        for (url, file, expected) in [
            (postgres, password_file.as_str(), "keep exactly one"),
            ("sqlite://x.db", password_file.as_str(), "is for PostgreSQL"),
            (
                "postgres://okta@db/okta",
                "/nonexistent/pw",
                "cannot read /nonexistent/pw",
            ),
        ] {
            let err = load(
                &[
                    ("DATABASE_URL", url),
                    ("DATABASE_PASSWORD_FILE", file),
                    audit,
                ],
                None,
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("hunter2") && !err.contains("s3cr3t"), "{err}");
        }
        std::fs::write(
            &cfg,
            "[policy]\nadmins = [\"U0ADMIN1\"]\nself_servic = [\"unlock_user\"]\n",
        )
        .unwrap();
        let err = load(&[], Some(&cfg)).unwrap_err().to_string();
        assert!(err.contains("self_servic"), "{err}");
    }

    #[test]
    fn slack_tokens_are_checked_and_never_printed() {
        assert!(load(&[], None).unwrap().slack.is_none());
        let s = load(
            &[
                ("SLACK_APP_TOKEN", "xapp-1-secret"),
                ("SLACK_BOT_TOKEN", "xoxb-secret"),
            ],
            None,
        )
        .unwrap();
        let slack = s.slack.unwrap();
        assert_eq!(slack.api_url, "https://slack.com/api");
        assert!(!format!("{slack:?}").contains("secret"));
        let err = load(&[("SLACK_APP_TOKEN", "xoxb-wrong")], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("SLACK_APP_TOKEN does not start with xapp-"),
            "{err}"
        );
        assert!(err.contains("SLACK_BOT_TOKEN (or SLACK_BOT_TOKEN_FILE, or the credential slack-bot-token) is missing"), "{err}");
        assert!(!err.contains("xoxb-wrong"));
        let err = load(
            &[
                ("SLACK_APP_TOKEN", "xapp-1"),
                ("SLACK_BOT_TOKEN", "xoxb-1"),
                ("SLACK_API_URL", "http://slack.example.com/api"),
            ],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("SLACK_API_URL"), "{err}");
        let s = load(
            &[
                ("SLACK_APP_TOKEN", "xapp-1"),
                ("SLACK_BOT_TOKEN", "xoxb-1"),
                ("SLACK_API_URL", "http://127.0.0.1:9/api/"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s.slack.unwrap().api_url, "http://127.0.0.1:9/api");
    }
}
