//! The audit log: append-only records in a SHA-256 hash chain, stored in the store's `audit`
//! table. Each record names who asked, who approved, what, on whom, the outcome and Okta's
//! request ids. Secrets never enter a record: arguments are the tool's arguments, which hold
//! none, and outcomes are plain words. `verify` detects any edited or removed record; it prints
//! the head hash so an external copy can anchor the chain's end.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::store::{AuditRow, Store, StoreError, GENESIS_HASH};

/// One audited event.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Unix seconds.
    pub time: i64,
    /// `requested`, `denied`, `approved`, `rejected`, `expired`, `refused`, `executed`, `failed`
    /// or `unknown`.
    pub event: String,
    pub requester: Option<String>,
    pub approver: Option<String>,
    pub action: Option<String>,
    /// The target's Okta login.
    pub target: Option<String>,
    pub target_id: Option<String>,
    pub arguments: Option<Value>,
    pub outcome: Option<String>,
    /// Plain words: the reason for a refusal, Okta's error, the resulting state.
    pub detail: String,
    pub okta_request_ids: Vec<String>,
    pub proposal_id: Option<String>,
}

/// Where a chain stops being trustworthy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainBreak {
    #[error("audit record {seq} was edited: its hash does not match its content")]
    Edited { seq: i64 },
    #[error("the audit chain is broken before record {seq}: a record was removed or reordered")]
    Removed { seq: i64 },
    #[error("audit record {seq} is unreadable: {reason}")]
    Unreadable { seq: i64, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    #[error("could not encode an audit record: {0}")]
    Encode(#[from] serde_json::Error),
}

/// A verified chain's end: anchor this outside the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub count: usize,
    pub head_hash: String,
}

fn link_hash(seq: i64, prev_hash: &str, record: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(seq.to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(record.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Appends a record to the chain.
pub fn append(store: &Store, record: &AuditRecord) -> Result<AuditRow, AuditError> {
    let text = serde_json::to_string(record)?;
    let row = store.append_audit(|seq, prev| {
        let hash = link_hash(seq, prev, &text);
        (text.clone(), hash)
    })?;
    tracing::info!(
        target: "okta_agent::audit",
        seq = row.seq,
        event = %record.event,
        action = record.action.as_deref().unwrap_or("-"),
        target = record.target.as_deref().unwrap_or("-"),
        requester = record.requester.as_deref().unwrap_or("-"),
        approver = record.approver.as_deref().unwrap_or("-"),
        "audit"
    );
    Ok(row)
}

/// Checks every link of the chain.
pub fn verify(store: &Store) -> Result<ChainHead, AuditError> {
    let rows = store.audit_rows()?;
    let mut prev = GENESIS_HASH.to_string();
    for (index, row) in rows.iter().enumerate() {
        let expected_seq = index as i64 + 1;
        if row.seq != expected_seq || row.prev_hash != prev {
            return Err(ChainBreak::Removed { seq: row.seq }.into());
        }
        if link_hash(row.seq, &row.prev_hash, &row.record) != row.hash {
            return Err(ChainBreak::Edited { seq: row.seq }.into());
        }
        prev = row.hash.clone();
    }
    Ok(ChainHead {
        count: rows.len(),
        head_hash: prev,
    })
}

/// Export formats for `okta-agent audit export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

const CSV_COLUMNS: [&str; 15] = [
    "seq",
    "time_utc",
    "event",
    "requester",
    "approver",
    "action",
    "target",
    "target_id",
    "arguments",
    "outcome",
    "detail",
    "okta_request_ids",
    "proposal_id",
    "prev_hash",
    "hash",
];

/// Writes every record, in order, after verifying the chain (an export of a broken chain is
/// refused, so nobody mistakes it for a clean copy).
pub fn export(
    store: &Store,
    format: ExportFormat,
    out: &mut dyn std::io::Write,
) -> Result<ChainHead, Box<dyn std::error::Error + Send + Sync>> {
    let head = verify(store)?;
    if format == ExportFormat::Csv {
        writeln!(out, "{}", CSV_COLUMNS.join(","))?;
    }
    for row in store.audit_rows()? {
        let record: AuditRecord =
            serde_json::from_str(&row.record).map_err(|e| ChainBreak::Unreadable {
                seq: row.seq,
                reason: e.to_string(),
            })?;
        match format {
            ExportFormat::Jsonl => {
                let mut line = serde_json::to_value(&record)?;
                if let Value::Object(map) = &mut line {
                    map.insert("seq".into(), row.seq.into());
                    map.insert("prev_hash".into(), row.prev_hash.clone().into());
                    map.insert("hash".into(), row.hash.clone().into());
                }
                writeln!(out, "{line}")?;
            }
            ExportFormat::Csv => {
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                let cells = [
                    row.seq.to_string(),
                    crate::clock::format_utc(record.time),
                    record.event.clone(),
                    opt(&record.requester),
                    opt(&record.approver),
                    opt(&record.action),
                    opt(&record.target),
                    opt(&record.target_id),
                    record
                        .arguments
                        .as_ref()
                        .map(Value::to_string)
                        .unwrap_or_default(),
                    opt(&record.outcome),
                    record.detail.clone(),
                    record.okta_request_ids.join(" "),
                    opt(&record.proposal_id),
                    row.prev_hash.clone(),
                    row.hash.clone(),
                ];
                let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
    }
    Ok(head)
}

/// Quotes a CSV cell, and defuses spreadsheet formulas (a cell starting with `=`, `+`, `-`, `@`
/// would run when the export is opened in a spreadsheet).
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) || text.starts_with('\'') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(event: &str) -> AuditRecord {
        AuditRecord {
            time: 1_795_874_709,
            event: event.into(),
            requester: Some("U0LEO".into()),
            action: Some("unlock_user".into()),
            target: Some("bob.smith@example.com".into()),
            detail: "=HYPERLINK(\"x\")".into(),
            ..AuditRecord::default()
        }
    }

    #[test]
    fn chain_verifies_and_exports() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        assert_eq!(verify(&store).unwrap().count, 0);
        for event in ["requested", "approved", "executed"] {
            append(&store, &record(event)).unwrap();
        }
        let head = verify(&store).unwrap();
        assert_eq!(head.count, 3);
        let mut csv = Vec::new();
        export(&store, ExportFormat::Csv, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
        let mut jsonl = Vec::new();
        export(&store, ExportFormat::Jsonl, &mut jsonl).unwrap();
        let last: Value =
            serde_json::from_str(String::from_utf8(jsonl).unwrap().lines().last().unwrap())
                .unwrap();
        assert_eq!(last["hash"], head.head_hash);
        assert_eq!(last["event"], "executed");
    }
}
