//! The audit log: append-only records in a keyed hash chain (HMAC-SHA-256), stored in the
//! store's `audit` table. Each record names who asked, who approved, what, on whom, the outcome
//! and Okta's request ids. Secrets never enter a record: arguments are the tool's arguments,
//! which hold none, and outcomes are plain words. The key lives outside the database (a file
//! made on first start or by `keygen --audit-key`, or an env var), so someone who can write the
//! database but not read the key cannot rewrite history and recompute the chain. `verify`
//! detects any edited or removed record and prints the head hash so an external copy can
//! anchor the chain's end.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::secret::Secret;
use crate::store::{AuditRow, Store, StoreError, GENESIS_HASH};

/// One audit key: its id (the first 16 hex digits of its SHA-256) and its 32 secret bytes.
#[derive(Clone, Debug)]
pub struct AuditKey {
    pub id: String,
    secret: Secret<Vec<u8>>,
}

impl AuditKey {
    fn from_bytes(bytes: Vec<u8>) -> Self {
        let id = hex(&Sha256::digest(&bytes))[..16].to_string();
        Self {
            id,
            secret: Secret::new(bytes),
        }
    }

    fn generate() -> Result<Self, AuditError> {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| AuditError::Key(format!("no randomness: {e}")))?;
        Ok(Self::from_bytes(bytes))
    }
}

/// The audit keys: the newest signs new records; older ones still verify old records (key
/// rotation appends a key, it never replaces one).
#[derive(Clone, Debug)]
pub struct AuditKeys {
    keys: Vec<AuditKey>,
    /// Where they came from, for messages.
    pub source: String,
}

impl AuditKeys {
    /// Keys from text: one per line, `<id> <64 hex digits>` (or just the hex), newest last.
    pub fn parse(text: &str, source: &str) -> Result<Self, AuditError> {
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let material = line.split_whitespace().last().unwrap_or_default();
            let bytes = unhex(material).filter(|b| b.len() >= 32).ok_or_else(|| {
                AuditError::Key(format!(
                    "{source} line {}: expected 64 hex digits (make keys with `okta-agent keygen --audit-key FILE`)",
                    n + 1
                ))
            })?;
            keys.push(AuditKey::from_bytes(bytes));
        }
        if keys.is_empty() {
            return Err(AuditError::Key(format!(
                "{source} holds no key (make one with `okta-agent keygen --audit-key FILE`)"
            )));
        }
        Ok(Self {
            keys,
            source: source.to_string(),
        })
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            AuditError::Key(format!(
                "cannot read the audit key file {} ({e})",
                path.display()
            ))
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Reads the key file, or makes it (mode 0600) when it does not exist yet and the chain
    /// has no keyed record that would need the missing key.
    pub async fn load_or_create(path: &Path, store: &Store) -> Result<Self, AuditError> {
        if path.exists() {
            return Self::load(path);
        }
        if store.audit_has_signed_rows().await? {
            return Err(AuditError::Key(format!(
                "the audit key file {} is missing, but the audit chain was signed with a key; restore the file (or set OKTA_AGENT_AUDIT_KEY_FILE to where it is)",
                path.display()
            )));
        }
        Self::add_key(path)
    }

    /// A fresh key as one line of a key file (`<id> <64 hex digits>`), and its id.
    pub fn new_key_line() -> Result<(String, Secret<String>), AuditError> {
        let key = AuditKey::generate()?;
        let line = format!("{} {}\n", key.id, hex(key.secret.expose()));
        Ok((key.id, Secret::new(line)))
    }

    /// Appends a fresh key to the file (creating it with mode 0600): the rotation step. The
    /// new key signs from the next start on; the old ones keep verifying older records.
    pub fn add_key(path: &Path) -> Result<Self, AuditError> {
        use std::io::Write;
        let (_, line) = Self::new_key_line()?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| {
            AuditError::Key(format!(
                "cannot write the audit key file {} ({e})",
                path.display()
            ))
        })?;
        file.write_all(line.expose().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                AuditError::Key(format!(
                    "cannot write the audit key file {} ({e})",
                    path.display()
                ))
            })?;
        Self::load(path)
    }

    /// The key that signs new records.
    pub fn current(&self) -> &AuditKey {
        // `parse` refuses an empty list, so there is always a last key.
        &self.keys[self.keys.len() - 1]
    }

    fn get(&self, id: &str) -> Option<&AuditKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }
}

/// The default key file for a database file: beside it. Put it elsewhere (another disk, a
/// secrets mount) to keep it out of reach of whoever can write the database.
pub fn default_key_path(database: &Path) -> PathBuf {
    PathBuf::from(format!("{}.audit-key", database.display()))
}

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
    /// What set it off and who, when it was not a typed message: "reaction :lock: by U0LEO",
    /// "form by U0LEO", "schedule: end of time-bound access". Absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
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
    #[error("audit record {seq} was signed with key {key_id}, which is not in the key file; add the old key back, or this record was forged")]
    UnknownKey { seq: i64, key_id: String },
    #[error("audit record {seq} is unsigned, but records before it are signed: it was inserted by someone without the key")]
    UnsignedAfterSigned { seq: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    #[error("could not encode an audit record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("audit key: {0}")]
    Key(String),
}

/// A verified chain's end: anchor this outside the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub count: usize,
    pub head_hash: String,
    /// Records from before keyed audit (plain SHA-256 links), at the start of the chain.
    pub unsigned: usize,
}

/// Lower-case hex, by table: checking a long chain hashes every link, and formatting each byte
/// through `format!` cost more than the hashing.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The link over (previous hash, sequence number, record): HMAC-SHA-256 under `key`, or plain
/// SHA-256 for records from before keyed audit.
fn link_hash(key: Option<&AuditKey>, seq: i64, prev_hash: &str, record: &str) -> String {
    let message = format!("{prev_hash}\n{seq}\n{record}");
    match key {
        Some(key) => {
            // HMAC accepts keys of any length, so this cannot fail.
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.secret.expose()) else {
                return String::new();
            };
            mac.update(message.as_bytes());
            hex(&mac.finalize().into_bytes())
        }
        None => hex(&Sha256::digest(message.as_bytes())),
    }
}

/// Appends a record to the chain, signed with the current key.
pub async fn append(
    store: &Store,
    keys: &AuditKeys,
    record: &AuditRecord,
) -> Result<AuditRow, AuditError> {
    let text = serde_json::to_string(record)?;
    let key = keys.current();
    let row = store
        .append_audit(Some(&key.id), |seq, prev| {
            let hash = link_hash(Some(key), seq, prev, &text);
            (text.clone(), hash)
        })
        .await?;
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

/// Checks every link of the chain with the keys.
pub async fn verify(store: &Store, keys: &AuditKeys) -> Result<ChainHead, AuditError> {
    let mut check = ChainCheck::new(keys);
    let mut after = 0;
    loop {
        let page = store.audit_rows_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            check.next(row)?;
        }
    }
    Ok(check.head())
}

/// Rows read at a time while checking or exporting the chain.
const PAGE: i64 = 1_000;

/// The chain checked link by link, in order, holding only the last hash.
struct ChainCheck<'k> {
    keys: &'k AuditKeys,
    prev: String,
    count: usize,
    unsigned: usize,
}

impl<'k> ChainCheck<'k> {
    fn new(keys: &'k AuditKeys) -> Self {
        Self {
            keys,
            prev: GENESIS_HASH.to_string(),
            count: 0,
            unsigned: 0,
        }
    }

    /// Checks the next row: its place in the sequence, its link to the one before, its key
    /// and its hash.
    fn next(&mut self, row: &AuditRow) -> Result<(), ChainBreak> {
        let expected_seq = self.count as i64 + 1;
        if row.seq != expected_seq || row.prev_hash != self.prev {
            return Err(ChainBreak::Removed { seq: row.seq });
        }
        let key = match &row.key_id {
            None if self.unsigned == self.count => {
                self.unsigned += 1;
                None
            }
            None => return Err(ChainBreak::UnsignedAfterSigned { seq: row.seq }),
            Some(id) => Some(self.keys.get(id).ok_or_else(|| ChainBreak::UnknownKey {
                seq: row.seq,
                key_id: id.clone(),
            })?),
        };
        if link_hash(key, row.seq, &row.prev_hash, &row.record) != row.hash {
            return Err(ChainBreak::Edited { seq: row.seq });
        }
        self.prev = row.hash.clone();
        self.count += 1;
        Ok(())
    }

    fn head(self) -> ChainHead {
        ChainHead {
            count: self.count,
            head_hash: self.prev,
            unsigned: self.unsigned,
        }
    }
}

/// Export formats for `okta-agent audit export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
    /// Aligned columns for a person at a terminal (the detail cut to fit).
    Table,
}

const CSV_COLUMNS: [&str; 16] = [
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
    "trigger",
];

/// Which records an export keeps; every field that is set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// From this time on (Unix seconds, inclusive).
    pub since: Option<i64>,
    /// Before this time (Unix seconds, exclusive).
    pub until: Option<i64>,
    /// The requester or the approver (a Slack user id, or "command line (…)").
    pub actor: Option<String>,
    /// The target's Okta login or id, case-insensitive.
    pub target: Option<String>,
    /// The action (tool name), e.g. `unlock_user`.
    pub action: Option<String>,
    /// The outcome or the event: `executed`, `failed`, `denied`, `rejected`, `expired`, …
    pub outcome: Option<String>,
}

impl AuditFilter {
    pub fn matches(&self, record: &AuditRecord) -> bool {
        let same = |wanted: &Option<String>, value: Option<&str>| {
            wanted
                .as_deref()
                .is_none_or(|w| value.is_some_and(|v| v.eq_ignore_ascii_case(w)))
        };
        self.since.is_none_or(|t| record.time >= t)
            && self.until.is_none_or(|t| record.time < t)
            && self.actor.as_deref().is_none_or(|actor| {
                record.requester.as_deref() == Some(actor)
                    || record.approver.as_deref() == Some(actor)
            })
            && (same(&self.target, record.target.as_deref())
                || same(&self.target, record.target_id.as_deref()))
            && same(&self.action, record.action.as_deref())
            && (same(&self.outcome, record.outcome.as_deref())
                || same(&self.outcome, Some(record.event.as_str())))
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The whole chain, verified.
    pub head: ChainHead,
    /// The records the filter kept.
    pub written: usize,
}

/// Writes the records the filter keeps, in order, after verifying the whole chain (an export
/// of a broken chain is refused, so nobody mistakes it for a clean copy). Both passes read
/// the table a page at a time, so memory stays flat however long the chain.
pub async fn export(
    store: &Store,
    keys: &AuditKeys,
    format: ExportFormat,
    filter: &AuditFilter,
    out: &mut dyn std::io::Write,
) -> Result<Exported, Box<dyn std::error::Error + Send + Sync>> {
    let head = verify(store, keys).await?;
    match format {
        ExportFormat::Csv => writeln!(out, "{}", CSV_COLUMNS.join(","))?,
        ExportFormat::Table => writeln!(
            out,
            "{:>7}  {:<23}  {:<10}  {:<12}  {:<12}  {:<22}  {:<28}  {:<9}  detail",
            "seq", "time", "event", "requester", "approver", "action", "target", "outcome"
        )?,
        ExportFormat::Jsonl => {}
    }
    let mut written = 0;
    let mut after = 0;
    loop {
        let page = store.audit_rows_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            let record: AuditRecord =
                serde_json::from_str(&row.record).map_err(|e| ChainBreak::Unreadable {
                    seq: row.seq,
                    reason: e.to_string(),
                })?;
            if !filter.matches(&record) {
                continue;
            }
            write_record(format, row, &record, out)?;
            written += 1;
        }
    }
    Ok(Exported { head, written })
}

fn write_record(
    format: ExportFormat,
    row: &AuditRow,
    record: &AuditRecord,
    out: &mut dyn std::io::Write,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match format {
        ExportFormat::Jsonl => {
            let mut line = serde_json::to_value(record)?;
            if let Value::Object(map) = &mut line {
                map.insert("seq".into(), row.seq.into());
                map.insert("prev_hash".into(), row.prev_hash.clone().into());
                map.insert("hash".into(), row.hash.clone().into());
            }
            writeln!(out, "{line}")?;
        }
        ExportFormat::Csv => {
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
                opt(&record.trigger),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            writeln!(out, "{}", line.join(","))?;
        }
        ExportFormat::Table => {
            let cut = |text: &str, width: usize| -> String {
                let flat = text.replace(['\n', '\r', '\t'], " ");
                if flat.chars().count() <= width {
                    flat
                } else {
                    flat.chars().take(width - 1).collect::<String>() + "…"
                }
            };
            writeln!(
                out,
                "{:>7}  {:<23}  {:<10}  {:<12}  {:<12}  {:<22}  {:<28}  {:<9}  {}",
                row.seq,
                crate::clock::format_utc(record.time),
                cut(&record.event, 10),
                cut(&opt(&record.requester), 12),
                cut(&opt(&record.approver), 12),
                cut(&opt(&record.action), 22),
                cut(&opt(&record.target), 28),
                cut(&opt(&record.outcome), 9),
                cut(&record.detail, 80)
            )?;
        }
    }
    Ok(())
}

/// Quotes a CSV cell, and defuses spreadsheet formulas (a cell starting with `=`, `+`, `-`, `@`
/// would run when the export is opened in a spreadsheet).
pub(crate) fn csv_cell(text: &str) -> String {
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

    #[tokio::test]
    async fn chain_verifies_and_exports() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let keys = AuditKeys::load_or_create(&dir.path().join("a.db.audit-key"), &store)
            .await
            .unwrap();
        assert_eq!(verify(&store, &keys).await.unwrap().count, 0);
        for event in ["requested", "approved", "executed"] {
            append(&store, &keys, &record(event)).await.unwrap();
        }
        let head = verify(&store, &keys).await.unwrap();
        assert_eq!(head.count, 3);
        assert_eq!(head.unsigned, 0);
        let mut csv = Vec::new();
        export(
            &store,
            &keys,
            ExportFormat::Csv,
            &AuditFilter::default(),
            &mut csv,
        )
        .await
        .unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
        let mut jsonl = Vec::new();
        export(
            &store,
            &keys,
            ExportFormat::Jsonl,
            &AuditFilter::default(),
            &mut jsonl,
        )
        .await
        .unwrap();
        let last: Value =
            serde_json::from_str(String::from_utf8(jsonl).unwrap().lines().last().unwrap())
                .unwrap();
        assert_eq!(last["hash"], head.head_hash);
        assert_eq!(last["event"], "executed");
    }

    /// Someone who can write the database but not read the key edits a record and recomputes
    /// every link the only way they can (plain SHA-256, or HMAC with a key of their own):
    /// verification catches it.
    #[tokio::test]
    async fn an_edit_without_the_key_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let keys = AuditKeys::load_or_create(&dir.path().join("k"), &store)
            .await
            .unwrap();
        for event in ["requested", "approved", "executed"] {
            append(&store, &keys, &record(event)).await.unwrap();
        }
        let forged_key = AuditKeys::add_key(&dir.path().join("forger")).unwrap();
        for forger in [None, Some(forged_key.current())] {
            let mut prev = GENESIS_HASH.to_string();
            for row in store.audit_rows().await.unwrap() {
                let record = row.record.replace("U0LEO", "U0EVE");
                let hash = link_hash(forger, row.seq, &prev, &record);
                store
                    .execute_raw(&format!(
                        "UPDATE audit SET record = '{}', prev_hash = '{prev}', hash = '{hash}' WHERE seq = {}",
                        record.replace('\'', "''"),
                        row.seq
                    ))
                    .await
                    .unwrap();
                prev = hash;
            }
            let err = verify(&store, &keys).await.unwrap_err().to_string();
            assert!(err.contains("record 1"), "{err}");
        }
    }

    /// Rotation: a new key signs new records; the old key, still in the file, verifies the
    /// old ones; without the old key they are reported, not silently accepted.
    #[tokio::test]
    async fn keys_rotate_without_breaking_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).await.unwrap();
        let path = dir.path().join("keys");
        let first = AuditKeys::load_or_create(&path, &store).await.unwrap();
        append(&store, &first, &record("requested")).await.unwrap();
        let rotated = AuditKeys::add_key(&path).unwrap();
        assert_eq!(rotated.ids().len(), 2);
        append(&store, &rotated, &record("approved")).await.unwrap();
        assert_eq!(verify(&store, &rotated).await.unwrap().count, 2);
        let only_new = AuditKeys::parse(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .last()
                .unwrap(),
            "test",
        )
        .unwrap();
        assert!(matches!(
            verify(&store, &only_new).await,
            Err(AuditError::Broken(ChainBreak::UnknownKey { seq: 1, .. }))
        ));
        // A missing key file is not silently replaced once the chain is signed.
        std::fs::remove_file(&path).unwrap();
        assert!(AuditKeys::load_or_create(&path, &store).await.is_err());
    }
}
