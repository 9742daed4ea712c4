//! The Slack front end (`okta-agent run`): the slack-morphism Socket Mode listener, whose
//! callbacks only persist and spawn (so every envelope is acked at once), the Web API client,
//! the Slack directory, Block Kit rendering, and the Slack lines of `check`.

pub mod app;
pub mod blocks;
pub mod decode;
pub mod directory;
pub mod markup;
pub mod socket;
pub mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use slack_morphism::prelude::*;
use tracing::{error, info, warn};

use crate::config::{Settings, SlackSettings};
use crate::runtime::{self, Overrides};
use app::{AcceptError, SlackApp};
use directory::{SlackDirectory, Workspace};
use web::SlackWeb;

/// The bot scopes okta-agent needs (see `manifest.yml`).
pub const REQUIRED_BOT_SCOPES: &[&str] = &[
    "app_mentions:read",
    "chat:write",
    "commands",
    "im:history",
    "reactions:read",
    "reactions:write",
    "users:read",
    "users:read.email",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "usergroups:read",
];

/// The events okta-agent subscribes to (see `manifest.yml`): requests, help-channel
/// questions, `user_change`, which drops a person's cached profile at once, and
/// `subteam_members_changed`, which re-reads the admins named by Slack user group.
pub const BOT_EVENTS: &[&str] = &[
    "app_mention",
    "message.im",
    "message.channels",
    "message.groups",
    "user_change",
    "reaction_added",
    "reaction_removed",
    "subteam_members_changed",
    "app_home_opened",
];

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("okta-agent run needs Slack: set SLACK_APP_TOKEN and SLACK_BOT_TOKEN (see the README's setup)")]
    NoSlack,
    #[error("okta-agent run needs a real Okta org: set OKTA_ORG_URL, OKTA_CLIENT_ID and OKTA_PRIVATE_KEY_FILE (the built-in demo org is for `chat`)")]
    NoOkta,
    #[error("the Slack bot token was refused: {0}")]
    BotToken(web::SlackError),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("could not start Socket Mode: {0}")]
    Listener(String),
}

/// How often due jobs are looked for.
const JOB_POLL: Duration = Duration::from_secs(1);

/// How long shutdown waits for work in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs until `shutdown` resolves, then stops taking work, finishes what is in flight and
/// closes the sockets.
pub async fn run(settings: &Settings, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let slack = settings.slack.as_ref().ok_or(RunError::NoSlack)?;
    if settings.okta.is_none() {
        return Err(RunError::NoOkta);
    }
    let http = crate::http::http_client(Duration::from_secs(15))?;
    let web = SlackWeb::new(http.clone(), &slack.api_url, slack.bot_token.clone());
    let me = web.auth_test().await.map_err(RunError::BotToken)?;
    info!(bot_user = %me.user_id, team = %me.team, team_id = %me.team_id, "Slack bot token accepted");
    let directory = Arc::new(SlackDirectory::new(
        web.clone(),
        Duration::from_secs(600),
        Workspace {
            team_id: me.team_id.clone(),
            enterprise_id: me.enterprise_id.clone(),
        },
    ));
    let runtime = runtime::assemble(
        settings,
        Overrides {
            directory: Some(directory),
            ..Overrides::default()
        },
    )
    .await?;
    // This process's lease: in-flight work it takes is its own while the lease is renewed.
    runtime.engine.renew_lease(settings.lease_seconds).await?;
    info!(instance = %runtime.engine.instance(), lease_seconds = settings.lease_seconds, "instance lease taken");
    let mut recovered = runtime
        .engine
        .recover()
        .await
        .map_err(runtime::RuntimeError::from)?;
    if recovered.merged > 0 {
        warn!(
            count = recovered.merged,
            "outcomes kept in the recovery file were recorded"
        );
    }
    if recovered.unknown > 0 {
        warn!(
            count = recovered.unknown,
            "actions interrupted by the last stop were marked unknown"
        );
    }
    purge_inbound(&runtime.engine, settings.inbound_retention_days).await;
    log_audit_head(&runtime.engine).await;
    let work_runtime =
        WorkThreads(Some(work_threads().map_err(|e| {
            RunError::Listener(format!("cannot start the work threads: {e}"))
        })?));
    let app = Arc::new(SlackApp::new(
        runtime.engine.clone(),
        web,
        me.user_id,
        app::Channels {
            triage: slack.triage_channels.clone(),
            help: slack.help_channels.clone(),
            automations: settings.automations.clone(),
        },
        app::Limits {
            per_person_per_minute: slack.max_requests_per_person_per_minute,
            in_flight: slack.max_requests_in_flight,
            help_answers_per_channel_per_hour: slack.help_answers_per_channel_per_hour,
        },
        work_runtime.handle(),
    ));
    // The cards of actions the last stop interrupted say so.
    app.deliver_to_conversations(std::mem::take(&mut recovered.cards))
        .await;
    let resumed = app.resume_unfinished().await?;
    if resumed > 0 {
        info!(
            count = resumed,
            "resumed deliveries acknowledged before the last stop"
        );
    }
    // Renew the lease; take over the work of processes whose lease lapsed (a replica that
    // died, or this host's previous run killed a moment ago).
    let leases = {
        let (app, engine, lease_seconds) =
            (app.clone(), runtime.engine.clone(), settings.lease_seconds);
        let every = Duration::from_secs((settings.lease_seconds as u64 / 3).max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = engine.renew_lease(lease_seconds).await {
                    warn!(error = %e, "could not renew the instance lease");
                    continue;
                }
                match engine.recover().await {
                    Ok(found) => {
                        if found.unknown > 0 {
                            warn!(
                                count = found.unknown,
                                "actions interrupted in a stopped process were marked unknown"
                            );
                        }
                        app.deliver_to_conversations(found.cards).await;
                    }
                    Err(e) => warn!(error = %e, "could not look for interrupted actions"),
                }
                // Phrasings another replica learned are answered here too.
                if let Err(e) = engine.refresh_learned().await {
                    warn!(error = %e, "could not read the learned help phrasings");
                }
                match app.resume_unfinished().await {
                    Ok(0) => {}
                    Ok(n) => info!(
                        count = n,
                        "took over deliveries a stopped process had acknowledged"
                    ),
                    Err(e) => warn!(error = %e, "could not look for unfinished deliveries"),
                }
            }
        })
    };
    let operations = match settings.server_listen {
        Some(listen) => {
            let (bound, task) =
                crate::server::serve(listen, runtime.engine.clone(), runtime.okta.clone())
                    .await
                    .map_err(|e| {
                        RunError::Listener(format!(
                            "cannot serve the operations endpoint on {listen}: {e}"
                        ))
                    })?;
            info!(listen = %bound, "operations endpoint: /healthz /readyz /metrics");
            Some(task)
        }
        None => None,
    };
    let reload_now = Arc::new(tokio::sync::Notify::new());
    let help_docs = tokio::spawn(crate::knowledge::watch::keep_fresh(
        runtime.engine.agent().knowledge().clone(),
        crate::http::http_client(Duration::from_secs(30))?,
        Duration::from_secs(settings.knowledge.reload_seconds),
        reload_now.clone(),
    ));
    let hangups = tokio::spawn(forward_hangups(hangup_signals(), reload_now));
    // Jobs due later (time-bound access ending, approvals after a grace window), run by
    // whichever process sharing the store claims them first.
    let stop_jobs = tokio_util::sync::CancellationToken::new();
    let jobs = {
        let app = app.clone();
        let stop = stop_jobs.clone();
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(JOB_POLL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A job in progress is finished before stopping: it is never cut off half-done.
            loop {
                tokio::select! {
                    _ = every.tick() => app.run_due_jobs(&owner).await,
                    _ = stop.cancelled() => break,
                }
            }
        })
    };
    // Admins named by group: read now, then every admins_refresh_seconds (and on Slack's
    // subteam_members_changed).
    runtime.engine.refresh_admins().await;
    let admins = (!runtime.engine.policy().admin_groups().is_empty()).then(|| {
        let (engine, stop) = (runtime.engine.clone(), stop_jobs.clone());
        let every = Duration::from_secs(engine.policy().admins_refresh_secs());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => engine.refresh_admins().await,
                    _ = stop.cancelled() => break,
                }
            }
        })
    });
    // Lockouts from the System Log, read by whichever process holds the poller's lease.
    let lockouts = reads_system_log(settings).then(|| {
        let (app, stop) = (app.clone(), stop_jobs.clone());
        let settings = settings.lockouts.clone();
        let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        info!(
            every_seconds = settings.poll_seconds,
            "reading lockouts from the Okta System Log"
        );
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(settings.poll_seconds));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => app.poll_lockouts(&owner, &settings).await,
                    _ = stop.cancelled() => break,
                }
            }
            app.engine().release_lockout_poller(&owner).await;
        })
    });
    let homes = {
        let app = app.clone();
        tokio::spawn(async move { app.refresh_homes().await })
    };
    let listener = start_listener(slack, app.clone(), http.clone()).await?;
    info!("okta-agent is running; press Ctrl-C or send SIGTERM to stop");
    let engine = runtime.engine.clone();
    let retention_days = settings.inbound_retention_days;
    let heartbeat = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3_600));
        every.tick().await;
        loop {
            every.tick().await;
            log_audit_head(&engine).await;
            purge_inbound(&engine, retention_days).await;
        }
    });
    shutdown.await;
    info!(
        in_flight = app.in_flight(),
        "stopping: no new work; finishing what is in flight"
    );
    listener.shutdown().await;
    if tokio::time::timeout(DRAIN_TIMEOUT, app.drain())
        .await
        .is_err()
    {
        warn!(
            "some work was still running after {} s; it will resume at the next start",
            DRAIN_TIMEOUT.as_secs()
        );
    }
    heartbeat.abort();
    help_docs.abort();
    hangups.abort();
    stop_jobs.cancel();
    if let Some(admins) = admins {
        admins.abort();
    }
    homes.abort();
    if let Some(lockouts) = lockouts {
        if tokio::time::timeout(DRAIN_TIMEOUT, lockouts).await.is_err() {
            warn!("the System Log poll was still running at shutdown; its lease lapses by itself");
        }
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, jobs).await.is_err() {
        warn!("a scheduled job was still running at shutdown; another start will take it over");
    }
    leases.abort();
    if let Some(task) = operations {
        task.abort();
    }
    // Nothing is left in flight: give the lease up so nobody waits for it to lapse.
    if let Err(e) = runtime.engine.give_up_lease().await {
        warn!(error = %e, "could not give the instance lease up; it lapses by itself");
    }
    runtime.engine.store().close().await;
    drop(work_runtime);
    info!("stopped cleanly");
    Ok(())
}

/// Whether lockouts are read from the System Log: the org is asked for `okta.logs.read`.
fn reads_system_log(settings: &Settings) -> bool {
    settings
        .okta
        .as_ref()
        .is_some_and(|okta| okta.scopes.iter().any(|s| s == "okta.logs.read"))
}

/// The work runtime's threads, let go without waiting when `run` returns (cleanly or with an
/// error): dropping a runtime inside another one would block it, which tokio refuses.
struct WorkThreads(Option<tokio::runtime::Runtime>);

impl WorkThreads {
    fn handle(&self) -> tokio::runtime::Handle {
        match &self.0 {
            Some(runtime) => runtime.handle().clone(),
            // Only `drop` takes it out.
            None => tokio::runtime::Handle::current(),
        }
    }
}

impl Drop for WorkThreads {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The runtime the deliveries' work runs on (planning, Okta and Web API calls), apart from
/// the one that reads the socket and sends the acks.
fn work_threads() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("okta-agent-work")
        .on_thread_start(yield_to_the_ack_path)
        .enable_all()
        .build()
}

/// How much lower the work threads' priority is than the process's (nice values, capped at
/// 19 by the kernel): they run whenever the ack path's threads have nothing to do. In a burst
/// the work of envelopes already acked would otherwise take the cores from the acks of the
/// next ones, and Slack redelivers what it does not see acked within 3 s. Lowering one's own
/// priority needs no privilege; threads a work thread starts inherit it.
#[cfg(target_os = "linux")]
const WORK_NICENESS: libc::c_int = 10;

/// Runs on each work thread as it starts.
fn yield_to_the_ack_path() {
    // On Linux a nice value belongs to a thread, and nice() changes the calling thread's.
    // SAFETY: nice() reads and writes no memory of ours. Raising a nice value needs no
    // privilege; should it fail anyway (a seccomp profile), the thread keeps the process's.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::nice(WORK_NICENESS);
    }
}

/// SIGHUP, listened for before the listener starts, so a SIGHUP never meets the default
/// action (exit) once `run` is serving.
#[cfg(unix)]
fn hangup_signals() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{signal, SignalKind};
    signal(SignalKind::hangup())
        .map_err(|e| warn!(error = %e, "cannot listen for SIGHUP; help documents still reload when the folder changes"))
        .ok()
}

#[cfg(not(unix))]
fn hangup_signals() -> Option<()> {
    None
}

/// Turns each SIGHUP into a help-document reload.
#[cfg(unix)]
async fn forward_hangups(
    signals: Option<tokio::signal::unix::Signal>,
    reload_now: Arc<tokio::sync::Notify>,
) {
    if let Some(mut signals) = signals {
        while signals.recv().await.is_some() {
            reload_now.notify_one();
        }
    }
}

#[cfg(not(unix))]
async fn forward_hangups(_signals: Option<()>, _reload_now: Arc<tokio::sync::Notify>) {}

/// The audit chain's head, logged so an external log store anchors it.
async fn log_audit_head(engine: &crate::engine::Engine) {
    match engine.verify_audit().await {
        Ok(head) => info!(records = head.count, head_hash = %head.head_hash, "audit chain head"),
        Err(e) => error!(error = %e, "the audit chain does not verify"),
    }
}

/// Deletes finished inbound work, and the message text it holds, older than the retention.
async fn purge_inbound(engine: &crate::engine::Engine, retention_days: u32) {
    match engine.purge_deliveries(retention_days).await {
        Ok(0) => {}
        Ok(n) => info!(rows = n, retention_days, "old inbound messages deleted"),
        Err(e) => warn!(error = %e, "could not delete old inbound messages"),
    }
}

/// The Web API connector for slack-morphism: https in production, plain http for a loopback
/// test server; native roots when the OS has them.
fn connector() -> SlackClientHyperHttpsConnector {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match builder.with_native_roots() {
        Ok(builder) => builder,
        Err(e) => {
            warn!(error = %e, "no native root certificates; only http:// Slack test servers will work");
            let config = rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    SlackClientHyperConnector::with_connector(
        builder
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build(),
    )
}

async fn start_listener(
    slack: &SlackSettings,
    app: Arc<SlackApp>,
    http: reqwest::Client,
) -> Result<SlackClientSocketModeListener<socket::Connector>, RunError> {
    // Socket Mode connections through okta-agent's own transport: the proxy, TCP_NODELAY.
    let opener = SlackWeb::new(http, &slack.api_url, slack.app_token.clone());
    let client = Arc::new(SlackClient::new(socket::Connector::new(
        connector().with_slack_api_url(&slack.api_url),
        opener,
    )));
    let environment = Arc::new(
        SlackClientEventsListenerEnvironment::new(client)
            .with_error_handler(on_error)
            .with_user_state(app),
    );
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_push_events(on_push)
        .with_interaction_events(on_interaction)
        .with_command_events(on_command);
    let config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(slack.socket_connections)
        .with_reconnect_timeout_in_seconds(5);
    let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
    let token = SlackApiToken::new(SlackApiTokenValue::new(slack.app_token.expose().clone()));
    listener
        .listen_for(&token)
        .await
        .map_err(|e| RunError::Listener(e.to_string()))?;
    listener.start().await;
    Ok(listener)
}

type CallbackResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Counts an envelope, and when its callback returns (the ack goes out next), how long it took.
struct Acked {
    started: std::time::Instant,
}

impl Acked {
    fn new(kind: &'static str, started: std::time::Instant) -> Self {
        crate::metrics::metrics()
            .envelopes
            .get_or_create(&crate::metrics::label("kind", kind))
            .inc();
        Self { started }
    }
}

impl Drop for Acked {
    fn drop(&mut self) {
        crate::metrics::metrics()
            .ack_seconds
            .observe(self.started.elapsed().as_secs_f64());
    }
}

async fn app_of(state: &SlackClientEventsUserState) -> Option<Arc<SlackApp>> {
    state
        .read()
        .await
        .get_user_state::<Arc<SlackApp>>()
        .cloned()
}

/// Events: persist and spawn; the ack goes out when this returns.
fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackClient<socket::Connector>>,
    state: SlackClientEventsUserState,
) -> impl std::future::Future<Output = CallbackResult<()>> {
    let started = std::time::Instant::now();
    let event_id = event.event_id.0;
    // Boxed, so the future that waits for the record holds a pointer rather than the event
    // (3.5 KB inline, times every envelope in hand in a burst); it is dropped once decoded.
    let body = Box::new(event.event);
    async move {
        let _acked = Acked::new("events_api", started);
        let Some(app) = app_of(&state).await else {
            return Ok(());
        };
        app.accept_event(&event_id, body).await?;
        Ok(())
    }
}

/// Interactions: form submissions and group suggestions are answered in the ack (Slack waits
/// up to 3 s for them); everything else is persisted and spawned like an event.
async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackClient<socket::Connector>>,
    state: SlackClientEventsUserState,
) -> CallbackResult<SlackInteractionResponse> {
    let _acked = Acked::new("interactive", std::time::Instant::now());
    let Some(app) = app_of(&state).await else {
        return Ok(SlackInteractionResponse::Empty);
    };
    let payload = serde_json::to_value(&event).unwrap_or_default();
    match &event {
        SlackInteractionEvent::ViewSubmission(_) => {
            // Boxed, as below: a form's state (about 18 KB) is not reserved for every click.
            let answer = Box::pin(app.submit_form(&payload)).await;
            Ok(serde_json::from_value::<SlackViewSubmissionResponse>(answer)
                .map(SlackInteractionResponse::ViewSubmission)
                .unwrap_or_else(|e| {
                    warn!(error = %e, "a form answer did not fit Slack's shape; closing the form");
                    SlackInteractionResponse::ViewSubmission(SlackViewSubmissionResponse::Clear(
                        SlackViewSubmissionClearResponse::new(),
                    ))
                }))
        }
        SlackInteractionEvent::BlockSuggestion(_) => {
            let answer = Box::pin(app.suggest(&payload)).await;
            Ok(
                serde_json::from_value::<SlackBlockSuggestionResponse>(answer)
                    .map(SlackInteractionResponse::BlockSuggestion)
                    .unwrap_or(SlackInteractionResponse::Empty),
            )
        }
        _ => {
            app.accept_interaction(&payload).await?;
            Ok(SlackInteractionResponse::Empty)
        }
    }
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackClient<socket::Connector>>,
    state: SlackClientEventsUserState,
) -> CallbackResult<SlackCommandEventResponse> {
    let _acked = Acked::new("slash_commands", std::time::Instant::now());
    let text = event.text.clone().unwrap_or_default();
    let reply = |t: &str| {
        SlackCommandEventResponse::new(SlackMessageContent::new().with_text(t.to_string()))
            .with_response_type(SlackMessageResponseType::Ephemeral)
    };
    let Some(app) = app_of(&state).await else {
        return Ok(reply("okta-agent is starting; try again in a moment."));
    };
    if text.trim().is_empty() {
        // `/okta` alone opens the form.
        app.accept_form_command(&event.user_id.0, &event.channel_id.0, &event.trigger_id.0)
            .await?;
        return Ok(reply("Opening the Okta form…"));
    }
    app.accept_command(
        &event.user_id.0,
        &event.channel_id.0,
        &text,
        &event.trigger_id.0,
        Some(event.response_url.0.as_str()),
    )
    .await?;
    Ok(reply("Working on it…"))
}

/// Withholds the ack when the delivery could not be recorded (the store failed) or okta-agent
/// is shutting down, so Slack redelivers it; acks anything else (a payload that will never
/// decode better on a retry).
fn on_error(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackClient<socket::Connector>>,
    _state: SlackClientEventsUserState,
) -> HttpStatusCode {
    match err.downcast_ref::<AcceptError>() {
        Some(AcceptError::ShuttingDown) => HttpStatusCode::SERVICE_UNAVAILABLE,
        Some(AcceptError::Store(e)) => {
            error!(error = %e, "a delivery could not be recorded, so it was not acknowledged; Slack will redeliver it");
            HttpStatusCode::SERVICE_UNAVAILABLE
        }
        None => {
            warn!(error = %err, "Slack delivery could not be handled");
            HttpStatusCode::OK
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The calling thread's nice value.
    fn niceness() -> libc::c_int {
        // SAFETY: getpriority reads no memory of ours.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
    }

    #[test]
    fn work_threads_run_at_a_lower_priority_than_the_ack_path() {
        let ours = niceness();
        let runtime = work_threads().unwrap();
        let theirs = runtime.block_on(async { tokio::spawn(async { niceness() }).await.unwrap() });
        let blocking =
            runtime.block_on(async { tokio::task::spawn_blocking(niceness).await.unwrap() });
        assert_eq!(theirs, (ours + WORK_NICENESS).min(19));
        assert_eq!(blocking, (ours + WORK_NICENESS).min(19));
        assert_eq!(niceness(), ours, "the caller's priority is left alone");
    }
}
