//! Inbound deliveries: each recorded under its dedupe key before it is acknowledged, marked
//! done or failed when its work ends, resumed by another process when its owner's lease
//! lapses, and purged after the retention.
//!
//! The ack path is group-committed. One recorder task owns the ack path's connection (on
//! SQLite, the journal file's; on PostgreSQL, a session whose commits do not wait for the WAL
//! flush) and writes whatever is waiting in one transaction: envelopes that arrive together
//! share one commit, and each caller is answered (and its envelope acked) only after that
//! commit, durable to the level `docs/operations.md` documents. A batch that fails fails
//! every caller in it, and nothing in it is acknowledged, so Slack redelivers. Marking work
//! done or failed goes through the same recorder, so the journal has one writer in a process
//! and an ack never waits for another connection's lock. On SQLite the journal's checkpoints
//! (an fsync) are taken by a background task on the main pool, off the ack path.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, QueryBuilder};
use tokio::sync::{mpsc, oneshot};

use super::{Backend, Store, StoreError};

text_enum! {
    /// Where an inbound delivery's work stands.
    pub enum InboundState ("delivery state") {
        /// Recorded and acknowledged; its work has not finished.
        Received = "received",
        Done = "done",
        /// Its task crashed: it is never replayed.
        Failed = "failed",
    }
}

/// The most writes committed together. Bounds a transaction's size (and its bind parameters:
/// five a row).
const MAX_BATCH: usize = 512;

/// How often the main pool checkpoints the SQLite journal's WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// A write waiting for the recorder, and where its answer goes.
enum Write {
    Remember {
        key: String,
        payload: String,
        received_at: i64,
        answer: oneshot::Sender<Result<bool, String>>,
    },
    Settle {
        key: String,
        state: InboundState,
        answer: oneshot::Sender<Result<bool, String>>,
    },
    Forget {
        key: String,
        answer: oneshot::Sender<Result<bool, String>>,
    },
    /// Writes nothing: answered once everything queued before it is.
    Barrier {
        answer: oneshot::Sender<Result<bool, String>>,
    },
}

impl Write {
    fn answer(self, result: Result<bool, String>) {
        let answer = match self {
            Write::Remember { answer, .. }
            | Write::Settle { answer, .. }
            | Write::Forget { answer, .. }
            | Write::Barrier { answer } => answer,
        };
        // The caller may have gone (its envelope is then redelivered): nothing to tell.
        let _ = answer.send(result);
    }
}

/// The handle on the recorder (and, on SQLite, the checkpoints).
#[derive(Debug)]
pub(super) struct Journal {
    queue: mpsc::UnboundedSender<Write>,
    recorder: tokio::task::AbortHandle,
    checkpoints: Option<tokio::task::AbortHandle>,
}

impl std::fmt::Debug for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Write")
    }
}

impl Journal {
    /// Starts the recorder on the current runtime.
    pub fn start(backend: &Backend, owner: &str) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        let owner = owner.to_string();
        let (recorder, checkpoints) = match backend {
            Backend::Sqlite { main, journal } => {
                let recorder = tokio::spawn(record_sqlite(journal.clone(), waiting, owner));
                let main = main.clone();
                let checkpoints = tokio::spawn(async move {
                    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
                    loop {
                        every.tick().await;
                        if let Err(e) = sqlx::raw_sql("PRAGMA journal.wal_checkpoint(PASSIVE)")
                            .execute(&main)
                            .await
                        {
                            tracing::debug!(error = %e, "the journal's checkpoint waits for the next round");
                        }
                    }
                });
                (recorder.abort_handle(), Some(checkpoints.abort_handle()))
            }
            Backend::Postgres { ack, .. } => {
                let recorder = tokio::spawn(record_postgres(ack.clone(), waiting, owner));
                (recorder.abort_handle(), None)
            }
        };
        Self {
            queue,
            recorder,
            checkpoints,
        }
    }

    async fn send(
        &self,
        write: impl FnOnce(oneshot::Sender<Result<bool, String>>) -> Write,
    ) -> Result<bool, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(write(answer))
            .map_err(|_| StoreError::Journal("the store is closed".into()))?;
        answered
            .await
            .map_err(|_| StoreError::Journal("the store is closed".into()))?
            .map_err(StoreError::Journal)
    }

    /// Lets the writes in hand finish, then stops.
    pub async fn close(&self) {
        let _ = self.send(|answer| Write::Barrier { answer }).await;
        self.recorder.abort();
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.abort();
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.abort();
        }
    }
}

/// Writes a batch in arrival order, consecutive writes of one kind as one statement; returns
/// each write's result (for a delivery, whether it was new).
macro_rules! write_batch {
    ($tx:expr, $batch:expr, $owner:expr) => {{
        let batch: &[Write] = $batch;
        let mut results = Vec::with_capacity(batch.len());
        let mut start = 0;
        while start < batch.len() {
            let end = start
                + batch[start..]
                    .iter()
                    .take_while(|w| same_kind(w, &batch[start]))
                    .count();
            let run = &batch[start..end];
            match &run[0] {
                Write::Remember { .. } => {
                    let mut insert = QueryBuilder::new(
                        "INSERT INTO inbound (key, received_at, payload, state, owner) ",
                    );
                    insert.push_values(run, |mut row, write| {
                        if let Write::Remember {
                            key,
                            payload,
                            received_at,
                            ..
                        } = write
                        {
                            row.push_bind(key.as_str())
                                .push_bind(*received_at)
                                .push_bind(payload.as_str())
                                .push_bind(InboundState::Received.as_str())
                                .push_bind($owner.as_str());
                        }
                    });
                    insert.push(" ON CONFLICT DO NOTHING RETURNING key");
                    let inserted: Vec<String> = insert
                        .build_query_scalar()
                        .persistent(run.len() == 1)
                        .fetch_all($tx)
                        .await?;
                    results.extend(first_of_each(run, inserted.into_iter().collect()));
                }
                Write::Settle { state, .. } => {
                    let mut update = QueryBuilder::new("UPDATE inbound SET state = ");
                    update.push_bind(state.as_str()).push(" WHERE key IN (");
                    let mut keys = update.separated(", ");
                    for write in run {
                        if let Write::Settle { key, .. } = write {
                            keys.push_bind(key.as_str());
                        }
                    }
                    update.push(")");
                    update
                        .build()
                        .persistent(run.len() == 1)
                        .execute($tx)
                        .await?;
                    results.extend(run.iter().map(|_| true));
                }
                Write::Forget { .. } => {
                    let mut delete = QueryBuilder::new("DELETE FROM inbound WHERE key IN (");
                    let mut keys = delete.separated(", ");
                    for write in run {
                        if let Write::Forget { key, .. } = write {
                            keys.push_bind(key.as_str());
                        }
                    }
                    delete.push(")");
                    delete
                        .build()
                        .persistent(run.len() == 1)
                        .execute($tx)
                        .await?;
                    results.extend(run.iter().map(|_| true));
                }
                Write::Barrier { .. } => results.extend(run.iter().map(|_| true)),
            }
            start = end;
        }
        results
    }};
}

/// Generates a recorder for one backend: it holds the ack path's connection while there is
/// work, checks one that sat idle before using it, and drops one a batch failed on.
macro_rules! recorder {
    ($name:ident, $pool:ty, $conn:ty, $begin:expr) => {
        async fn $name(pool: $pool, mut waiting: mpsc::UnboundedReceiver<Write>, owner: String) {
            let mut held: Option<PoolConnection<$conn>> = None;
            let mut last_used = Instant::now();
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let idle = last_used.elapsed() > super::open::CHECK_AFTER_IDLE;
                let connection = match held.take() {
                    Some(mut connection) => {
                        if idle && connection.ping().await.is_err() {
                            connection.close_on_drop();
                            pool.acquire().await
                        } else {
                            Ok(connection)
                        }
                    }
                    None => pool.acquire().await,
                };
                let mut connection = match connection {
                    Ok(connection) => connection,
                    Err(e) => {
                        let why = super::open::detail(&e);
                        batch.drain(..).for_each(|w| w.answer(Err(why.clone())));
                        continue;
                    }
                };
                let written = async {
                    let mut tx = connection.begin_with($begin).await?;
                    let results = write_batch!(&mut *tx, &batch, &owner);
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(results)
                }
                .await;
                last_used = Instant::now();
                match written {
                    Ok(results) => {
                        held = Some(connection);
                        for (write, result) in batch.drain(..).zip(results) {
                            write.answer(Ok(result));
                        }
                    }
                    Err(e) => {
                        connection.close_on_drop();
                        let why = super::open::detail(&e);
                        tracing::warn!(error = %why, count = batch.len(), "could not record deliveries");
                        batch.drain(..).for_each(|w| w.answer(Err(why.clone())));
                    }
                }
            }
        }
    };
}

recorder!(
    record_sqlite,
    sqlx::SqlitePool,
    sqlx::Sqlite,
    "BEGIN IMMEDIATE"
);
recorder!(record_postgres, sqlx::PgPool, sqlx::Postgres, "BEGIN");

/// Whether two writes can share a statement: the same kind, and for marks the same state.
fn same_kind(a: &Write, b: &Write) -> bool {
    match (a, b) {
        (Write::Remember { .. }, Write::Remember { .. }) => true,
        (Write::Settle { state: x, .. }, Write::Settle { state: y, .. }) => x == y,
        (Write::Forget { .. }, Write::Forget { .. }) => true,
        (Write::Barrier { .. }, Write::Barrier { .. }) => true,
        (
            Write::Remember { .. }
            | Write::Settle { .. }
            | Write::Forget { .. }
            | Write::Barrier { .. },
            _,
        ) => false,
    }
}

/// For deliveries written together: new for the first of each inserted key, a duplicate for
/// every other (a key sent twice in one batch is new once).
fn first_of_each(run: &[Write], mut inserted: HashSet<String>) -> Vec<bool> {
    run.iter()
        .map(|write| match write {
            Write::Remember { key, .. } => inserted.remove(key),
            Write::Settle { .. } | Write::Forget { .. } | Write::Barrier { .. } => false,
        })
        .collect()
}

impl Store {
    /// Records an inbound delivery key with what is needed to process it, durable (to the ack
    /// path's level) when it returns. Returns false when the key was seen before (a redelivery
    /// or a double click).
    pub async fn remember_inbound(
        &self,
        key: &str,
        payload: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.journal
            .send(|answer| Write::Remember {
                key: key.to_string(),
                payload: payload.to_string(),
                received_at: now,
                answer,
            })
            .await
    }

    pub async fn finish_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.settle_inbound(key, InboundState::Done).await
    }

    /// Marks inbound work that crashed its task: it is never replayed.
    pub async fn fail_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.settle_inbound(key, InboundState::Failed).await
    }

    async fn settle_inbound(&self, key: &str, state: InboundState) -> Result<(), StoreError> {
        self.journal
            .send(|answer| Write::Settle {
                key: key.to_string(),
                state,
                answer,
            })
            .await?;
        Ok(())
    }

    /// Forgets a dedupe key, so the same delivery may be handled again (a form submission
    /// that was answered with errors can be sent again as it is).
    pub async fn forget_inbound(&self, key: &str) -> Result<(), StoreError> {
        self.journal
            .send(|answer| Write::Forget {
                key: key.to_string(),
                answer,
            })
            .await?;
        Ok(())
    }

    /// The state of an inbound delivery, if it is known.
    pub async fn inbound_state(&self, key: &str) -> Result<Option<InboundState>, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query_scalar("SELECT state FROM inbound WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Deletes finished inbound rows (and the message text they hold) received before
    /// `before`. Returns how many went.
    pub async fn purge_inbound(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_main!(self, pool => {
            sqlx::query("DELETE FROM inbound WHERE state IN ('done', 'failed') AND received_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Inbound work acknowledged but never finished by a process whose lease has lapsed (or
    /// by no process on record), taken over by this one: (key, payload), oldest first. Work of
    /// a live process is left alone.
    pub async fn unfinished_inbound(&self, now: i64) -> Result<Vec<(String, String)>, StoreError> {
        let since = now - self.lease_secs();
        let instance = self.instance.as_str();
        Ok(on_main!(self, pool => {
            let found: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT key, payload, owner FROM inbound WHERE state = 'received'
                 AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE heartbeat_at > $1))
                 AND (owner IS NULL OR owner != $2)
                 ORDER BY received_at, key",
            )
            .bind(since)
            .bind(instance)
            .fetch_all(pool)
            .await?;
            let mut taken = Vec::new();
            for (key, payload, owner) in found {
                // One process takes each: the owner it saw must still be the owner.
                let changed = sqlx::query(
                    "UPDATE inbound SET owner = $2 WHERE key = $1 AND state = 'received' AND owner IS NOT DISTINCT FROM $3",
                )
                .bind(&key)
                .bind(instance)
                .bind(&owner)
                .execute(pool)
                .await?
                .rows_affected();
                if changed == 1 {
                    taken.push((key, payload));
                }
            }
            taken
        }))
    }
}
