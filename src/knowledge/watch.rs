//! Keeps the help documents fresh while `run` is up: every few seconds it fetches the web
//! pages that are due, checks the folder's fingerprint, and reloads when anything changed, or
//! at once when asked (SIGHUP). A reload that fails keeps the documents already served.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{info, warn};

use super::Knowledge;

/// Runs until the task is dropped or aborted.
pub async fn keep_fresh(
    knowledge: Arc<Knowledge>,
    http: reqwest::Client,
    every: Duration,
    reload_now: Arc<Notify>,
) {
    if knowledge.semantic().is_some() {
        // Embed the sections once at start; the first answers use keywords until it is done.
        if let Err(e) = knowledge.refresh().await {
            warn!(error = %e, "help documents could not be embedded at start");
        }
    }
    if knowledge.sources().is_empty() {
        // Nothing to watch, but a SIGHUP still deserves an answer in the log.
        loop {
            reload_now.notified().await;
            info!("SIGHUP: no [knowledge] sources are configured, so there is nothing to reload");
        }
    }
    let mut last = fingerprint(&knowledge).await;
    let mut forced = false;
    loop {
        let (fetched, failures) = knowledge.sources().refresh_pages(&http).await;
        for failure in &failures {
            warn!(page = %failure, "a help page could not be fetched; its cached copy stays in use");
        }
        let now = fingerprint(&knowledge).await;
        if forced || fetched > 0 || now != last {
            if let Err(e) = knowledge.refresh().await {
                warn!(error = %e, "help documents could not be reloaded; the previous ones stay served");
            }
            last = now;
        }
        forced = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = reload_now.notified() => {
                info!("SIGHUP: reloading help documents");
                true
            }
        };
    }
}

async fn fingerprint(knowledge: &Arc<Knowledge>) -> Vec<(String, u64, std::time::SystemTime)> {
    let knowledge = knowledge.clone();
    tokio::task::spawn_blocking(move || knowledge.sources().fingerprint())
        .await
        .unwrap_or_default()
}
