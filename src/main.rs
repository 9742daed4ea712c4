//! The `okta-agent` command line. Errors are reported with `anyhow` here, at the edge.

#[cfg(feature = "sandbox")]
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use std::io::Write;

use okta_agent::config::Settings;
use okta_agent::okta::SigningKey;
use okta_agent::runtime;
#[cfg(feature = "sandbox")]
use okta_agent::sandbox::{self, Seed};

/// The version and the commit it was built from (`--version`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("OKTA_AGENT_COMMIT"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    name = "okta-agent",
    version = VERSION,
    about = "Manage Okta from Slack, with a human approving every change",
    after_long_help = okta_agent::config::environment_help()
)]
struct Cli {
    /// The config file (TOML). Without it: ./okta-agent.toml, then
    /// /etc/okta-agent/okta-agent.toml. Environment variables override the file.
    #[arg(long, global = true, value_name = "FILE", env = "OKTA_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// Read variables from this env file first (KEY=value lines, as systemd's
    /// EnvironmentFile= and compose's env_file: read them); they win over the inherited
    /// environment. For running `check` by hand with the service's tokens.
    #[arg(long, global = true, value_name = "FILE", env = "OKTA_AGENT_ENV_FILE")]
    env_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Where the settings come from: the flags that name files.
struct Sources {
    /// `--config` as typed (not from OKTA_AGENT_CONFIG, which the settings read themselves,
    /// so they can say where the file came from).
    config: Option<PathBuf>,
    env_file: Option<PathBuf>,
}

impl Sources {
    fn settings(&self) -> Result<Settings> {
        Ok(Settings::from_env(
            self.config.as_deref(),
            self.env_file.as_deref(),
        )?)
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the Okta simulator (a fake org) over HTTP, for tests and demos.
    #[cfg(feature = "sandbox")]
    Sandbox {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8089")]
        listen: SocketAddr,
        /// Seed file (TOML) with users, groups, apps and roles; default: the built-in demo org.
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
        /// Client id of the registered service app.
        #[arg(long, requires = "jwks")]
        client_id: Option<String>,
        /// Public keys (a JWKS document or one JWK) accepted for client assertions.
        #[arg(long, value_name = "FILE", requires = "client_id")]
        jwks: Option<PathBuf>,
        /// Scopes granted to the client (default: all okta-agent uses).
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// Require DPoP-bound tokens, like new Okta service apps do by default.
        #[arg(long)]
        dpop_required: bool,
        /// The app's admin role as a custom role with exactly these permissions (Okta's
        /// catalog names, e.g. okta.users.read,okta.iam.read); default: a role that covers
        /// everything. Calls the role does not allow get 403 E0000006, as in Okta.
        #[arg(long, value_delimiter = ',')]
        permissions: Option<Vec<String>>,
        /// A fault to inject from the start, as the control API's JSON, e.g.
        /// '{"kind":"rate_limit","count":3,"reset_in_secs":2}'. Repeatable.
        #[arg(long = "fault", value_name = "JSON")]
        faults: Vec<String>,
    },
    /// Serve Slack over Socket Mode: requests in threads, approval cards, exactly-once execution.
    #[command(after_long_help = okta_agent::config::environment_help())]
    Run,
    /// Talk to the agent in the terminal (the built-in demo org when no Okta org is configured).
    #[command(after_long_help = okta_agent::config::environment_help())]
    Chat {
        /// The Slack user id you are typing as (demo default: U0LEO, an IT admin).
        #[arg(long = "as", value_name = "SLACK_USER_ID")]
        as_user: Option<String>,
        /// Read the conversation from a file, one typed line per line (answers to cards too).
        #[arg(long, value_name = "FILE")]
        script: Option<PathBuf>,
    },
    /// Verify or export the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// What is waiting: proposals no one has decided yet and jobs not yet run (time-bound
    /// access ending, approvals after a grace window), with id, age, requester and what each
    /// waits for.
    Pending {
        #[arg(long, value_enum, default_value = "table")]
        format: okta_agent::audit::ExportFormat,
    },
    /// List the tools the model may call, or rewrite their schema files (`--write tools`).
    Tools {
        /// Write `<name>.json` for every tool into this folder.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
    /// Check a setup end to end: one ✓/✗ line per fact, exit 1 on any ✗.
    ///
    /// It checks the config file in force and where each secret came from; Okta (org URL,
    /// proxy, access token, granted against requested scopes, one read call, one user's and one
    /// group's admin roles, the actions the scopes allow and those the policy names but they
    /// forbid, protected groups); the policy, planner, audit key, database, automations and
    /// help documents; Slack (the bot token and its scopes, the app token, and that the bot is
    /// in every configured channel, with how to invite it where it is not).
    #[command(after_long_help = okta_agent::config::environment_help())]
    Check,
    /// Set up a host: the config, keys and env file a deployment needs, and the next steps.
    ///
    /// Writes a commented okta-agent.toml, the Okta private key okta.pem (printing its public
    /// JWK to paste into Okta), the audit key and an env file for the tokens into DIR, under the
    /// names the deploy files use, with modes the service user can read. Never overwrites
    /// anything.
    Init {
        /// The folder, e.g. /etc/okta-agent (created with mode 0755 if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The deployment the files are for: systemd (deploy/okta-agent.service) or compose
        /// (deploy/compose.yml; the secrets are given to the container's user, uid 65532).
        #[arg(long, value_enum, default_value = "systemd")]
        layout: okta_agent::init::Layout,
        /// Where the service keeps its database (the unit's StateDirectory).
        #[arg(long, value_name = "DIR", default_value = okta_agent::init::STATE_DIR)]
        state_dir: PathBuf,
        /// An EC P-256 (ES256) key instead of RSA 2048.
        #[arg(long)]
        ec: bool,
    },
    /// Help documents: write the starter set into a folder to edit (`--write DIR`), show how
    /// the configured documents answer a message and why (`--ask "…"`), or review what IT
    /// admins taught the assistant (`--learned`, `--learned --export`, `--forget ID`).
    HelpDocs {
        /// Write the starter documents into this folder (existing files are kept).
        #[arg(long, value_name = "DIR", required_unless_present_any = ["ask", "learned", "forget"])]
        write: Option<PathBuf>,
        /// A help-channel message to try against the documents.
        #[arg(long, value_name = "MESSAGE", conflicts_with_all = ["write", "learned", "forget"])]
        ask: Option<String>,
        /// List the learned phrasings: questions an admin said a document answers.
        #[arg(long, conflicts_with_all = ["write", "forget"])]
        learned: bool,
        /// With --learned: print them as front-matter `questions:` to paste into the documents.
        #[arg(long, requires = "learned")]
        export: bool,
        /// Forget the learned phrasing with this id (audited).
        #[arg(long, value_name = "ID", conflicts_with = "write")]
        forget: Option<i64>,
    },
    /// Generate a key pair for the Okta service app (DIR/okta.pem) and print its public JWK;
    /// or, with `--audit-key FILE`, make the audit key file (or rotate: append a new key to it).
    Keygen {
        /// Directory for the private key, okta.pem (created with mode 0755 if missing).
        #[arg(long, value_name = "DIR", required_unless_present = "audit_key")]
        out: Option<PathBuf>,
        /// An EC P-256 (ES256) key instead of RSA 2048.
        #[arg(long)]
        ec: bool,
        /// Make the audit key file, or append a new key to it (rotation).
        #[arg(long, value_name = "FILE", conflicts_with_all = ["out", "ec"])]
        audit_key: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check every link of the hash chain; prints the record count and head hash to anchor.
    Verify,
    /// Write the records to stdout, after verifying the whole chain; the filters keep only the
    /// records they match (all must match). Streams: memory stays flat however long the chain.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: okta_agent::audit::ExportFormat,
        /// From this time on: a date (2026-12-01), a UTC date and time, or a span back (24h, 7d).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Before this time (same forms as --since).
        #[arg(long, value_name = "WHEN")]
        until: Option<String>,
        /// Requested or approved by this Slack user id.
        #[arg(long, value_name = "SLACK_USER_ID")]
        actor: Option<String>,
        /// About this Okta login or user id.
        #[arg(long, value_name = "LOGIN")]
        target: Option<String>,
        /// This action (a tool name, e.g. unlock_user).
        #[arg(long, value_name = "TOOL")]
        action: Option<String>,
        /// This outcome or event (executed, failed, denied, rejected, expired, unknown, …).
        #[arg(long, value_name = "OUTCOME")]
        outcome: Option<String>,
    },
}

/// jemalloc gives freed memory back to the system (a background thread purges it a second
/// after it is freed, and only the ack path's threads keep caches of freed blocks, small ones:
/// `.cargo/config.toml`);
/// glibc's malloc keeps what a burst used, per thread arena, for the life of the process.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The runtime `main` runs on: for `run`, the one that reads Slack's sockets and sends the
/// acks (the deliveries' work has a runtime of its own).
fn main_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .on_thread_start(keep_a_small_cache_of_freed_blocks)
        .enable_all()
        .build()
}

/// Runs on each thread of the main runtime. Only these threads cache freed blocks (the
/// allocator's settings keep each cache small: `.cargo/config.toml`). Without a cache every
/// allocation and free takes its arena's lock, and in a burst that was a quarter of the ack
/// path's time. The work threads and the database driver's keep none, so a thread idle after a
/// burst holds no freed pages.
fn keep_a_small_cache_of_freed_blocks() {
    // SAFETY: "thread.tcache.enabled" is a bool, which is what is written.
    if let Err(e) = unsafe { tikv_jemalloc_ctl::raw::write(b"thread.tcache.enabled\0", true) } {
        tracing::debug!(error = %e, "the allocator's thread cache stays off");
    }
}

fn main() -> Result<()> {
    okta_agent::install_crypto_provider();
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches)?;
    if matches.value_source("config") == Some(clap::parser::ValueSource::EnvVariable) {
        // The settings read OKTA_AGENT_CONFIG themselves and say that is where it came from.
        cli.config = None;
    }
    // The terminal chat is a conversation: only warnings go to stderr unless RUST_LOG says more.
    let default_level = if matches!(cli.command, Command::Chat { .. }) {
        "warn"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        // One JSON object per line, with the span fields (request ids) of each event.
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            // Colour only for a person at a terminal; log files and collectors get plain text.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let runtime = main_runtime().context("starting the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    let sources = Sources {
        config: cli.config,
        env_file: cli.env_file,
    };
    match cli.command {
        #[cfg(feature = "sandbox")]
        Command::Sandbox {
            listen,
            seed,
            client_id,
            jwks,
            scopes,
            dpop_required,
            permissions,
            faults,
        } => {
            let faults = faults
                .iter()
                .map(|f| {
                    serde_json::from_str::<sandbox::Fault>(f).with_context(|| {
                        format!("--fault '{f}' is not a fault (kind: rate_limit, server_error or latency)")
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            serve_sandbox(
                listen,
                seed.as_deref(),
                ClientFlags {
                    client_id,
                    jwks,
                    scopes,
                    dpop_required,
                    permissions,
                },
                faults,
            )
            .await
        }
        Command::Run => serve_slack(&sources).await,
        Command::Chat { as_user, script } => chat(&sources, as_user, script.as_deref()).await,
        Command::Audit { command } => audit(&sources, command).await,
        Command::Pending { format } => pending(&sources, format).await,
        Command::Tools { write } => tools(write.as_deref()),
        Command::Check => check(&sources).await,
        Command::Init {
            dir,
            layout,
            state_dir,
            ec,
        } => {
            // Under sudo, the files to edit go to the person who ran it (compose reads the env
            // file as them).
            let id = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
            let editor = id("SUDO_UID").zip(id("SUDO_GID"));
            let report = okta_agent::init::init(okta_agent::init::InitOptions {
                dir,
                layout,
                state_dir,
                ec,
                editor,
            })?;
            print!("{}", report.render());
            Ok(())
        }
        Command::HelpDocs {
            learned: true,
            export,
            ..
        } => learned_phrasings(&sources, export).await,
        Command::HelpDocs {
            forget: Some(id), ..
        } => forget_phrasing(&sources, id).await,
        Command::HelpDocs { write, ask, .. } => help_docs(&sources, write.as_deref(), ask).await,
        Command::Keygen {
            audit_key: Some(path),
            ..
        } => audit_keygen(&path),
        Command::Keygen { out, ec, .. } => match out {
            Some(out) => keygen(&out, ec),
            None => bail!("keygen needs --out DIR (an Okta key) or --audit-key FILE"),
        },
    }
}

async fn help_docs(sources: &Sources, write: Option<&Path>, ask: Option<String>) -> Result<()> {
    if let Some(dir) = write {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, text) in okta_agent::knowledge::STARTER {
            let path = dir.join(name);
            if path.exists() {
                println!("kept     {} (it exists)", path.display());
                continue;
            }
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote    {}", path.display());
        }
        println!(
            "\nEdit them, add your own (.md with front matter, .txt or .html), and set\n[knowledge]\npath = \"{}\"\nin the config file.",
            dir.display()
        );
        return Ok(());
    }
    let Some(message) = ask else {
        bail!("help-docs needs --write DIR or --ask MESSAGE");
    };
    let settings = sources.settings()?;
    let (docs, problems) = if settings.knowledge.sources.is_empty() {
        println!("No [knowledge] sources are configured: trying the starter documents.");
        (
            settings
                .knowledge
                .sources
                .configure(okta_agent::knowledge::HelpDocs::starter()),
            Vec::new(),
        )
    } else {
        let sources = settings.knowledge.sources.clone();
        tokio::task::spawn_blocking(move || sources.load()).await??
    };
    for problem in problems {
        println!("skipped  {problem}");
    }
    // As the service answers: with what IT admins taught it, and by meaning when configured.
    let learned = match open_store(&settings).await {
        Ok(store) => store.learned_phrasings().await?,
        Err(e) => {
            println!("Learned phrasings not applied: {e:#}");
            Vec::new()
        }
    };
    let learned: Vec<okta_agent::knowledge::LearnedPhrasing> =
        learned.into_iter().map(Into::into).collect();
    let mut knowledge = okta_agent::knowledge::Knowledge::fixed(docs.with_learned(&learned));
    if let Some(embeddings) = &settings.knowledge.embeddings {
        knowledge = knowledge.with_semantic(okta_agent::knowledge::semantic::Semantic::configured(
            embeddings,
            settings.knowledge.recall,
            settings.knowledge.off_topic.clone(),
        )?);
        println!("Embedding the documents with {}…", embeddings.model);
    }
    let knowledge = std::sync::Arc::new(knowledge);
    knowledge.refresh().await?;
    let semantic = knowledge.semantic().is_some();
    if semantic && !knowledge.current().has_vectors() {
        println!("The documents could not be embedded (see the warning above): keywords alone, as the service would answer until they are.");
    }
    match knowledge.explain_async(&message).await {
        Ok(explained) => print!("{explained}"),
        Err(e) => {
            println!("The question could not be embedded ({e}): keywords alone, as the service would answer.");
            print!("{}", knowledge.current().explain(&message));
        }
    }
    Ok(())
}

/// The `sandbox` flags about the registered client.
#[cfg(feature = "sandbox")]
struct ClientFlags {
    client_id: Option<String>,
    jwks: Option<PathBuf>,
    scopes: Option<Vec<String>>,
    dpop_required: bool,
    permissions: Option<Vec<String>>,
}

#[cfg(feature = "sandbox")]
async fn serve_sandbox(
    listen: SocketAddr,
    seed_path: Option<&Path>,
    flags: ClientFlags,
    faults: Vec<sandbox::Fault>,
) -> Result<()> {
    let ClientFlags {
        client_id,
        jwks: jwks_path,
        scopes,
        dpop_required,
        permissions,
    } = flags;
    let seed = match seed_path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading seed file {}", path.display()))?;
            Seed::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => Seed::demo()?,
    };
    let mut generated_key = None;
    let client = match (client_id, jwks_path.as_deref()) {
        (Some(id), Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading JWKS file {}", path.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            Some(sandbox::registered_client(
                id,
                sandbox::parse_jwks(&value)?,
                scopes,
                dpop_required,
            ))
        }
        _ if seed.client.is_some() => None,
        _ => {
            let (mut client, key, pem) = sandbox::generated_client("0oasandboxclient0000")?;
            if let Some(scopes) = scopes {
                client.granted_scopes = scopes;
            }
            client.dpop_required = dpop_required;
            generated_key = Some((key, pem));
            Some(client)
        }
    };
    let running = sandbox::start(listen, &seed, client).await?;
    if let Some(permissions) = permissions {
        // Over the seed's, as every flag is.
        if let Some(client) = running.state.lock().auth.client.as_mut() {
            client.permissions = Some(permissions);
        }
    }
    running.state.lock().faults.extend(faults);
    let url = running.url();
    println!("Okta simulator serving {} users at {url}", seed.users.len());
    println!("Control API: {url}/__sandbox/ (mutations, requests, stats, users, faults, client, tokens/revoke)");
    if let Some((key, pem)) = generated_key {
        let path =
            std::env::temp_dir().join(format!("okta-agent-sandbox-{}.pem", running.addr.port()));
        write_private_key(&path, pem.expose(), true)?;
        println!(
            "\nA client was registered with a fresh key. To point okta-agent at this simulator:\n"
        );
        println!("export OKTA_ORG_URL={url}");
        println!("export OKTA_CLIENT_ID=0oasandboxclient0000");
        println!("export OKTA_KEY_ID={}", key.kid());
        println!("export OKTA_PRIVATE_KEY_FILE={}", path.display());
    }
    println!("\nPress Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    running.stop().await;
    Ok(())
}

async fn serve_slack(sources: &Sources) -> Result<()> {
    let settings = sources.settings()?;
    log_settings(&settings);
    okta_agent::slack::run(&settings, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C. The SIGTERM handler is installed now, before `run` starts
/// anything: a SIGTERM that arrives while it connects stops it cleanly instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut terminate) = terminate {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The config file in force and where each secret came from, at start-up (never a value).
fn log_settings(settings: &Settings) {
    let described = okta_agent::config::describe_config(
        settings.config_file.as_deref(),
        &settings.config_origin,
    );
    if settings.config_file.is_some() {
        tracing::info!(config = %described, "config file");
    } else {
        tracing::warn!("config file: {described}");
    }
    if settings.policy.is_none() {
        tracing::warn!("no [policy]: okta-agent runs read-only (read tools and help documents only); name admins in [policy] to allow changes");
    }
    for (what, source) in &settings.secret_sources {
        tracing::info!(secret = what, from = %source, "secret in force");
    }
}

async fn chat(sources: &Sources, as_user: Option<String>, script: Option<&Path>) -> Result<()> {
    let settings = sources.settings()?;
    let mut overrides = runtime::Overrides::default();
    if settings.okta.is_some() {
        // A terminal cannot prove it is a Slack admin: against a real org, chat only shows.
        overrides.mode = okta_agent::engine::Mode::DryRun;
        // People are looked up in Slack when the bot token is configured.
        if let Some(slack) = &settings.slack {
            let web = okta_agent::slack::web::SlackWeb::new(
                okta_agent::http::http_client(std::time::Duration::from_secs(15))?,
                &slack.api_url,
                slack.bot_token.clone(),
            );
            let me = web
                .auth_test()
                .await
                .context("the Slack bot token was refused (auth.test)")?;
            overrides.directory = Some(std::sync::Arc::new(
                okta_agent::slack::directory::SlackDirectory::new(
                    web,
                    std::time::Duration::from_secs(600),
                    okta_agent::slack::directory::Workspace {
                        team_id: me.team_id,
                        enterprise_id: me.enterprise_id,
                    },
                ),
            ));
        }
    }
    let runtime = runtime::assemble(&settings, overrides).await?;
    if runtime.engine.agent().knowledge().semantic().is_some() {
        // `run` embeds in the background; a chat session waits for it once, at the start.
        runtime.engine.agent().knowledge().refresh().await?;
    }
    let acting_as = match (as_user, &runtime.demo) {
        (Some(id), _) => id,
        (None, Some(_)) => "U0LEO".to_string(),
        (None, None) => bail!("--as SLACK_USER_ID is required with a real Okta org: okta-agent acts only for a known Slack user"),
    };
    let directory = runtime.demo.as_ref().map(|d| &d.directory);
    let mut stdout = std::io::stdout().lock();
    let engine = runtime.engine.clone();
    if script.is_none() {
        let org = match &runtime.demo {
            Some(demo) => format!("the built-in demo org (simulated Okta at {})", demo.org_url),
            None => format!("{}", runtime.okta.org_url()),
        };
        let planner = if engine.agent().uses_model() {
            "the configured language model"
        } else {
            "the built-in command engine (no LLM configured)"
        };
        writeln!(stdout, "okta-agent chat: {org}, planning with {planner}.")?;
        writeln!(stdout, "Typing as {acting_as}. Type `help` for examples, `/as U0GRACE` to switch person, `/quit` to leave.\n")?;
    }
    if runtime.demo.is_none() {
        writeln!(stdout, "(Dry run: against a real org, chat shows what would be proposed and what policy decides; it never stores, approves or executes anything. Approvals happen in Slack.)\n")?;
    }
    let automations = match (&runtime.demo, settings.automations.reactions.is_empty()) {
        (Some(_), true) => okta_agent::automations::Automations::demo(),
        _ => settings.automations.clone(),
    };
    let session =
        okta_agent::chat::ChatSession::new(&engine, directory, &acting_as, script.is_some())
            .with_automations(automations);
    let summary = match script {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("opening script {}", path.display()))?;
            session
                .run(&mut std::io::BufReader::new(file), &mut stdout)
                .await?
        }
        None => {
            session
                .run(&mut std::io::stdin().lock(), &mut stdout)
                .await?
        }
    };
    tracing::debug!(?summary, "chat finished");
    Ok(())
}

async fn open_store(settings: &Settings) -> Result<okta_agent::store::Store> {
    let database = settings.database_or_default();
    match database.kind()? {
        okta_agent::store::DatabaseKind::Sqlite(path) => {
            if !path.exists() {
                bail!("no database at {} (DATABASE_URL={}); run okta-agent there first, or point DATABASE_URL at its database", path.display(), database.url());
            }
            Ok(okta_agent::store::Store::open(&path).await?)
        }
        okta_agent::store::DatabaseKind::Postgres(_) => {
            Ok(okta_agent::store::Store::open_database(&database).await?)
        }
    }
}

/// The audit keys as configured; the file must exist (verifying never makes a key).
fn audit_keys(
    settings: &Settings,
    store: &okta_agent::store::Store,
) -> Result<okta_agent::audit::AuditKeys> {
    use okta_agent::config::AuditKeySource;
    Ok(match &settings.audit_key {
        AuditKeySource::Env(key) => {
            okta_agent::audit::AuditKeys::parse(key.expose(), "OKTA_AGENT_AUDIT_KEY")?
        }
        AuditKeySource::File(path) => okta_agent::audit::AuditKeys::load(path)?,
        AuditKeySource::BesideDatabase if !store.is_sqlite() => bail!(
            "the audit key of a PostgreSQL store is set with OKTA_AGENT_AUDIT_KEY_FILE (or OKTA_AGENT_AUDIT_KEY)"
        ),
        AuditKeySource::BesideDatabase => okta_agent::audit::AuditKeys::load(
            &okta_agent::audit::default_key_path(Path::new(store.location())),
        )
        .context("the audit key is needed to verify the chain; set OKTA_AGENT_AUDIT_KEY_FILE to the key file okta-agent uses")?,
    })
}

fn audit_keygen(path: &Path) -> Result<()> {
    let existed = path.exists();
    let keys = okta_agent::audit::AuditKeys::add_key(path)?;
    println!(
        "{} {} (mode 0600). Signing key id: {}{}",
        if existed {
            "Appended a new audit key to"
        } else {
            "Wrote the audit key to"
        },
        path.display(),
        keys.current().id,
        if existed {
            ". Restart okta-agent to sign new records with it; keep the older lines, they verify older records."
        } else {
            "."
        }
    );
    println!(
        "Point okta-agent at it with OKTA_AGENT_AUDIT_KEY_FILE={}",
        path.display()
    );
    Ok(())
}

/// `help-docs --learned`: the learned phrasings, as a table or as front-matter patches.
async fn learned_phrasings(sources: &Sources, export: bool) -> Result<()> {
    let settings = sources.settings()?;
    let store = open_store(&settings).await?;
    let rows = store.learned_phrasings().await?;
    if export {
        print!(
            "{}",
            okta_agent::engine::learning::front_matter_patches(&rows)
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("No learned phrasings yet. An IT admin teaches one by replying in a help-channel thread with a link to a help document, or with the escalation's \"Which doc answers this?\" menu.");
        return Ok(());
    }
    // A phrasing of a document that is no longer in the help docs answers nothing: say so.
    let sources = settings.knowledge.sources.clone();
    let known: Option<Vec<String>> = if sources.is_empty() {
        None
    } else {
        tokio::task::spawn_blocking(move || {
            sources
                .load()
                .ok()
                .map(|(docs, _)| docs.docs().iter().map(|d| d.source.clone()).collect())
        })
        .await?
    };
    println!(
        "{:>5}  {:<24}  {:<12}  {:<23}  phrasing",
        "id", "document", "taught by", "when"
    );
    let mut orphans = 0;
    for row in &rows {
        let gone = known.as_ref().is_some_and(|docs| !docs.contains(&row.doc));
        orphans += usize::from(gone);
        println!(
            "{:>5}  {:<24}  {:<12}  {:<23}  {}{}",
            row.id,
            row.doc,
            row.taught_by,
            okta_agent::clock::format_utc(row.taught_at),
            row.phrasing,
            if gone {
                "  (its document is no longer in the help docs: it answers nothing)"
            } else {
                ""
            }
        );
    }
    if orphans > 0 {
        println!("\n{orphans} of them point at a document that is gone: `--forget ID` them, or put the document back.");
    }
    println!("\n{} learned phrasing(s). `--learned --export` prints them as front matter; `--forget ID` removes one.", rows.len());
    Ok(())
}

/// `help-docs --forget ID`: removes a learned phrasing, audited under the operator's name.
async fn forget_phrasing(sources: &Sources, id: i64) -> Result<()> {
    let settings = sources.settings()?;
    let store = open_store(&settings).await?;
    let keys = audit_keys(&settings, &store)?;
    let operator = format!(
        "command line ({})",
        std::env::var("USER").unwrap_or_else(|_| "unknown user".into())
    );
    let now = okta_agent::clock::WallClock::now(&okta_agent::clock::SystemWallClock);
    match okta_agent::engine::learning::forget_learned(&store, &keys, id, &operator, now).await? {
        Some(row) => {
            println!(
                "forgot #{id}: {:?} (a phrasing of {}). Running processes stop using it within a lease interval.",
                row.phrasing, row.doc
            );
            Ok(())
        }
        None => {
            bail!("there is no learned phrasing #{id}; `okta-agent help-docs --learned` lists them")
        }
    }
}

/// `okta-agent pending`: open proposals and scheduled jobs, from the store.
async fn pending(sources: &Sources, format: okta_agent::audit::ExportFormat) -> Result<()> {
    let settings = sources.settings()?;
    let store = open_store(&settings).await?;
    let now = okta_agent::clock::WallClock::now(&okta_agent::clock::SystemWallClock);
    let items = okta_agent::pending::waiting(&store, now).await?;
    let mut out = std::io::stdout().lock();
    okta_agent::pending::write(&items, format, &mut out)?;
    Ok(())
}

async fn audit(sources: &Sources, command: AuditCommand) -> Result<()> {
    let settings = sources.settings()?;
    let store = open_store(&settings).await?;
    let keys = audit_keys(&settings, &store)?;
    match command {
        AuditCommand::Verify => {
            match okta_agent::audit::verify(&store, &keys).await {
                Ok(head) => {
                    println!("✓ audit chain intact: {} record(s)", head.count);
                    if head.unsigned > 0 {
                        println!("  the first {} record(s) predate keyed audit and are plain SHA-256 links", head.unsigned);
                    }
                    println!("head hash: {}", head.head_hash);
                    println!("Keep a copy of the head hash elsewhere: a chain cannot show records cut off its end.");
                    Ok(())
                }
                Err(e) => {
                    println!("✗ {e}");
                    std::process::exit(1);
                }
            }
        }
        AuditCommand::Export {
            format,
            since,
            until,
            actor,
            target,
            action,
            outcome,
        } => {
            let now = okta_agent::clock::WallClock::now(&okta_agent::clock::SystemWallClock);
            let when = |text: Option<String>, flag: &str| -> Result<Option<i64>> {
                text.map(|t| {
                    okta_agent::clock::parse_time(&t, now)
                        .map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
                })
                .transpose()
            };
            if let Some(tool) = action.as_deref() {
                if okta_agent::tools::Tool::from_name(tool).is_none() {
                    bail!("--action: '{tool}' is not an action; `okta-agent tools` lists them");
                }
            }
            let filter = okta_agent::audit::AuditFilter {
                since: when(since, "since")?,
                until: when(until, "until")?,
                actor,
                target,
                action,
                outcome,
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let exported =
                okta_agent::audit::export(&store, &keys, format, &filter, &mut out).await;
            std::io::Write::flush(&mut out)?;
            match exported {
                Ok(done) => {
                    eprintln!(
                        "exported {} of {} record(s); head hash {}",
                        done.written, done.head.count, done.head.head_hash
                    );
                    Ok(())
                }
                Err(e) => {
                    eprintln!("✗ {e}");
                    std::process::exit(1);
                }
            }
        }
    }
}

fn tools(write: Option<&Path>) -> Result<()> {
    if let Some(dir) = write {
        for path in okta_agent::tools::write_definitions(dir)
            .with_context(|| format!("writing tool schemas into {}", dir.display()))?
        {
            println!("wrote {}", path.display());
        }
        return Ok(());
    }
    for tool in okta_agent::tools::Tool::ALL {
        println!(
            "{:<24} {:<12} {}",
            tool.name(),
            format!("{:?}", tool.risk()).to_lowercase(),
            tool.description()
        );
    }
    Ok(())
}

async fn check(sources: &Sources) -> Result<()> {
    let settings = sources.settings()?;
    let lines = okta_agent::check::all(&settings).await;
    for line in &lines {
        println!("{line}");
    }
    if lines.iter().all(|l| l.ok) {
        Ok(())
    } else {
        std::process::exit(1);
    }
}

fn keygen(out: &Path, ec: bool) -> Result<()> {
    let (key, pem) = if ec {
        SigningKey::generate_ec()?
    } else {
        SigningKey::generate_rsa()?
    };
    create_dir(out)?;
    let path = out.join(okta_agent::init::OKTA_KEY_FILE);
    write_private_key(&path, pem.expose(), false)?;
    println!(
        "Wrote the private key to {} (mode 0600). Keep it secret.\n",
        path.display()
    );
    println!("Public key: in the Okta Admin Console open the API Services app, General > Public Keys > Add key, and paste:\n");
    println!("{}\n", serde_json::to_string_pretty(&key.public_jwk())?);
    println!("Then set:\n");
    println!("OKTA_KEY_ID={}", key.kid());
    println!("OKTA_PRIVATE_KEY_FILE={}", path.display());
    Ok(())
}

/// Creates `dir` readable by all (mode 0755): it holds the config file a service user reads
/// too; the key in it is mode 0600 on its own.
fn create_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o755);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Writes a private key readable only by the owner. Refuses to overwrite unless `replace`.
fn write_private_key(path: &Path, pem: &str, replace: bool) -> Result<()> {
    use std::io::Write;
    if path.exists() && !replace {
        bail!(
            "{} already exists; move it away or choose another --out directory",
            path.display()
        );
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).truncate(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    fn thread_cache_enabled() -> bool {
        // SAFETY: "thread.tcache.enabled" is a bool, which is what is read.
        unsafe { tikv_jemalloc_ctl::raw::read::<bool>(b"thread.tcache.enabled\0") }.unwrap()
    }

    #[test]
    fn only_the_main_runtime_caches_freed_blocks() {
        let elsewhere = std::thread::spawn(thread_cache_enabled).join().unwrap();
        assert!(!elsewhere, "threads keep no cache unless they ask for one");
        let runtime = super::main_runtime().unwrap();
        let on_a_worker = runtime
            .block_on(runtime.spawn(async { thread_cache_enabled() }))
            .unwrap();
        assert!(on_a_worker, "the ack path's threads cache freed blocks");
        let blocking = runtime
            .block_on(runtime.spawn_blocking(thread_cache_enabled))
            .unwrap();
        assert!(blocking, "and so do the runtime's blocking threads");
    }
}
