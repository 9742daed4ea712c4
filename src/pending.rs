//! What is waiting, for `okta-agent pending`: proposals no one has decided yet and jobs not yet
//! run (the end of time-bound access, an approval after its grace window), each with its id,
//! age, requester and what it waits for, as JSON lines, CSV or a table. Read from the store, so
//! it shows every replica's work.

use serde::Serialize;

use crate::audit::ExportFormat;
use crate::clock::{format_duration, format_utc};
use crate::store::{JobKind, Store, StoreError};

/// One waiting item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// `proposal` or `job`.
    pub kind: &'static str,
    pub id: String,
    /// The proposal it belongs to (itself, for a proposal).
    pub proposal_id: String,
    /// Seconds since the proposal was made.
    pub age_seconds: i64,
    pub requester: String,
    pub action: String,
    /// The target's Okta login.
    pub target: String,
    /// In words: "approval, until 2026-12-06 09:30:00 UTC", "the end of time-bound access at …".
    pub waiting_for: String,
}

/// Open proposals, then scheduled jobs, at `now`.
pub async fn waiting(store: &Store, now: i64) -> Result<Vec<Waiting>, StoreError> {
    let login = |target: &str| {
        serde_json::from_str::<serde_json::Value>(target)
            .ok()
            .and_then(|t| t["login"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let mut items: Vec<Waiting> = store
        .open_proposals(now)
        .await?
        .into_iter()
        .map(|p| Waiting {
            kind: "proposal",
            id: p.id.clone(),
            proposal_id: p.id,
            age_seconds: now - p.created_at,
            requester: p.requester,
            action: p.tool,
            target: login(&p.target),
            waiting_for: format!("approval, until {}", format_utc(p.expires_at)),
        })
        .collect();
    for job in store.scheduled_jobs().await? {
        let proposal = store.proposal(&job.proposal_id).await?;
        let what = match job.kind {
            JobKind::EndAccess => "the end of time-bound access",
            JobKind::Approve => "the end of a reaction's grace window",
            JobKind::VerifyPush => "the person's answer to an Okta Verify push",
        };
        items.push(Waiting {
            kind: "job",
            id: job.id,
            proposal_id: job.proposal_id,
            age_seconds: proposal.as_ref().map_or(0, |p| now - p.created_at),
            requester: proposal
                .as_ref()
                .map(|p| p.requester.clone())
                .unwrap_or_default(),
            action: proposal
                .as_ref()
                .map(|p| p.tool.clone())
                .unwrap_or_default(),
            target: proposal
                .as_ref()
                .map(|p| login(&p.target))
                .unwrap_or_default(),
            waiting_for: format!("{what} at {}", format_utc(job.run_at)),
        });
    }
    Ok(items)
}

/// Writes the items in `format`.
pub fn write(
    items: &[Waiting],
    format: ExportFormat,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        ExportFormat::Jsonl => {
            for item in items {
                writeln!(out, "{}", serde_json::to_string(item).unwrap_or_default())?;
            }
        }
        ExportFormat::Csv => {
            writeln!(
                out,
                "kind,id,proposal_id,age_seconds,requester,action,target,waiting_for"
            )?;
            for item in items {
                let cells = [
                    item.kind.to_string(),
                    item.id.clone(),
                    item.proposal_id.clone(),
                    item.age_seconds.to_string(),
                    item.requester.clone(),
                    item.action.clone(),
                    item.target.clone(),
                    item.waiting_for.clone(),
                ];
                let line: Vec<String> = cells.iter().map(|c| crate::audit::csv_cell(c)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        ExportFormat::Table => {
            if items.is_empty() {
                return writeln!(
                    out,
                    "Nothing is waiting: no open proposal, no scheduled job."
                );
            }
            writeln!(
                out,
                "{:<8}  {:<24}  {:<18}  {:<12}  {:<22}  {:<28}  waiting for",
                "kind", "id", "age", "requester", "action", "target"
            )?;
            for item in items {
                writeln!(
                    out,
                    "{:<8}  {:<24}  {:<18}  {:<12}  {:<22}  {:<28}  {}",
                    item.kind,
                    item.id,
                    format_duration(item.age_seconds.max(0)),
                    item.requester,
                    item.action,
                    item.target,
                    item.waiting_for
                )?;
            }
        }
    }
    Ok(())
}
