//! Socket Mode connections for real networks, plugged into slack-morphism through its own
//! extension point ([`SlackSocketModeClientsManagerFactory`]): its listener, callbacks, event
//! types and acks stay as they are; only the connections differ from its built-in ones. Each
//! one gets its URL from `apps.connections.open` through okta-agent's HTTP client (so through
//! the proxy too), then opens the websocket through the same proxy (`HTTPS_PROXY` for `wss://`,
//! an HTTP CONNECT tunnel, with `user:password@` credentials when the proxy URL has them) and
//! with `TCP_NODELAY`, so a small ack frame is never held back waiting for the peer's delayed
//! ACK. Slack-morphism's own connections ignore proxies (its issue #181) and leave Nagle on.
//!
//! Envelopes are handled concurrently (up to [`ENVELOPES_IN_PROGRESS`] per connection) and acked
//! as each finishes: envelopes that arrive together are recorded together (the store's group
//! commit) instead of one after the other, and their acks go out in one write. One in hand is
//! never cut off half-way, even when the connection drops: a delivery recorded but never queued
//! would be lost (its redelivery is a duplicate), so the loop finishes them before it ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine as _;
use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use slack_morphism::clients_manager::{
    SlackSocketModeClientsManager, SlackSocketModeClientsManagerFactory,
};
use slack_morphism::listener::SlackClientEventsListenerEnvironment;
use slack_morphism::prelude::*;
use slack_morphism::{
    ClientResult, SlackApiToken, SlackClientApiCallContext, SlackClientHttpConnector,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};
use tokio_tungstenite::tungstenite::Message;
use tracing::{debug, info, warn};

use super::web::SlackWeb;

/// Envelopes one connection handles at once. Past it, frames wait in the socket (TCP pushes
/// back on Slack), so a burst of thousands costs memory for this many, not for all.
pub const ENVELOPES_IN_PROGRESS: usize = 256;

/// slack-morphism's HTTPS connector for its Web API calls, with okta-agent's Socket Mode
/// connections.
#[derive(Clone)]
pub struct Connector {
    web_api: SlackClientHyperHttpsConnector,
    /// `apps.connections.open` with the app token, through okta-agent's HTTP client.
    opener: SlackWeb,
}

impl Connector {
    pub fn new(web_api: SlackClientHyperHttpsConnector, opener: SlackWeb) -> Self {
        Self { web_api, opener }
    }
}

impl SlackClientHttpConnector for Connector {
    fn http_get_uri<'a, RS>(
        &'a self,
        full_uri: url::Url,
        context: SlackClientApiCallContext<'a>,
    ) -> BoxFuture<'a, ClientResult<RS>>
    where
        RS: for<'de> serde::de::Deserialize<'de> + Send + 'a,
    {
        self.web_api.http_get_uri(full_uri, context)
    }

    fn http_get_with_client_secret<'a, RS>(
        &'a self,
        full_uri: url::Url,
        client_id: &'a SlackClientId,
        client_secret: &'a SlackClientSecret,
    ) -> BoxFuture<'a, ClientResult<RS>>
    where
        RS: for<'de> serde::de::Deserialize<'de> + Send + 'a,
    {
        self.web_api
            .http_get_with_client_secret(full_uri, client_id, client_secret)
    }

    fn http_post_uri<'a, RQ, RS>(
        &'a self,
        full_uri: url::Url,
        request_body: &'a RQ,
        context: SlackClientApiCallContext<'a>,
    ) -> BoxFuture<'a, ClientResult<RS>>
    where
        RQ: serde::ser::Serialize + Send + Sync,
        RS: for<'de> serde::de::Deserialize<'de> + Send + 'a,
    {
        self.web_api.http_post_uri(full_uri, request_body, context)
    }

    fn http_post_uri_multipart_form<'a, 'p, RS, PT, TS>(
        &'a self,
        full_uri: url::Url,
        file: Option<slack_morphism::multipart_form::FileMultipartData<'p>>,
        params: &'p PT,
        context: SlackClientApiCallContext<'a>,
    ) -> BoxFuture<'a, ClientResult<RS>>
    where
        RS: for<'de> serde::de::Deserialize<'de> + Send + 'a,
        PT: std::iter::IntoIterator<Item = (&'p str, Option<TS>)> + Clone,
        TS: AsRef<str> + 'p + Send,
    {
        self.web_api
            .http_post_uri_multipart_form(full_uri, file, params, context)
    }

    fn http_post_uri_binary<'a, 'p, RS>(
        &'a self,
        full_uri: url::Url,
        content_type: String,
        data: &'a [u8],
        context: SlackClientApiCallContext<'a>,
    ) -> BoxFuture<'a, ClientResult<RS>>
    where
        RS: for<'de> serde::de::Deserialize<'de> + Send + 'a,
    {
        self.web_api
            .http_post_uri_binary(full_uri, content_type, data, context)
    }

    fn create_method_uri_path(&self, method_relative_uri: &str) -> ClientResult<url::Url> {
        self.web_api.create_method_uri_path(method_relative_uri)
    }
}

impl SlackSocketModeClientsManagerFactory<Connector> for Connector {
    fn new_clients_manager(
        &self,
        _environment: Arc<SlackClientEventsListenerEnvironment<Connector>>,
    ) -> Arc<dyn SlackSocketModeClientsManager + Send + Sync> {
        Arc::new(Clients {
            opener: self.opener.clone(),
            active: Mutex::new(Vec::new()),
        })
    }
}

/// The open connections.
struct Clients {
    opener: SlackWeb,
    active: Mutex<Vec<Connection>>,
}

/// One Socket Mode connection and how to stop it.
struct Connection {
    id: SlackSocketModeWssClientId,
    listener: Arc<dyn SlackSocketModeClientListener + Send + Sync>,
    config: SlackClientSocketModeConfig,
    stop: Arc<AtomicBool>,
    commands: mpsc::UnboundedSender<Command>,
    waiting: Option<mpsc::UnboundedReceiver<Command>>,
}

enum Command {
    Close,
}

impl Connection {
    fn new(
        id: SlackSocketModeWssClientId,
        listener: Arc<dyn SlackSocketModeClientListener + Send + Sync>,
        config: SlackClientSocketModeConfig,
    ) -> Self {
        let (commands, waiting) = mpsc::unbounded_channel();
        Self {
            id,
            listener,
            config,
            stop: Arc::new(AtomicBool::new(false)),
            commands,
            waiting: Some(waiting),
        }
    }

    fn start(&mut self, opener: SlackWeb, initial_wait: Duration) {
        let Some(commands) = self.waiting.take() else {
            return;
        };
        tokio::spawn(run(
            self.id.clone(),
            self.listener.clone(),
            self.config.clone(),
            opener,
            self.stop.clone(),
            commands,
            initial_wait,
        ));
    }

    fn close(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.commands.send(Command::Close);
    }
}

#[async_trait]
impl SlackSocketModeClientsManager for Clients {
    async fn register_new_token(
        &self,
        config: &SlackClientSocketModeConfig,
        _token: SlackApiToken,
        client_listener: Arc<dyn SlackSocketModeClientListener + Sync + Send>,
    ) -> ClientResult<()> {
        let mut active = self.active.lock().await;
        let first = active.len() as u32;
        for n in 0..config.max_connections_count {
            let id = SlackSocketModeWssClientId::new(first + n, n, 0);
            active.push(Connection::new(id, client_listener.clone(), config.clone()));
        }
        Ok(())
    }

    async fn restart_client(&self, client_id: &SlackSocketModeWssClientId) {
        let mut active = self.active.lock().await;
        let Some(index) = active.iter().position(|c| c.id == *client_id) else {
            return;
        };
        let old = active.remove(index);
        old.close();
        let mut fresh = Connection::new(
            old.id.new_reconnected_id(),
            old.listener.clone(),
            old.config.clone(),
        );
        fresh.start(self.opener.clone(), Duration::ZERO);
        active.push(fresh);
    }

    async fn start(&self) {
        let mut active = self.active.lock().await;
        for (n, connection) in active.iter_mut().enumerate() {
            // Spread the connections out, as Slack asks of several.
            let wait =
                Duration::from_secs(n as u64 * connection.config.initial_backoff_in_seconds.min(1));
            connection.start(self.opener.clone(), wait);
        }
    }

    async fn shutdown(&self) {
        for connection in self.active.lock().await.drain(..) {
            connection.close();
        }
    }

    async fn await_term_signals(&self) {
        // okta-agent stops the listener itself (`run`'s shutdown), never from here.
        std::future::pending::<()>().await;
    }
}

/// Connects (again and again until it works or is stopped), then pumps frames: Slack's
/// envelopes to the listener, its acks back, pings to notice a dead link.
async fn run(
    id: SlackSocketModeWssClientId,
    listener: Arc<dyn SlackSocketModeClientListener + Send + Sync>,
    config: SlackClientSocketModeConfig,
    opener: SlackWeb,
    stop: Arc<AtomicBool>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    initial_wait: Duration,
) {
    tokio::time::sleep(initial_wait).await;
    let socket = loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match connect(&opener).await {
            Ok(socket) => break socket,
            Err(why) => {
                warn!(connection = %id.to_string(), error = %why, "could not open a Socket Mode connection; retrying");
                tokio::time::sleep(Duration::from_secs(config.reconnect_timeout_in_seconds)).await;
            }
        }
    };
    let (mut writer, mut reader) = socket.split();
    let gauge = &crate::metrics::metrics().socket_connections;
    gauge.inc();
    // The gauge goes down however this connection ends.
    struct Open<'a>(&'a prometheus_client::metrics::gauge::Gauge);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            self.0.dec();
        }
    }
    let _open = Open(gauge);
    let mut ping =
        tokio::time::interval(Duration::from_secs(config.ping_interval_in_seconds.max(1)));
    ping.tick().await;
    let mut last_pong = Instant::now();
    let allowed_silence =
        Duration::from_secs(config.ping_interval_in_seconds * config.ping_failure_threshold_times);
    // Each envelope is handled in a task of its own (both cores parse), which says when it is
    // done, with its ack if it has one: its place under ENVELOPES_IN_PROGRESS is free again.
    let (finished, mut done) = mpsc::unbounded_channel::<Option<String>>();
    let mut in_progress = 0usize;
    let ended = loop {
        tokio::select! {
            command = commands.recv() => {
                if matches!(command, Some(Command::Close) | None) {
                    break Ended::Closed;
                }
            }
            _ = ping.tick() => {
                if last_pong.elapsed() > allowed_silence {
                    warn!(connection = %id.to_string(), "no pong from Slack for a while; reconnecting");
                    break Ended::Lost;
                }
                let body: [u8; 5] = rand::random();
                if writer.send(Message::Ping(body.to_vec().into())).await.is_err() {
                    break Ended::Lost;
                }
            }
            Some(ack) = done.recv() => {
                // Acks that are ready together go out in one write: in a burst, one system
                // call per ack was the largest part of the socket's work. The records of a
                // batch become durable at once and wake their envelopes' tasks together; one
                // yield lets those tasks run and hand over their acks before the write.
                tokio::task::yield_now().await;
                let mut acks = vec![ack];
                while acks.len() < ENVELOPES_IN_PROGRESS {
                    match done.try_recv() {
                        Ok(ack) => acks.push(ack),
                        Err(_) => break,
                    }
                }
                in_progress -= acks.len();
                if send_acks(&mut writer, acks).await.is_err() {
                    break Ended::Lost;
                }
            }
            frame = reader.next(), if in_progress < ENVELOPES_IN_PROGRESS => match frame {
                Some(Ok(Message::Text(body))) => {
                    in_progress += 1;
                    let (listener, id, finished) = (listener.clone(), id.clone(), finished.clone());
                    // Never cancelled: it runs to its end even if this connection ends first.
                    tokio::spawn(async move {
                        let ack = listener.on_message(&id, body.as_str().to_string()).await;
                        let _ = finished.send(ack);
                    });
                }
                Some(Ok(Message::Pong(_))) => last_pong = Instant::now(),
                Some(Ok(Message::Ping(_) | Message::Frame(_) | Message::Binary(_))) => {}
                Some(Ok(Message::Close(_))) | None => {
                    debug!(connection = %id.to_string(), "Slack closed the connection");
                    break Ended::ClosedBySlack;
                }
                Some(Err(e)) => {
                    warn!(connection = %id.to_string(), error = %e, "Socket Mode connection failed; reconnecting");
                    break Ended::ClosedBySlack;
                }
            }
        }
    };
    match ended {
        Ended::Closed => {
            let _ = writer.close().await;
        }
        Ended::Lost => {
            let _ = writer.close().await;
            listener.on_disconnect(&id).await;
        }
        Ended::ClosedBySlack => {
            if !stop.load(Ordering::SeqCst) {
                listener.on_disconnect(&id).await;
            }
        }
    }
}

/// Queues each ack's frame, then writes them all at once.
async fn send_acks(
    writer: &mut futures_util::stream::SplitSink<Socket, Message>,
    acks: Vec<Option<String>>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    for ack in acks.into_iter().flatten() {
        writer.feed(Message::Text(ack.into())).await?;
    }
    writer.flush().await
}

/// Why a connection's loop ended.
enum Ended {
    /// okta-agent closed it.
    Closed,
    /// It went silent or a write failed.
    Lost,
    /// Slack closed it, or the socket failed.
    ClosedBySlack,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// `apps.connections.open`, then the websocket: through the proxy when one applies.
async fn connect(opener: &SlackWeb) -> Result<Socket, String> {
    let url = opener
        .open_connection()
        .await
        .map_err(|e| format!("apps.connections.open failed: {e}"))?;
    let target = url::Url::parse(&url).map_err(|e| format!("Slack gave an unusable URL ({e})"))?;
    let host = target
        .host_str()
        .ok_or("Slack gave a URL without a host")?
        .to_string();
    let port = target.port_or_known_default().unwrap_or(443);
    let proxy = crate::http::proxy_for(&target, &|name| std::env::var(name).ok());
    let stream = match &proxy {
        Some(proxy) => tunnel(proxy, &host, port).await?,
        None => TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("could not connect to {host}:{port} ({e})"))?,
    };
    // Acks are small frames: without this, Nagle holds some until the peer's delayed ACK.
    stream
        .set_nodelay(true)
        .map_err(|e| format!("could not set TCP_NODELAY ({e})"))?;
    let (socket, _) =
        tokio_tungstenite::client_async_tls_with_config(url.as_str(), stream, None, None)
            .await
            .map_err(|e| format!("the websocket handshake failed ({e})"))?;
    info!(
        via = proxy.as_ref().map_or("direct", |p| p.shown.as_str()),
        "Socket Mode connected"
    );
    Ok(socket)
}

/// An HTTP CONNECT tunnel to `host:port` through `proxy`.
async fn tunnel(proxy: &crate::http::Proxy, host: &str, port: u16) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(&proxy.address)
        .await
        .map_err(|e| format!("could not reach the proxy {} ({e})", proxy.shown))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("could not set TCP_NODELAY ({e})"))?;
    let mut request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if let Some(credentials) = &proxy.credentials {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        request.push_str(&format!("Proxy-Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("the proxy {} dropped the connection ({e})", proxy.shown))?;
    // The reply's head, byte by byte so nothing after it is consumed.
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8 * 1024 {
            return Err(format!("the proxy {} sent an endless reply", proxy.shown));
        }
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut byte))
            .await
            .map_err(|_| format!("the proxy {} did not answer CONNECT", proxy.shown))?
            .map_err(|e| format!("the proxy {} dropped the connection ({e})", proxy.shown))?;
        if read == 0 {
            return Err(format!("the proxy {} closed the connection", proxy.shown));
        }
        head.push(byte[0]);
    }
    let status_line = String::from_utf8_lossy(&head);
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    match status {
        200..=299 => Ok(stream),
        407 => Err(format!("the proxy {} wants credentials (407); put them in the proxy URL: http://user:password@host:port", proxy.shown)),
        other => Err(format!("the proxy {} refused the tunnel to {host}:{port} (HTTP {other})", proxy.shown)),
    }
}
