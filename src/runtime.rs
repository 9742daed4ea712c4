//! Assembles an [`Engine`] from [`Settings`]: the real org, or — with no `OKTA_ORG_URL` — the
//! built-in simulated demo org with its demo policy, demo Slack directory and demo help docs.
//! `chat` and `run` assemble the same engine. Assembly matches the policy's protected groups to
//! Okta group ids and loads the audit key; it never touches work in the store: start-up
//! recovery is [`Engine::recover`], which only `run` calls.

use std::sync::Arc;

use crate::agent::model::{ModelClient, OpenAiModel};
use crate::agent::toolbox::Toolbox;
use crate::agent::{Agent, Limits};
use crate::audit::AuditKeys;
use crate::clock::{SystemWallClock, WallClock};
use crate::config::{AuditKeySource, Settings};
use crate::engine::{Engine, Mode, Parts};
use crate::http::http_client;
use crate::identity::{Directory, Resolver, StaticDirectory};
use crate::knowledge::{HelpDocs, Knowledge};
use crate::okta::{ClientOptions, OktaClient};
use crate::policy::Policy;
#[cfg(feature = "sandbox")]
use crate::sandbox::{self, RunningSandbox, Seed};
use crate::store::{Store, DEFAULT_DATABASE_URL};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[cfg(feature = "sandbox")]
    #[error("could not start the built-in demo org: {0}")]
    Sandbox(#[from] sandbox::SandboxError),
    #[error("no Okta org is configured, and this build has no built-in demo org (it was built without the `sandbox` feature): set OKTA_ORG_URL, OKTA_CLIENT_ID and the private key, or [okta] in the config file")]
    NoOrg,
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("bad Okta org URL: {0}")]
    Url(#[from] url::ParseError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Knowledge(#[from] crate::knowledge::KnowledgeError),
    #[error(transparent)]
    Model(#[from] crate::agent::model::ModelError),
    #[error("could not create a temporary folder for the demo's state: {0}")]
    TempDir(std::io::Error),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error("policy.protected_groups: {0}")]
    ProtectedGroup(String),
    #[error("could not match the protected groups against Okta: {0}")]
    Okta(#[from] crate::okta::OktaError),
}

/// The demo org's pieces, kept alive as long as the engine.
pub struct Demo {
    /// The simulated org's address.
    pub org_url: String,
    #[cfg(feature = "sandbox")]
    pub sandbox: RunningSandbox,
    pub directory: StaticDirectory,
    /// Holds the demo's database; removed when the demo ends.
    _state: Option<tempfile::TempDir>,
}

pub struct Runtime {
    pub engine: Arc<Engine>,
    pub okta: Arc<OktaClient>,
    pub demo: Option<Demo>,
}

/// What tests and front ends may substitute.
#[derive(Default)]
pub struct Overrides {
    pub directory: Option<Arc<dyn Directory>>,
    pub model: Option<Arc<dyn ModelClient>>,
    pub clock: Option<Arc<dyn WallClock>>,
    pub limits: Option<Limits>,
    /// Okta client limits (timeouts, retries); tests shorten them.
    pub client_options: Option<ClientOptions>,
    /// `DryRun` for `chat` against a real org.
    pub mode: Mode,
}

/// The client id the demo org registers for okta-agent.
pub const DEMO_CLIENT_ID: &str = "0oademoagent00000000";

/// The built-in demo org: the simulator on loopback, a client registered with it.
#[cfg(feature = "sandbox")]
async fn demo_org(
    http: reqwest::Client,
    options: ClientOptions,
) -> Result<(OktaClient, Demo), RuntimeError> {
    let (client, key, _pem) = sandbox::generated_client(DEMO_CLIENT_ID)?;
    let running = sandbox::start(
        std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
        &Seed::demo().map_err(sandbox::SandboxError::from)?,
        Some(client),
    )
    .await?;
    let org = url::Url::parse(&running.url())?;
    let scopes = crate::config::DEFAULT_SCOPES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let tokens =
        crate::okta::TokenSource::new(http.clone(), &org, DEMO_CLIENT_ID.into(), key, scopes)?;
    let demo = Demo {
        org_url: running.url(),
        sandbox: running,
        directory: StaticDirectory::demo(),
        _state: None,
    };
    Ok((OktaClient::new(org, http, Arc::new(tokens), options), demo))
}

/// Without the simulator there is no demo org to fall back on.
#[cfg(not(feature = "sandbox"))]
async fn demo_org(
    _http: reqwest::Client,
    _options: ClientOptions,
) -> Result<(OktaClient, Demo), RuntimeError> {
    Err(RuntimeError::NoOrg)
}

pub async fn assemble(settings: &Settings, overrides: Overrides) -> Result<Runtime, RuntimeError> {
    let options = overrides.client_options.clone().unwrap_or_default();
    let http = http_client(options.timeout)?;
    let mut demo = None;
    let okta = match &settings.okta {
        Some(okta) => {
            let tokens = okta.token_source(http.clone())?;
            OktaClient::new(okta.org_url.clone(), http, Arc::new(tokens), options)
        }
        None => {
            let (client, started) = demo_org(http, options).await?;
            demo = Some(started);
            client
        }
    };
    let okta = Arc::new(okta);
    let directory: Arc<dyn Directory> = match (overrides.directory, &demo) {
        (Some(directory), _) => directory,
        (None, Some(demo)) => Arc::new(demo.directory.clone()),
        (None, None) => Arc::new(StaticDirectory::default()),
    };
    let policy = match (&settings.policy, &demo) {
        (Some(policy), _) => policy.clone(),
        (None, Some(_)) => Policy::demo(),
        (None, None) => Policy::read_only(),
    };
    let policy = Arc::new(match_protected_groups(policy, &okta).await?);
    let mut docs = match (settings.knowledge.sources.is_empty(), &demo) {
        (false, _) => Knowledge::load(settings.knowledge.sources.clone())?,
        (true, Some(_)) => {
            Knowledge::fixed(settings.knowledge.sources.configure(HelpDocs::starter()))
        }
        (true, None) => Knowledge::fixed(HelpDocs::default()),
    };
    if let Some(embeddings) = &settings.knowledge.embeddings {
        docs = docs.with_semantic(crate::knowledge::semantic::Semantic::configured(
            embeddings,
            settings.knowledge.recall,
            settings.knowledge.off_topic.clone(),
        )?);
    }
    let docs = Arc::new(docs);
    let store = match (&settings.database, &mut demo) {
        (Some(database), _) => Store::open_database(database).await?,
        // The demo org starts fresh every time, so its proposals and audit do too.
        (None, Some(demo)) => {
            let dir = tempfile::Builder::new()
                .prefix("okta-agent-demo-")
                .tempdir()
                .map_err(RuntimeError::TempDir)?;
            let store = Store::open(&dir.path().join("okta-agent.db")).await?;
            demo._state = Some(dir);
            store
        }
        (None, None) => Store::open_url(DEFAULT_DATABASE_URL).await?,
    };
    let limits = overrides.limits.unwrap_or_default();
    let model: Option<Arc<dyn ModelClient>> = match (overrides.model, &settings.llm) {
        (Some(model), _) => Some(model),
        (None, Some(llm)) => Some(Arc::new(OpenAiModel::new(llm, limits.turn_timeout)?)),
        (None, None) => None,
    };
    let audit_keys = Arc::new(match &settings.audit_key {
        AuditKeySource::Env(key) => AuditKeys::parse(key.expose(), "OKTA_AGENT_AUDIT_KEY")?,
        AuditKeySource::File(path) => AuditKeys::load_or_create(path, &store).await?,
        // Configuration refuses PostgreSQL without a key of its own, so this is SQLite.
        AuditKeySource::BesideDatabase => {
            AuditKeys::load_or_create(
                &crate::audit::default_key_path(std::path::Path::new(store.location())),
                &store,
            )
            .await?
        }
    });
    let resolver = Resolver::new(okta.clone(), directory);
    let toolbox = Toolbox::new(resolver.clone(), policy.clone(), docs);
    let agent = Agent::new(toolbox, model, limits);
    let clock = overrides.clock.unwrap_or_else(|| Arc::new(SystemWallClock));
    let engine = Engine::new(Parts {
        agent,
        resolver,
        policy,
        store: Arc::new(store),
        audit_keys,
        clock,
        mode: overrides.mode,
    });
    // What IT admins taught the help assistant (kept in the store) is in use from the start.
    engine.refresh_learned().await?;
    Ok(Runtime {
        engine: Arc::new(engine),
        okta,
        demo,
    })
}

/// Matches each configured protected group to one Okta group id: an id as given (it must
/// exist), or a name that equals exactly one group's name. A look-alike never matches, and a
/// group renamed later stays protected because its id does. A name that matches nothing stops
/// the start: a protected group that protects nothing is a silent hole.
pub async fn match_protected_groups(
    policy: Policy,
    okta: &OktaClient,
) -> Result<Policy, RuntimeError> {
    let mut ids = Vec::new();
    for entry in policy.protected_group_names() {
        match okta.group_named(entry).await? {
            crate::okta::NamedGroup::Found(id) => ids.push(id),
            crate::okta::NamedGroup::NoSuchId => {
                return Err(RuntimeError::ProtectedGroup(format!(
                    "Okta has no group with id {entry}; fix the id or remove it"
                )))
            }
            crate::okta::NamedGroup::NoneNamed => {
                return Err(RuntimeError::ProtectedGroup(format!(
                    "no Okta group is named exactly '{entry}' (names are matched exactly, case included); fix the name or give the group's id (00g…)"
                )))
            }
            crate::okta::NamedGroup::SeveralNamed => {
                return Err(RuntimeError::ProtectedGroup(format!(
                    "several Okta groups are named '{entry}'; give the group's id (00g…) instead"
                )))
            }
        }
    }
    Ok(policy.with_protected_group_ids(ids))
}
