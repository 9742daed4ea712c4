//! `okta-agent audit export` streams: over a chain of 1,000,000 records, with and without
//! filters, the heap it holds at its peak stays a few MiB, measured by a counting allocator.
//!
//! A test binary of its own: the allocator counts every allocation in the process, which other
//! tests running alongside would disturb.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use okta_agent::audit::{export, AuditFilter, AuditKeys, ExportFormat};
use okta_agent::store::{Store, GENESIS_HASH};
use sha2::{Digest, Sha256};

/// The system allocator, counting the bytes held now and the most held since the last reset.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let held = HELD.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(held, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const RECORDS: i64 = 1_000_000;
const HEX: &[u8; 16] = b"0123456789abcdef";
const PER_STATEMENT: i64 = 5_000;

/// Writes a chain of `RECORDS` plain SHA-256 links (as records from before keyed audit are),
/// a few statements at a time: appending a million through the store would take minutes.
async fn a_long_chain(store: &Store) {
    let mut prev = GENESIS_HASH.to_string();
    let mut seq = 0;
    while seq < RECORDS {
        let mut values = Vec::with_capacity(PER_STATEMENT as usize);
        for _ in 0..PER_STATEMENT {
            seq += 1;
            let (action, outcome, requester) = match seq % 4 {
                0 => ("unlock_user", "executed", "U0LEO"),
                1 => ("suspend_user", "executed", "U0GRACE"),
                2 => ("add_user_to_group", "failed", "U0LEO"),
                _ => ("reset_factors", "executed", "U0GRACE"),
            };
            let record = format!(
                r#"{{"time":{},"event":"{outcome}","requester":"{requester}","approver":"U0GRACE","action":"{action}","target":"user{}@example.com","target_id":"00u{seq:017}","arguments":null,"outcome":"{outcome}","detail":"record {seq}","okta_request_ids":[],"proposal_id":"p-{seq}"}}"#,
                1_700_000_000 + seq,
                seq % 1_000
            );
            let digest = Sha256::digest(format!("{prev}\n{seq}\n{record}").as_bytes());
            let mut hash = String::with_capacity(64);
            for byte in digest {
                hash.push(HEX[usize::from(byte >> 4)] as char);
                hash.push(HEX[usize::from(byte & 0xf)] as char);
            }
            values.push(format!("({seq}, '{record}', '{prev}', '{hash}', NULL)"));
            prev = hash;
        }
        store
            .execute_raw(&format!(
                "INSERT INTO audit (seq, record, prev_hash, hash, key_id) VALUES {}",
                values.join(",")
            ))
            .await
            .unwrap();
    }
}

/// Counts what is written, and keeps none of it.
#[derive(Default)]
struct Counted {
    bytes: usize,
    lines: usize,
}

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        self.lines += buf.iter().filter(|b| **b == b'\n').count();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The most heap the export held above what was held before it, and what it wrote.
async fn peak_of_export(
    store: &Store,
    keys: &AuditKeys,
    format: ExportFormat,
    filter: &AuditFilter,
) -> (usize, Counted, usize) {
    let mut out = Counted::default();
    let before = HELD.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let exported = export(store, keys, format, filter, &mut out).await.unwrap();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    assert_eq!(exported.head.count, RECORDS as usize);
    (peak, out, exported.written)
}

#[tokio::test(flavor = "current_thread")]
async fn a_million_records_export_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("audit.db")).await.unwrap();
    let keys = AuditKeys::add_key(&dir.path().join("audit.key")).unwrap();
    let started = std::time::Instant::now();
    a_long_chain(&store).await;
    println!(
        "wrote the chain in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    const MIB: usize = 1024 * 1024;

    let (peak, out, written) =
        peak_of_export(&store, &keys, ExportFormat::Jsonl, &AuditFilter::default()).await;
    println!(
        "export of {written} records: {} MiB written, heap peak {:.1} MiB",
        out.bytes / MIB,
        peak as f64 / MIB as f64
    );
    assert_eq!((written, out.lines), (RECORDS as usize, RECORDS as usize));
    assert!(out.bytes > 250 * MIB, "{} bytes", out.bytes);
    // Holding the chain would take hundreds of MiB; a page at a time takes a few.
    assert!(peak < 8 * MIB, "the export held {peak} bytes at its peak");

    let unlocks = AuditFilter {
        action: Some("unlock_user".into()),
        actor: Some("U0LEO".into()),
        since: Some(1_700_000_000 + 500_001),
        ..AuditFilter::default()
    };
    let (peak, out, written) = peak_of_export(&store, &keys, ExportFormat::Csv, &unlocks).await;
    println!(
        "filtered CSV: {written} records, heap peak {:.1} MiB",
        peak as f64 / MIB as f64
    );
    assert_eq!(written, 125_000, "every fourth record from the second half");
    assert_eq!(out.lines, 125_001, "a header and the records");
    assert!(
        peak < 8 * MIB,
        "the filtered export held {peak} bytes at its peak"
    );
}
