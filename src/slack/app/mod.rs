//! From Slack deliveries to the engine and back: decide what a delivery asks for
//! ([`super::decode`]), persist its dedupe key and payload before the ack, queue the work for
//! a bounded set of worker tasks, and deliver the engine's outputs as thread replies, cards,
//! card updates, ephemerals and DMs. Each person has an inbound rate limit and the requests in
//! flight are capped, so one person cannot use up the org's Okta rate limit. At most
//! [`MAX_WORKERS`] tasks work at once; the rest of a burst waits as data, not as thousands of
//! tasks each holding HTTP connections. A task that panics is contained: the person gets an
//! apology and the delivery is marked failed, never replayed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use slack_morphism::prelude::SlackEventCallbackBody;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, info_span, warn, Instrument};

use super::blocks::{decided_card, pending_card};
use super::decode::{self, Context, EventAction, Work};
use super::markup::untrusted;
use super::web::SlackWeb;
use crate::agent::{Author, HistoryMessage, Inbound};
use crate::engine::{AskedQuestion, Click, Engine, EngineError, HelpFeedback, Output, Teaching};
use crate::metrics::{label, metrics};

mod forms;
mod reactions;

/// Why a delivery was not accepted (the listener then withholds the ack, so Slack redelivers).
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("okta-agent is shutting down; Slack will redeliver")]
    ShuttingDown,
    #[error("could not record the delivery before acknowledging it, so it was not acknowledged and Slack will redeliver it: {0}")]
    Store(#[from] EngineError),
}

/// The assistant pane: its title, the starter prompts (title, what is sent), and the status
/// shown while a request is worked on.
const ASSISTANT_TITLE: &str = "IT help, from okta-agent";
const ASSISTANT_PROMPTS: &[(&str, &str)] = &[
    ("I'm locked out", "I'm locked out of my Okta account"),
    (
        "Request access to an app",
        "How do I request access to an app?",
    ),
    ("Reset my MFA", "I got a new phone, reset my MFA"),
];
const ASSISTANT_STATUS: &str = "is looking this up…";

/// The channels with a role: triage (approval notices, escalations) and help (the virtual
/// assistant answers plain questions there).
#[derive(Clone, Debug, Default)]
pub struct Channels {
    pub triage: Vec<String>,
    pub help: Vec<String>,
    /// Emoji rules, each active in its own channels.
    pub automations: crate::automations::Automations,
}

/// Limits on inbound requests.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_person_per_minute: u32,
    pub in_flight: u32,
    pub help_answers_per_channel_per_hour: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_person_per_minute: 10,
            in_flight: 32,
            help_answers_per_channel_per_hour: 30,
        }
    }
}

/// How many tasks work on deliveries at once. Each holds a model call, Okta and Slack requests
/// and their connections; work past this waits in the backlog (a few hundred bytes each), so a
/// burst of thousands costs memory in proportion to its data, not to its tasks.
pub const MAX_WORKERS: usize = 32;

pub struct SlackApp {
    engine: Arc<Engine>,
    web: SlackWeb,
    context: Context,
    triage_channels: Vec<String>,
    /// The worker tasks, to wait for at a clean stop.
    tracker: TaskTracker,
    /// Work accepted and not yet taken by a worker, oldest first.
    backlog: Mutex<VecDeque<(String, Work)>>,
    /// Worker tasks running now.
    workers: AtomicUsize,
    /// Deliveries accepted and not yet finished.
    unfinished: AtomicUsize,
    /// Where the work runs: its own threads, so planning, Okta and Web API calls never queue in
    /// front of the socket reader that sends the acks.
    work: tokio::runtime::Handle,
    shutting_down: AtomicBool,
    limiter: InboundLimiter,
    /// One slow-down note per person a minute: a loop or a flood from one person would
    /// otherwise get one note per message and spend the bot's Web API allowance on them.
    slow_down_notes: SlidingWindow,
    help_limiter: SlidingWindow,
    /// People who opened the Home tab: whether theirs needs drawing again.
    homes: Mutex<HashMap<String, bool>>,
    /// Wakes the Home refresher.
    homes_changed: tokio::sync::Notify,
    /// Permalinks already asked for, by `channel:ts`.
    permalinks: Mutex<HashMap<String, String>>,
}

/// Changes to a Home within this long are drawn once.
const HOME_DEBOUNCE: Duration = Duration::from_secs(2);
/// `views.publish` allows about 100 calls a minute per workspace: at most one each this often.
const HOME_PACE: Duration = Duration::from_millis(600);
/// Thread links kept for Homes; past this the cache starts again.
const PERMALINKS_KEPT: usize = 256;

/// At most `limit` events per key in any `window`: the per-person request allowance, and
/// the help answers per channel per hour (a help bot that talks too much gets muted).
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SlidingWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit as usize,
            window,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an event for `key` at `now`, unless the key is over its limit.
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let times = recent.entry(key.to_string()).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            return false;
        }
        times.push_back(now);
        true
    }

    /// Whether [`SlidingWindow::allow`] would count an event for `key` at `now`, without
    /// counting it.
    pub fn would_allow(&self, key: &str, now: Instant) -> bool {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.get(key).is_none_or(|times| {
            times
                .iter()
                .filter(|t| now.saturating_duration_since(**t) < self.window)
                .count()
                < self.limit
        })
    }
}

/// Whether a request may be worked on now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// The person sent more than their per-minute allowance.
    TooFast,
    /// Too many requests are being worked on already.
    Busy,
}

/// The per-person sliding window and the in-flight cap.
pub struct InboundLimiter {
    limits: Limits,
    per_person: SlidingWindow,
    in_flight: AtomicUsize,
}

impl InboundLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            per_person: SlidingWindow::new(limits.per_person_per_minute, Duration::from_secs(60)),
            limits,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Admits a request from `user` at `now`; an admitted request counts as in flight until
    /// [`InboundLimiter::done`].
    pub fn admit(&self, user: &str, now: Instant) -> Admission {
        if !self.per_person.allow(user, now) {
            return Admission::TooFast;
        }
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.limits.in_flight as usize {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Admission::Busy;
        }
        Admission::Admitted
    }

    /// Counts a request as in flight without the rate check (work resumed at start).
    pub fn resume(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// An admitted request finished (or was dropped as a duplicate).
    pub fn done(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Thread messages sent to the planner as context.
const HISTORY_LIMIT: usize = 20;

/// `<@U…>` for a Slack user id from a payload, or plain words when it is not one.
fn mention(id: &str) -> String {
    if crate::policy::is_slack_user_id(id) {
        format!("<@{id}>")
    } else {
        "someone".into()
    }
}

impl SlackApp {
    pub fn new(
        engine: Arc<Engine>,
        web: SlackWeb,
        bot_user_id: String,
        channels: Channels,
        limits: Limits,
        work: tokio::runtime::Handle,
    ) -> Self {
        Self {
            work,
            triage_channels: channels.triage,
            context: Context {
                bot_user_id,
                help_channels: channels.help,
                automations: channels.automations,
            },
            engine,
            web,
            tracker: TaskTracker::new(),
            backlog: Mutex::new(VecDeque::new()),
            workers: AtomicUsize::new(0),
            unfinished: AtomicUsize::new(0),
            shutting_down: AtomicBool::new(false),
            slow_down_notes: SlidingWindow::new(1, Duration::from_secs(60)),
            help_limiter: SlidingWindow::new(
                limits.help_answers_per_channel_per_hour,
                Duration::from_secs(3_600),
            ),
            homes: Mutex::new(HashMap::new()),
            homes_changed: tokio::sync::Notify::new(),
            permalinks: Mutex::new(HashMap::new()),
            limiter: InboundLimiter::new(limits),
        }
    }

    pub fn bot_user_id(&self) -> &str {
        &self.context.bot_user_id
    }

    /// An `events_api` event: a request, something to ignore, or news about a person.
    /// Returns whether new work was accepted. The event is dropped once decoded, before the
    /// delivery is recorded.
    pub async fn accept_event(
        self: &Arc<Self>,
        event_id: &str,
        event: Box<SlackEventCallbackBody>,
    ) -> Result<bool, AcceptError> {
        let action = decode::event(&event, &self.context);
        drop(event);
        match action {
            EventAction::Work(work) => match decode::reaction_key(&work) {
                Some(key) => self.accept(&key, work).await,
                None => self.accept(&format!("event:{event_id}"), work).await,
            },
            EventAction::PersonChanged(id) => {
                info!(slack_id = %id, "a Slack person changed; forgetting what was cached");
                self.engine.forget_person(&id);
                Ok(false)
            }
            EventAction::UserGroupChanged(id) => {
                // Acked at once; the groups are read after the ack.
                if self
                    .engine
                    .policy()
                    .admin_groups()
                    .contains(&crate::policy::AdminGroup::Slack(id.clone()))
                {
                    info!(usergroup = %id, "an admin user group changed; reading the admins again");
                    let engine = self.engine.clone();
                    tokio::spawn(async move { engine.refresh_admins().await });
                }
                Ok(false)
            }
            EventAction::Ignore => Ok(false),
        }
    }

    /// A `block_actions` interaction.
    pub async fn accept_interaction(
        self: &Arc<Self>,
        payload: &Value,
    ) -> Result<bool, AcceptError> {
        let Some(work) = decode::interaction(payload) else {
            return Ok(false);
        };
        let Some(key) = decode::interaction_key(&work, payload) else {
            return Ok(false);
        };
        self.accept(&key, work).await
    }

    /// A `/okta` slash command, treated like a mention. Its `response_url` answers where the
    /// bot cannot post: a conversation it is not in.
    pub async fn accept_command(
        self: &Arc<Self>,
        user: &str,
        channel: &str,
        text: &str,
        trigger_id: &str,
        response_url: Option<&str>,
    ) -> Result<bool, AcceptError> {
        let work = Work::Request {
            user: user.to_string(),
            text: super::markup::normalize(text),
            channel: channel.to_string(),
            ts: None,
            thread_ts: None,
            response_url: response_url.map(str::to_string),
        };
        self.accept(&format!("command:{trigger_id}"), work).await
    }

    /// `/okta` with no text: open the form.
    pub async fn accept_form_command(
        self: &Arc<Self>,
        user: &str,
        channel: &str,
        trigger_id: &str,
    ) -> Result<bool, AcceptError> {
        let work = Work::OpenForm {
            user: user.to_string(),
            trigger_id: trigger_id.to_string(),
            channel: Some(channel.to_string()),
            message: None,
        };
        self.accept(&format!("form:{trigger_id}"), work).await
    }

    /// Persist, then (the caller) ack, then process in the background. The caller must not
    /// drop this future half-way (the Socket Mode connection runs it in a task of its own): a
    /// delivery recorded but never queued would be a duplicate to its redelivery, and undone.
    async fn accept(self: &Arc<Self>, key: &str, work: Work) -> Result<bool, AcceptError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(AcceptError::ShuttingDown);
        }
        let work = self.throttle(work);
        let payload = serde_json::to_string(&work).unwrap_or_default();
        // A throttled request whose person was told this minute has nothing left to do: it
        // is recorded as done, so a flood costs one write per message and no backlog.
        let nothing_to_do = match &work {
            Work::Throttled { user, .. } => !self.slow_down_notes.would_allow(user, Instant::now()),
            _ => false,
        };
        let recorded = if nothing_to_do {
            self.engine.record_finished_delivery(key, &payload).await
        } else {
            self.engine.record_delivery(key, &payload).await
        };
        let fresh = match recorded {
            Ok(fresh) => fresh,
            Err(e) => {
                if matches!(work, Work::Request { .. }) {
                    self.limiter.done();
                }
                error!(key, error = %e, "could not record a delivery; not acknowledging it, so Slack redelivers");
                return Err(e.into());
            }
        };
        if !fresh {
            if matches!(work, Work::Request { .. }) {
                self.limiter.done();
            }
            info!(key, "duplicate delivery ignored");
            return Ok(false);
        }
        if nothing_to_do {
            // Logged once a minute per person, with the note: a flood is not a flood of lines.
            debug!(key, "throttled, and already told to slow down this minute");
            return Ok(false);
        }
        if let Work::Throttled { user, busy, .. } = &work {
            warn!(
                user,
                busy, "request throttled; telling the person to slow down"
            );
        }
        self.spawn(key.to_string(), work);
        Ok(true)
    }

    /// A request over the person's rate or over the in-flight cap becomes a polite "slow
    /// down". A request that passes counts as in flight until its task ends.
    fn throttle(&self, work: Work) -> Work {
        let Work::Request {
            user,
            channel,
            thread_ts,
            response_url,
            ..
        } = &work
        else {
            return work;
        };
        let admission = self.limiter.admit(user, Instant::now());
        if admission == Admission::Admitted {
            return work;
        }
        let reason = if admission == Admission::Busy {
            "busy"
        } else {
            "too_fast"
        };
        metrics()
            .throttled
            .get_or_create(&label("reason", reason))
            .inc();
        Work::Throttled {
            user: user.clone(),
            channel: channel.clone(),
            thread_ts: thread_ts.clone(),
            busy: admission == Admission::Busy,
            response_url: response_url.clone(),
        }
    }

    /// Queues accepted work, and starts a worker when fewer than [`MAX_WORKERS`] run.
    fn spawn(self: &Arc<Self>, key: String, work: Work) {
        self.unfinished.fetch_add(1, Ordering::SeqCst);
        metrics().work_unfinished.inc();
        self.backlog
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back((key, work));
        if self.take_worker_slot() {
            let app = self.clone();
            self.tracker
                .spawn_on(app.work_through_backlog(), &self.work);
        }
    }

    /// Counts one more worker, unless [`MAX_WORKERS`] run already.
    fn take_worker_slot(&self) -> bool {
        self.workers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |running| {
                (running < MAX_WORKERS).then_some(running + 1)
            })
            .is_ok()
    }

    /// A worker: takes work from the backlog until it is empty.
    async fn work_through_backlog(self: Arc<Self>) {
        loop {
            let next = self
                .backlog
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            if let Some((key, work)) = next {
                self.work_on(key, work).await;
                self.unfinished.fetch_sub(1, Ordering::SeqCst);
                metrics().work_unfinished.dec();
                continue;
            }
            self.workers.fetch_sub(1, Ordering::SeqCst);
            // Work queued between the look and the count found every slot taken: stay for it
            // if a slot is still free, else another worker takes it.
            let empty = {
                let mut backlog = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
                // A burst's backlog gives its room back once worked through.
                backlog.shrink_to(MAX_WORKERS);
                backlog.is_empty()
            };
            if empty || !self.take_worker_slot() {
                return;
            }
        }
    }

    /// Does one delivery's work, contained: a panic is an apology, and the delivery is marked
    /// failed, never replayed.
    async fn work_on(self: &Arc<Self>, key: String, work: Work) {
        let span = info_span!("slack_work", key = %key);
        async {
            let counted = matches!(work, Work::Request { .. });
            let outcome = run_contained({
                let app = self.clone();
                let work = work.clone();
                async move { app.process(&work).await }
            })
            .await;
            if counted {
                self.limiter.done();
            }
            match outcome {
                TaskEnd::Finished => {
                    if let Err(e) = self.engine.finish_delivery(&key).await {
                        warn!(error = %e, "could not mark the delivery done");
                    }
                }
                TaskEnd::Panicked(reference) => {
                    error!(
                        key,
                        reference,
                        "a task panicked; the delivery is marked failed and will not be replayed"
                    );
                    if let Err(e) = self.engine.fail_delivery(&key).await {
                        error!(error = %e, "could not mark the delivery failed");
                    }
                    self.apologize(&work, &reference).await;
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn apologize(&self, work: &Work, reference: &str) {
        let text = format!("Sorry, something went wrong inside okta-agent while handling that (reference {reference}). It will not be retried; please try again, or give IT the reference.");
        let result = match work {
            Work::Request {
                channel,
                thread_ts,
                response_url,
                ..
            } => {
                let posted = self
                    .web
                    .post_message(channel, thread_ts.as_deref(), &untrusted(&text), None)
                    .await
                    .map(drop);
                match (posted, response_url) {
                    (Err(e), Some(url)) if out_of_reach(&e) => {
                        self.web.respond(url, &untrusted(&text)).await
                    }
                    (posted, _) => posted,
                }
            }
            Work::Click {
                user,
                channel,
                message_ts,
                ..
            }
            | Work::HelpFeedback {
                user,
                channel,
                message_ts,
                ..
            }
            | Work::SelfService {
                user,
                channel,
                message_ts,
                ..
            }
            | Work::UnlockMe {
                user,
                channel,
                message_ts,
                ..
            }
            | Work::Reaction {
                user,
                channel,
                message_ts,
                ..
            } => {
                self.web
                    .post_ephemeral(channel, user, Some(message_ts), &untrusted(&text))
                    .await
            }
            Work::HelpTeach {
                user, menu_channel, ..
            } => {
                self.web
                    .post_ephemeral(menu_channel, user, None, &untrusted(&text))
                    .await
            }
            Work::HelpQuestion { .. }
            | Work::HelpReply { .. }
            | Work::AssistantStarted { .. }
            | Work::Throttled { .. }
            | Work::OpenForm { .. }
            | Work::OpenOverride { .. }
            | Work::HomeOpened { .. }
            | Work::FormChanged { .. } => Ok(()),
            Work::HomeClick { user, .. }
            | Work::HomeSelfService { user, .. }
            | Work::HomeAsk { user, .. } => self
                .web
                .post_message(user, None, &untrusted(&text), None)
                .await
                .map(drop),
            Work::Override { user, .. } => self
                .web
                .post_message(user, None, &untrusted(&text), None)
                .await
                .map(drop),
        };
        if let Err(e) = result {
            warn!(error = %e, "could not post the apology");
        }
    }

    /// Work acknowledged by a process that stopped (its lease lapsed, or it gave it up) but
    /// never finished: taken over and done now, by one process only. A click that had already
    /// been claimed is refused by the engine with its reason, so nothing runs twice. Work of a
    /// live process (another replica, a rolling restart's other half) is left alone. Work
    /// whose task crashed is marked failed and never replayed.
    pub async fn resume_unfinished(self: &Arc<Self>) -> Result<usize, EngineError> {
        let pending = self.engine.unfinished_deliveries().await?;
        for (key, payload) in &pending {
            match serde_json::from_str::<Work>(payload) {
                Ok(work) => {
                    info!(key, "resuming work acknowledged before the last stop");
                    if matches!(work, Work::Request { .. }) {
                        self.limiter.resume();
                    }
                    self.spawn(key.clone(), work);
                }
                Err(e) => {
                    warn!(key, error = %e, "unreadable stored delivery; marking it failed");
                    self.engine.fail_delivery(key).await?;
                }
            }
        }
        Ok(pending.len())
    }

    /// Stops taking new work and waits for what is in flight.
    pub async fn drain(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// Deliveries accepted and not yet finished (working or waiting).
    pub fn in_flight(&self) -> usize {
        self.unfinished.load(Ordering::SeqCst)
    }

    async fn process(&self, work: &Work) {
        match work {
            Work::Reaction {
                user,
                emoji,
                channel,
                message_ts,
                author,
                added,
            } => {
                self.reaction(user, emoji, channel, message_ts, author.as_deref(), *added)
                    .await
            }
            Work::OpenForm {
                user,
                trigger_id,
                channel,
                message,
            } => {
                self.open_form(user, trigger_id, channel.as_deref(), message.as_ref())
                    .await
            }
            Work::FormChanged {
                user,
                view_id,
                hash,
                tool,
                metadata,
            } => self.form_changed(user, view_id, hash, tool, metadata).await,
            Work::OpenOverride {
                user,
                trigger_id,
                proposal_id,
            } => {
                let view = super::blocks::override_view(
                    proposal_id,
                    &self.engine.describe_request(proposal_id).await,
                );
                if let Err(e) = self.web.open_view(trigger_id, &view).await {
                    warn!(error = %e, user, "could not open the reason form");
                }
            }
            Work::Override {
                user,
                proposal_id,
                reason,
            } => {
                let outputs = self
                    .engine
                    .approve_without_verification(
                        Click::button(proposal_id, user, crate::engine::Choice::Approve),
                        reason,
                    )
                    .await;
                let (channel, card_ts) = self
                    .engine
                    .card_location(proposal_id)
                    .await
                    .unwrap_or_else(|| (user.clone(), String::new()));
                let card_ts = (!card_ts.is_empty()).then_some(card_ts);
                self.deliver(outputs, &channel, card_ts.as_deref(), card_ts.as_deref())
                    .await;
            }
            Work::Request {
                user,
                text,
                channel,
                ts,
                thread_ts,
                response_url,
            } => {
                if let Some(ts) = ts {
                    if let Err(e) = self.web.add_reaction(channel, ts, "eyes").await {
                        warn!(error = %e, "could not show the working reaction");
                    }
                }
                if text.trim().is_empty() {
                    let hint = format!(
                        "Hi {}! {}",
                        mention(user),
                        untrusted(crate::agent::CAPABILITIES)
                    );
                    if let Err(e) = self
                        .web
                        .post_message(channel, thread_ts.as_deref(), &hint, None)
                        .await
                    {
                        warn!(error = %e, "could not post the greeting");
                    }
                    return;
                }
                // In a DM thread (the assistant pane's threads are DM threads) people see that
                // okta-agent is working; elsewhere Slack refuses the status, and that is fine.
                if let (true, Some(root)) = (channel.starts_with('D'), thread_ts) {
                    if let Err(e) = self
                        .web
                        .assistant_status(channel, root, ASSISTANT_STATUS)
                        .await
                    {
                        debug!(error = %e, "no assistant status for this thread");
                    }
                }
                // A reply in the thread of a notice ("IT made a change to your account") is
                // for IT, not a request.
                if let (Some(ts), Some(root)) = (ts, thread_ts) {
                    if ts != root && channel.starts_with('D') {
                        if let Some(outputs) = self.engine.notice_reply(user, root, text).await {
                            self.deliver(outputs, channel, Some(root), None).await;
                            return;
                        }
                    }
                }
                let history = match (ts, thread_ts) {
                    (Some(ts), Some(root)) if ts != root => self.history(channel, root, ts).await,
                    _ => Vec::new(),
                };
                let outputs = self
                    .engine
                    .handle(Inbound {
                        requester: user.clone(),
                        text: text.clone(),
                        history,
                        conversation: format!("{channel}:{}", thread_ts.as_deref().unwrap_or("-")),
                    })
                    .await;
                self.deliver_to(
                    outputs,
                    Place {
                        channel,
                        thread_ts: thread_ts.as_deref(),
                        card_ts: None,
                        response_url: response_url.as_deref(),
                        requester: Some(user),
                    },
                )
                .await;
            }
            Work::HelpQuestion {
                user,
                text,
                channel,
                ts,
            } => self.answer_question(user, text, channel, ts).await,
            Work::HelpFeedback {
                user,
                solved,
                channel,
                message_ts,
                thread_ts,
            } => {
                self.help_feedback(user, *solved, channel, message_ts, thread_ts)
                    .await;
            }
            Work::AssistantStarted {
                user,
                channel,
                thread_ts,
            } => {
                // Where Slack's AI features are off this fails, and nothing else depends on it.
                if let Err(e) = self
                    .web
                    .assistant_prompts(channel, ASSISTANT_TITLE, ASSISTANT_PROMPTS)
                    .await
                {
                    warn!(error = %e, user, thread_ts, "could not offer starter prompts in the assistant pane");
                }
            }
            Work::HelpReply {
                user,
                text,
                channel,
                thread_ts,
            } => {
                self.teach(
                    user,
                    channel,
                    thread_ts,
                    Teaching::ThreadReply { text },
                    None,
                )
                .await;
            }
            Work::HelpTeach {
                user,
                doc,
                channel,
                question_ts,
                menu_channel,
            } => {
                self.teach(
                    user,
                    channel,
                    question_ts,
                    Teaching::Menu { doc },
                    Some(menu_channel),
                )
                .await;
            }
            Work::Click {
                user,
                proposal_id,
                choice,
                channel,
                message_ts,
                thread_ts,
            } => {
                let outputs = self
                    .engine
                    .click(Click::button(proposal_id, user, *choice))
                    .await;
                let thread = thread_ts.as_deref().or(Some(message_ts.as_str()));
                self.deliver(outputs, channel, thread, Some(message_ts))
                    .await;
            }
            Work::SelfService {
                user,
                tool,
                channel,
                message_ts,
                thread_ts,
            } => {
                let thread = thread_ts.as_deref().unwrap_or(message_ts);
                let outputs = self
                    .engine
                    .self_service_button(
                        user,
                        tool,
                        channel,
                        message_ts,
                        &format!("{channel}:{thread}"),
                    )
                    .await;
                self.deliver(outputs, channel, Some(thread), None).await;
            }
            Work::HomeOpened { user } => {
                self.homes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(user.clone(), false);
                self.publish_home(user).await;
            }
            Work::HomeClick {
                user,
                proposal_id,
                choice,
            } => {
                let outputs = self
                    .engine
                    .click(Click::button(proposal_id, user, *choice))
                    .await;
                // The card is updated where it is; what is for the clicker alone goes to their
                // DM (a Home has no channel to whisper in).
                let outputs = outputs
                    .into_iter()
                    .map(|o| match o {
                        Output::Ephemeral { to, text } => Output::DirectMessage {
                            to,
                            text: crate::secret::Secret::new(text),
                        },
                        other => other,
                    })
                    .collect();
                match self.engine.card_location(proposal_id).await {
                    Some((channel, ts)) => {
                        self.deliver(outputs, &channel, Some(&ts), Some(&ts)).await
                    }
                    None => self.deliver(outputs, user, None, None).await,
                }
                self.home_changed([user.as_str()], true);
            }
            Work::HomeSelfService { user, tool } => {
                let outputs = match crate::tools::Tool::from_name(tool) {
                    Some(tool) => {
                        self.engine
                            .self_service(user, tool, &format!("{user}:-"))
                            .await
                    }
                    None => vec![Output::Ephemeral {
                        to: user.clone(),
                        text: "That button is not one okta-agent knows. Nothing was changed."
                            .into(),
                    }],
                };
                self.deliver(outputs, user, None, None).await;
            }
            Work::HomeAsk { user, question } => {
                let outputs = self.engine.help_question(user, question).await;
                if let Err(e) = self
                    .web
                    .post_message(user, None, &untrusted(question), None)
                    .await
                {
                    warn!(error = %e, "could not echo a starter question");
                }
                self.deliver(outputs, user, None, None).await;
            }
            Work::UnlockMe {
                user,
                lockout_id,
                channel,
                message_ts,
            } => {
                let outputs = self
                    .engine
                    .unlock_me(user, lockout_id, &format!("{channel}:{message_ts}"))
                    .await;
                self.deliver(outputs, channel, Some(message_ts), None).await;
            }
            Work::Throttled {
                user,
                channel,
                thread_ts,
                busy,
                response_url,
            } => {
                if !self.slow_down_notes.allow(user, Instant::now()) {
                    debug!(user, "already told to slow down this minute");
                    return;
                }
                let text = if *busy {
                    "I'm handling a lot of requests right now. Please try again in a minute; nothing was changed."
                } else {
                    "You're sending requests faster than I take them. Please wait a minute and try again; nothing was changed."
                };
                let told = match self
                    .web
                    .post_ephemeral(channel, user, thread_ts.as_deref(), text)
                    .await
                {
                    Err(e) if out_of_reach(&e) => match response_url {
                        Some(url) => self.web.respond(url, text).await,
                        None => Err(e),
                    },
                    other => other,
                };
                if let Err(e) = told {
                    warn!(error = %e, "could not post the slow-down note");
                }
            }
        }
    }

    /// Answers a help-channel question from the docs (silence when it is chatter or nothing
    /// fits, and past the channel's hourly limit).
    async fn answer_question(&self, user: &str, text: &str, channel: &str, ts: &str) {
        // Slack can deliver one message twice under different event ids; it is answered once.
        match self.engine.help_question_answered(channel, ts).await {
            Ok(false) => {}
            Ok(true) => return,
            Err(e) => {
                warn!(error = %e, "could not check whether this help question was answered; staying quiet");
                return;
            }
        }
        let outputs = self.engine.help_question(user, text).await;
        if outputs.is_empty() {
            return;
        }
        if !self.help_limiter.allow(channel, Instant::now()) {
            warn!(
                channel,
                "help answers for this channel are over their hourly limit; staying quiet"
            );
            return;
        }
        self.deliver(outputs, channel, Some(ts), None).await;
    }

    async fn help_feedback(
        &self,
        user: &str,
        solved: bool,
        channel: &str,
        message_ts: &str,
        thread_ts: &str,
    ) {
        let result = match self
            .engine
            .help_feedback(user, solved, channel, message_ts)
            .await
        {
            HelpFeedback::Refused(why) => {
                self.web
                    .post_ephemeral(channel, user, Some(thread_ts), why)
                    .await
            }
            HelpFeedback::Solved {
                escalated_question, ..
            } => {
                if let Some(question_ts) = escalated_question {
                    self.suggest_doc(user, channel, &question_ts, message_ts)
                        .await;
                }
                self.web
                    .post_message(
                        channel,
                        Some(thread_ts),
                        &format!("✅ {} marked this solved.", mention(user)),
                        None,
                    )
                    .await
                    .map(drop)
            }
            HelpFeedback::Escalated { asker, question_ts } => {
                let link = self.web.permalink(channel, thread_ts).await.ok();
                let escalated = match self.triage_channels.first() {
                    Some(triage) => {
                        let (text, blocks) = super::blocks::escalation(
                            &asker,
                            link.as_deref(),
                            (channel, &question_ts),
                            &self.engine.help_doc_choices(),
                        );
                        self.web
                            .post_message(triage, None, &text, Some(blocks))
                            .await
                            .map(drop)
                    }
                    None => Ok(()),
                };
                let told = self
                    .web
                    .post_message(
                        channel,
                        Some(thread_ts),
                        &format!(
                            "{}, I've asked IT to take a look: a person will follow up in this thread.",
                            mention(&asker)
                        ),
                        None,
                    )
                    .await
                    .map(drop);
                escalated.and(told)
            }
        };
        if let Err(e) = result {
            warn!(error = %e, message_ts, "could not handle help feedback");
        }
    }

    /// An IT admin points at the help document that answers a help-channel question (a link in
    /// their reply in its thread, or the escalation's menu, shown in `menu_channel`): the
    /// engine learns the question as a phrasing of that document and tells the admin alone.
    async fn teach(
        &self,
        user: &str,
        channel: &str,
        question_ts: &str,
        teaching: Teaching<'_>,
        menu_channel: Option<&str>,
    ) {
        // Most links in help threads are colleagues helping: nothing to read for them.
        if matches!(teaching, Teaching::ThreadReply { .. }) && !self.engine.is_it_admin(user) {
            return;
        }
        if !self.context.help_channels.iter().any(|c| c == channel) {
            warn!(
                channel,
                "a help document was pointed at for a question outside the help channels; ignored"
            );
            return;
        }
        let root = match self.web.replies(channel, question_ts, 1).await {
            Ok(messages) => messages
                .into_iter()
                .find(|m| m["ts"].as_str() == Some(question_ts)),
            Err(e) => {
                warn!(error = %e, "could not read the help question to learn from");
                None
            }
        };
        let Some(root) = root else {
            if let Some(menu) = menu_channel {
                let text = "I could not read that question any more (was it deleted?). Nothing was learned.";
                if let Err(e) = self.web.post_ephemeral(menu, user, None, text).await {
                    warn!(error = %e, "could not say that nothing was learned");
                }
            }
            return;
        };
        // Only a person's question is worth learning; a bot's message is not one.
        let is_bot = root.get("bot_id").is_some_and(|b| !b.is_null());
        let asker = root["user"].as_str().unwrap_or_default();
        if is_bot || asker.is_empty() {
            return;
        }
        let text = super::markup::normalize(root["text"].as_str().unwrap_or_default());
        let question = AskedQuestion {
            text: &text,
            channel,
            ts: question_ts,
            asker,
        };
        let outputs = self.engine.teach_help(user, question, teaching).await;
        let (to_channel, thread) = match menu_channel {
            Some(menu) => (menu, None),
            None => (channel, Some(question_ts)),
        };
        self.deliver(outputs, to_channel, thread, None).await;
    }

    /// An IT admin solved an escalated question: offer them (by DM) their own answer from the
    /// thread as a draft help document. A person decides; nothing is added automatically.
    async fn suggest_doc(&self, admin: &str, channel: &str, question_ts: &str, answer_ts: &str) {
        let messages = match self.web.replies(channel, question_ts, 50).await {
            Ok(messages) => messages,
            Err(e) => {
                warn!(error = %e, "could not read the solved thread");
                return;
            }
        };
        let question = messages
            .iter()
            .find(|m| m["ts"].as_str() == Some(question_ts))
            .and_then(|m| m["text"].as_str())
            .map(super::markup::normalize)
            .unwrap_or_default();
        let answers: Vec<String> = messages
            .iter()
            .filter(|m| m["user"].as_str() == Some(admin))
            .filter(|m| m["ts"].as_str().unwrap_or_default() > answer_ts)
            .filter_map(|m| m["text"].as_str().map(super::markup::normalize))
            .collect();
        if answers.is_empty() || question.is_empty() {
            return;
        }
        let title: String = question.trim_end_matches('?').chars().take(80).collect();
        // The title is quoted: a question's colon would otherwise break the front matter.
        let quoted = format!("\"{}\"", title.replace('\\', "\\\\").replace('"', "\\\""));
        let draft = format!(
            "---\ntitle: {quoted}\ntags: []\n---\n# {title}\n\n{}\n",
            answers.join("\n\n")
        );
        let text = format!(
            "You solved an escalated help question. Want to turn your answer into a help document? Nothing is added automatically: if it helps, edit this draft and save it in the help-docs folder.\n\n{draft}"
        );
        if let Err(e) = self
            .web
            .post_message(admin, None, &untrusted(&text), None)
            .await
        {
            warn!(error = %e, "could not send the draft-doc suggestion");
        }
    }

    async fn history(&self, channel: &str, root: &str, current_ts: &str) -> Vec<HistoryMessage> {
        let bot = self.bot_user_id();
        match self.web.replies(channel, root, HISTORY_LIMIT + 1).await {
            Ok(messages) => messages
                .iter()
                .filter(|m| m["ts"].as_str() != Some(current_ts))
                .map(|m| {
                    let user = m["user"].as_str().unwrap_or_default();
                    let is_bot = m.get("bot_id").is_some_and(|b| !b.is_null());
                    let author = if user == bot {
                        Author::ThisBot
                    } else if is_bot || user.is_empty() {
                        Author::OtherBot
                    } else {
                        Author::Person(user.to_string())
                    };
                    let text = super::markup::normalize(m["text"].as_str().unwrap_or_default());
                    HistoryMessage {
                        author,
                        text: decode::strip_mention(&text, bot),
                    }
                })
                .collect(),
            Err(e) => {
                warn!(error = %e, "could not read the thread; answering without it");
                Vec::new()
            }
        }
    }

    /// Sends the engine's outputs. `card_ts` is the card a click came from (updated in place).
    /// Every text is escaped; mentions come only from the Slack ids in the outputs' fields.
    /// Runs the jobs that are due (time-bound access ending, approvals after a grace window)
    /// and posts what they produced in their threads.
    pub async fn run_due_jobs(&self, owner: &str) {
        let deliveries = self.engine.run_due_jobs(owner).await;
        self.deliver_to_conversations(deliveries).await;
    }

    /// Reads lockouts from the System Log (when this process holds the poller) and sends the
    /// DMs, or the storm alert.
    pub async fn poll_lockouts(&self, owner: &str, settings: &crate::config::LockoutSettings) {
        let outputs = self.engine.poll_lockouts(owner, settings).await;
        for output in outputs {
            let sent = match &output {
                Output::LockoutNotice {
                    to,
                    lockout_id,
                    text,
                } => self.send_lockout_notice(to, lockout_id, text).await,
                Output::TriageIncident { text } => self.incident_to_triage(text).await,
                other => {
                    warn!(
                        ?other,
                        "the lockout poll produced something it should not; dropped"
                    );
                    Ok(())
                }
            };
            if let Err(e) = sent {
                warn!(error = %e, "could not send what the lockout poll produced");
            }
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// A message's permalink, asked of Slack once per message.
    async fn permalink(&self, channel: &str, ts: &str) -> Option<String> {
        let key = format!("{channel}:{ts}");
        if let Some(url) = self
            .permalinks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Some(url.clone());
        }
        let url = self
            .web
            .permalink(channel, ts)
            .await
            .ok()
            .filter(|u| !u.is_empty())?;
        let mut permalinks = self.permalinks.lock().unwrap_or_else(|p| p.into_inner());
        // Homes list the latest 20 actions: a few hundred links cover them, and the process
        // may run for months.
        if permalinks.len() >= PERMALINKS_KEPT {
            permalinks.clear();
        }
        permalinks.insert(key, url.clone());
        Some(url)
    }

    /// Draws `user`'s Home with what they may see now.
    async fn publish_home(&self, user: &str) {
        let home = self.engine.home_for(user).await;
        let mut links = Vec::new();
        for action in &home.recent {
            links.push(match &action.card {
                Some((channel, ts)) => self.permalink(channel, ts).await,
                None => None,
            });
        }
        let view = super::blocks::home_view(&home, &links);
        if let Err(e) = self.web.publish_home(user, &view).await {
            warn!(error = %e, user, "could not draw a Home tab");
        }
    }

    /// Something on these people's Homes changed (and on every admin's, with `admins`): they
    /// are drawn again shortly, if they ever opened it.
    fn home_changed<'a>(&self, people: impl IntoIterator<Item = &'a str>, admins: bool) {
        let mut homes = self.homes.lock().unwrap_or_else(|p| p.into_inner());
        let mut any = false;
        for person in people {
            if let Some(dirty) = homes.get_mut(person) {
                *dirty = true;
                any = true;
            }
        }
        if admins {
            for (person, dirty) in homes.iter_mut() {
                if self.engine.policy().is_admin(person) {
                    *dirty = true;
                    any = true;
                }
            }
        }
        if any {
            self.homes_changed.notify_one();
        }
    }

    /// Draws again the Homes that changed: each change waits `HOME_DEBOUNCE` for others to
    /// join it, and draws are paced under `views.publish`'s rate limit. Runs until stopped.
    pub async fn refresh_homes(&self) {
        loop {
            self.homes_changed.notified().await;
            tokio::time::sleep(HOME_DEBOUNCE).await;
            let due: Vec<String> = {
                let mut homes = self.homes.lock().unwrap_or_else(|p| p.into_inner());
                homes
                    .iter_mut()
                    .filter(|(_, dirty)| **dirty)
                    .map(|(person, dirty)| {
                        *dirty = false;
                        person.clone()
                    })
                    .collect()
            };
            for person in due {
                self.publish_home(&person).await;
                tokio::time::sleep(HOME_PACE).await;
            }
        }
    }

    /// Posts work that came from no message (jobs, recovery) in the threads of its proposals.
    pub async fn deliver_to_conversations(&self, deliveries: Vec<crate::engine::Delivery>) {
        for delivery in deliveries {
            let (channel, thread) = match delivery.conversation.split_once(':') {
                Some((channel, thread)) => (
                    channel.to_string(),
                    (thread != "-").then(|| thread.to_string()),
                ),
                None => continue,
            };
            // A card posted on its own (the form's, or a command's from a conversation the bot
            // is not in) gets its news in its own thread, wherever the card is.
            let (channel, thread) = match thread {
                Some(thread) => (channel, Some(thread)),
                None => match self.engine.card_location(&delivery.proposal_id).await {
                    Some((card_channel, ts)) => (card_channel, Some(ts)),
                    None => (channel, None),
                },
            };
            self.deliver(delivery.outputs, &channel, thread.as_deref(), None)
                .await;
        }
    }

    async fn deliver(
        &self,
        outputs: Vec<Output>,
        channel: &str,
        thread_ts: Option<&str>,
        card_ts: Option<&str>,
    ) {
        self.deliver_to(
            outputs,
            Place {
                channel,
                thread_ts,
                card_ts,
                response_url: None,
                requester: None,
            },
        )
        .await;
    }

    /// Sends the outputs to `place`. When the bot cannot post there (a `/okta` typed where it
    /// is not a member) and the command gave a `response_url`, the person's answers go
    /// through that URL instead, and a card goes where approvers work: the triage channel, or
    /// the requester's DM with the bot when there is none, with a link sent back to them.
    async fn deliver_to(&self, outputs: Vec<Output>, place: Place<'_>) {
        let Place {
            channel,
            thread_ts,
            card_ts,
            response_url,
            requester,
        } = place;
        // A card posted or changed is news on its requester's Home and on every admin's.
        let requesters: Vec<String> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Card(card) | Output::CardUpdate(card) => Some(card.requester.clone()),
                _ => None,
            })
            .collect();
        if !requesters.is_empty() {
            self.home_changed(requesters.iter().map(String::as_str), true);
        }
        let mut last_card: Option<String> = None;
        let mut card_channel = channel.to_string();
        // Set once a post to `channel` was refused because the bot is not there.
        let mut unreachable = false;
        for output in outputs {
            if unreachable {
                if let Some(url) = response_url {
                    if let Err(e) = self
                        .reroute(output, url, requester, &mut card_channel, &mut last_card)
                        .await
                    {
                        warn!(error = %e, "could not answer through the command's response_url");
                    }
                    continue;
                }
            }
            let result = match &output {
                Output::Reply(text) => self
                    .web
                    .post_message(channel, thread_ts, &untrusted(text), None)
                    .await
                    .map(drop),
                Output::Card(card) => {
                    let (text, blocks) = pending_card(card);
                    match self
                        .web
                        .post_message(channel, thread_ts, &text, Some(blocks))
                        .await
                    {
                        Ok(ts) => {
                            // Work that is not a click on it (a reaction, a schedule) updates
                            // it in place later.
                            if let Err(e) = self
                                .engine
                                .remember_card(&card.proposal_id, channel, &ts)
                                .await
                            {
                                warn!(error = %e, "could not remember where a card is");
                            }
                            last_card = Some(ts);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                Output::CardUpdate(card) => {
                    let (text, blocks) = decided_card(card);
                    let known = match card_ts {
                        Some(ts) => Some((channel.to_string(), ts.to_string())),
                        None => self.engine.card_location(&card.proposal_id).await,
                    };
                    match known {
                        Some((card_channel, ts)) => {
                            self.web
                                .update_message(&card_channel, &ts, &text, blocks)
                                .await
                        }
                        None => self
                            .web
                            .post_message(channel, thread_ts, &text, Some(blocks))
                            .await
                            .map(drop),
                    }
                }
                Output::Ephemeral { to, text } => {
                    self.web
                        .post_ephemeral(channel, to, thread_ts, &untrusted(text))
                        .await
                }
                // A user id as the channel posts in the app's DM with that person, and only
                // there. The link shows as code: copied, never clicked by accident.
                Output::DirectMessage { to, text } => self
                    .web
                    .post_message(to, None, &untrusted(text.expose()), None)
                    .await
                    .map(drop),
                Output::TriageNotice {
                    requester, summary, ..
                } => {
                    self.notify_triage(&card_channel, last_card.as_deref(), requester, summary)
                        .await
                }
                Output::Notice {
                    to,
                    proposal_id,
                    requester,
                    approver,
                    text,
                } => {
                    self.send_notice(to, proposal_id, requester, approver, text)
                        .await
                }
                Output::TriageAlert { about, text } => self.alert_triage(about, text).await,
                Output::TriageIncident { text } => self.incident_to_triage(text).await,
                Output::LockoutNotice {
                    to,
                    lockout_id,
                    text,
                } => self.send_lockout_notice(to, lockout_id, text).await,
                Output::Reaction {
                    reactor,
                    emoji,
                    news,
                } => {
                    self.reaction_news(channel, thread_ts, reactor, emoji, news)
                        .await
                }
                Output::Help {
                    asker,
                    answer,
                    offer,
                } => {
                    let (text, blocks) = super::blocks::help_answer(
                        answer,
                        offer.as_ref().map(|(tool, label)| (*tool, label.as_str())),
                    );
                    match self
                        .web
                        .post_message(channel, thread_ts, &text, Some(blocks))
                        .await
                    {
                        Ok(answer_ts) => {
                            if let Err(e) = self
                                .engine
                                .remember_help_answer(
                                    channel,
                                    &answer_ts,
                                    thread_ts.unwrap_or_default(),
                                    asker,
                                )
                                .await
                            {
                                warn!(error = %e, "could not remember the help answer");
                            }
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            match result {
                Err(e) if out_of_reach(&e) && response_url.is_some() => {
                    info!(channel, "the bot is not in this conversation; answering through the command's response_url");
                    unreachable = true;
                    if let Some(url) = response_url {
                        if let Err(e) = self
                            .reroute(output, url, requester, &mut card_channel, &mut last_card)
                            .await
                        {
                            warn!(error = %e, "could not answer through the command's response_url");
                        }
                    }
                }
                Err(e) => warn!(error = %e, "could not deliver a message to Slack"),
                Ok(()) => {}
            }
        }
    }

    /// One output of a command typed where the bot is not: text back through `response_url`
    /// (only the person sees it), a card to the triage channel (or the requester's DM) with a
    /// link back to them, anything else as usual.
    async fn reroute(
        &self,
        output: Output,
        response_url: &str,
        requester: Option<&str>,
        card_channel: &mut String,
        last_card: &mut Option<String>,
    ) -> Result<(), super::web::SlackError> {
        match output {
            Output::Reply(text) | Output::Ephemeral { text, .. } => {
                self.web.respond(response_url, &untrusted(&text)).await
            }
            Output::Reaction {
                reactor,
                emoji,
                news,
            } => {
                let text = reactions::reaction_text(&reactor, &emoji, &news);
                self.web.respond(response_url, &text).await
            }
            Output::Help { answer, offer, .. } => {
                let (text, _) = super::blocks::help_answer(
                    &answer,
                    offer.as_ref().map(|(tool, label)| (*tool, label.as_str())),
                );
                self.web.respond(response_url, &text).await
            }
            Output::Card(card) => {
                let elsewhere = self
                    .triage_channels
                    .first()
                    .cloned()
                    .or_else(|| requester.map(str::to_string))
                    .unwrap_or_default();
                let (text, blocks) = pending_card(&card);
                let ts = self
                    .web
                    .post_message(&elsewhere, None, &text, Some(blocks))
                    .await?;
                if let Err(e) = self
                    .engine
                    .remember_card(&card.proposal_id, &elsewhere, &ts)
                    .await
                {
                    warn!(error = %e, "could not remember where a card is");
                }
                let place = if requester == Some(elsewhere.as_str()) {
                    "our DM".to_string()
                } else {
                    format!("<#{elsewhere}>")
                };
                let link = match self.web.permalink(&elsewhere, &ts).await {
                    Ok(url) if !url.is_empty() => format!(": <{url}|see the card>"),
                    _ => String::new(),
                };
                *card_channel = elsewhere;
                *last_card = Some(ts);
                self.web
                    .respond(
                        response_url,
                        &format!("I'm not in this conversation, so your request (proposal {}) is waiting for approval in {place}{link}.", card.proposal_id),
                    )
                    .await
            }
            Output::TriageNotice {
                requester, summary, ..
            } => {
                self.notify_triage(card_channel, last_card.as_deref(), &requester, &summary)
                    .await
            }
            Output::Notice {
                to,
                proposal_id,
                requester,
                approver,
                text,
            } => {
                self.send_notice(&to, &proposal_id, &requester, &approver, &text)
                    .await
            }
            Output::TriageAlert { about, text } => self.alert_triage(&about, &text).await,
            Output::TriageIncident { text } => self.incident_to_triage(&text).await,
            Output::LockoutNotice {
                to,
                lockout_id,
                text,
            } => self.send_lockout_notice(&to, &lockout_id, &text).await,
            Output::CardUpdate(card) => {
                let (text, blocks) = decided_card(&card);
                match self.engine.card_location(&card.proposal_id).await {
                    Some((channel, ts)) => {
                        self.web.update_message(&channel, &ts, &text, blocks).await
                    }
                    None => self.web.respond(response_url, &text).await,
                }
            }
            Output::DirectMessage { to, text } => self
                .web
                .post_message(&to, None, &untrusted(text.expose()), None)
                .await
                .map(drop),
        }
    }

    /// Tells a person by DM what was done to their account, and remembers the message so a
    /// reply in its thread reaches IT.
    /// Where the person is told to reach IT: the help channel, linked when it is an id.
    fn where_to_tell_it(&self) -> String {
        match self.context.help_channels.first() {
            Some(help) if crate::automations::reactions::is_channel_id(help) => {
                format!("in <#{help}>")
            }
            _ => "in the IT help channel".to_string(),
        }
    }

    /// The DM to a locked-out person, with "Unlock me".
    async fn send_lockout_notice(
        &self,
        to: &str,
        lockout_id: &str,
        text: &str,
    ) -> Result<(), super::web::SlackError> {
        let (fallback, blocks) =
            super::blocks::lockout_notice(text, lockout_id, &self.where_to_tell_it());
        self.web
            .post_message(to, None, &fallback, Some(blocks))
            .await
            .map(drop)
    }

    /// A message to the triage channel about no one person.
    async fn incident_to_triage(&self, text: &str) -> Result<(), super::web::SlackError> {
        let Some(triage) = self.triage_channels.first() else {
            warn!("no triage channel is configured; an incident for IT was not posted");
            return Ok(());
        };
        self.web
            .post_message(triage, None, &untrusted(text), None)
            .await
            .map(drop)
    }

    async fn send_notice(
        &self,
        to: &str,
        proposal_id: &str,
        requester: &str,
        approver: &str,
        text: &str,
    ) -> Result<(), super::web::SlackError> {
        let where_to = self.where_to_tell_it();
        let message = format!(
            "{} Requested by {}, approved by {}. If you did not expect this, tell IT {where_to}, or reply to this message.",
            untrusted(text),
            mention(requester),
            mention(approver)
        );
        let ts = self.web.post_message(to, None, &message, None).await?;
        self.engine.remember_notice(to, &ts, proposal_id).await;
        Ok(())
    }

    /// A message to the triage channel about a person.
    async fn alert_triage(&self, about: &str, text: &str) -> Result<(), super::web::SlackError> {
        let Some(triage) = self.triage_channels.first() else {
            warn!("no triage channel is configured; an alert for IT was not posted");
            return Ok(());
        };
        self.web
            .post_message(
                triage,
                None,
                &format!("{} {}", mention(about), untrusted(text)),
                None,
            )
            .await
            .map(drop)
    }

    async fn notify_triage(
        &self,
        channel: &str,
        card_ts: Option<&str>,
        requester: &str,
        summary: &str,
    ) -> Result<(), super::web::SlackError> {
        let Some(triage) = self.triage_channels.first() else {
            return Ok(());
        };
        if triage == channel {
            // The card is already in the triage channel.
            return Ok(());
        }
        let link = match card_ts {
            Some(ts) => match self.web.permalink(channel, ts).await {
                Ok(url) if !url.is_empty() => format!(" <{url}|Open the card>"),
                _ => String::new(),
            },
            None => String::new(),
        };
        self.web
            .post_message(
                triage,
                None,
                &format!(
                    "{} asked for: {}{link}",
                    mention(requester),
                    untrusted(summary)
                ),
                None,
            )
            .await
            .map(drop)
    }
}

/// Where one piece of work's outputs go.
struct Place<'a> {
    channel: &'a str,
    thread_ts: Option<&'a str>,
    /// The card a click came from (updated in place).
    card_ts: Option<&'a str>,
    /// A slash command's answer path, for when the bot cannot post in `channel`.
    response_url: Option<&'a str>,
    /// Who asked: their DM holds a card when there is no triage channel.
    requester: Option<&'a str>,
}

/// Slack refused because the bot is not in that conversation (or cannot see it).
fn out_of_reach(error: &super::web::SlackError) -> bool {
    matches!(error, super::web::SlackError::Api { error, .. }
        if matches!(error.as_str(), "not_in_channel" | "channel_not_found" | "is_archived"))
}

/// How a contained task ended.
#[derive(Debug, PartialEq, Eq)]
pub enum TaskEnd {
    Finished,
    /// It panicked; the reference is in the log next to the panic.
    Panicked(String),
}

/// Runs `work` in its own task so a panic stays inside it.
pub async fn run_contained(
    work: impl std::future::Future<Output = ()> + Send + 'static,
) -> TaskEnd {
    match tokio::spawn(work).await {
        Ok(()) => TaskEnd::Finished,
        Err(e) => {
            let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
            if e.is_panic() {
                error!(reference, "task panicked");
            }
            TaskEnd::Panicked(reference)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_person_has_a_minute_window_and_the_in_flight_count_is_capped() {
        let limiter = InboundLimiter::new(Limits {
            per_person_per_minute: 2,
            in_flight: 3,
            ..Limits::default()
        });
        let t0 = Instant::now();
        assert_eq!(limiter.admit("U1", t0), Admission::Admitted);
        assert_eq!(limiter.admit("U1", t0), Admission::Admitted);
        assert_eq!(limiter.admit("U1", t0), Admission::TooFast);
        // A minute later the window has moved on.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(limiter.admit("U2", t0), Admission::Admitted);
        // Three in flight (U1 twice, U2): the next person waits, whoever they are.
        assert_eq!(limiter.admit("U3", t0), Admission::Busy);
        limiter.done();
        assert_eq!(limiter.admit("U3", t0), Admission::Admitted);
        limiter.done();
        assert_eq!(limiter.admit("U1", later), Admission::Admitted);
    }

    #[test]
    fn would_allow_looks_without_counting() {
        let notes = SlidingWindow::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(notes.would_allow("U1", t0));
        assert!(notes.would_allow("U1", t0), "looking does not count");
        assert!(notes.allow("U1", t0));
        assert!(!notes.would_allow("U1", t0 + Duration::from_secs(59)));
        assert!(notes.would_allow("U2", t0), "each key has its own window");
        assert!(notes.would_allow("U1", t0 + Duration::from_secs(60)));
    }

    #[tokio::test]
    async fn a_panicking_task_is_contained_and_reported() {
        assert_eq!(run_contained(async {}).await, TaskEnd::Finished);
        let ended = run_contained(async { panic!("boom") }).await;
        assert!(
            matches!(ended, TaskEnd::Panicked(ref r) if r.len() == 12),
            "{ended:?}"
        );
    }
}
