//! Inbound deliveries: each recorded under its dedupe key before it is acknowledged, marked
//! done or failed when its work ends, resumed by another process when its owner's lease
//! lapses, and purged after the retention.
//!
//! The ack path is group-committed, without a task of its own: the caller that finds the
//! ack path's connection free writes everything waiting (its own write and any that queued
//! meanwhile) in one statement or one transaction, and answers each; callers whose write was
//! taken by another wait only for its answer. Envelopes that arrive together thus share one
//! commit, and each is answered (and acked) only after it, durable to the level
//! `docs/operations.md` documents; a lone envelope costs one statement and no hand-off. A batch
//! that fails fails every write in it, and nothing in it is acknowledged, so Slack
//! redelivers. Marking work done or failed goes the same way, so the journal has one writer in
//! a process and an ack never waits for another connection's lock; those writes are written
//! from the store's own runtime, so an ack never waits for a work thread either. The
//! connection (on SQLite, the journal file's; on PostgreSQL, a session whose commits do not
//! wait for the WAL flush) is kept between batches, checked when it sat idle, and dropped when
//! a batch failed on it. On SQLite the journal's checkpoints (an fsync) are taken by a
//! background task on the main pool, off the ack path.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::Connection;
use tokio::sync::oneshot;

use super::open::MAX_BATCH;
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

/// How often the main pool checkpoints the SQLite journal's WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

/// A write waiting for the writer, and where its answer goes.
enum Write {
    Remember {
        key: String,
        payload: String,
        received_at: i64,
        /// `Received`, or `Done` for a delivery whose work ended at its ack.
        state: InboundState,
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
}

impl Write {
    fn answer(self, result: Result<bool, String>) {
        let answer = match self {
            Write::Remember { answer, .. }
            | Write::Settle { answer, .. }
            | Write::Forget { answer, .. } => answer,
        };
        // The caller may have gone (its envelope is then redelivered): nothing to tell.
        let _ = answer.send(result);
    }
}

/// A write's answer when the store closed before it was written.
fn closed() -> StoreError {
    StoreError::Journal("the store is closed".into())
}

/// The ack path's writer: the writes waiting, and the connection they are written on.
#[derive(Debug)]
pub(super) struct Journal {
    waiting: std::sync::Mutex<Vec<Write>>,
    writer: tokio::sync::Mutex<Writer>,
    owner: String,
    checkpoints: Option<tokio::task::AbortHandle>,
    /// The runtime that opened the store (in `run`, the ack path's): where the work's writes
    /// are written.
    home: tokio::runtime::Handle,
}

impl std::fmt::Debug for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Write")
    }
}

/// The ack path's pool and the connection kept from it.
#[derive(Debug)]
enum Writer {
    Sqlite {
        pool: sqlx::SqlitePool,
        held: Option<PoolConnection<sqlx::Sqlite>>,
        last_used: Instant,
    },
    Postgres {
        pool: sqlx::PgPool,
        held: Option<PoolConnection<sqlx::Postgres>>,
        last_used: Instant,
    },
}

impl Journal {
    /// The journal's writer, and on SQLite its checkpoints, on the current runtime.
    pub fn start(backend: &Backend, owner: &str) -> Self {
        let (writer, checkpoints) = match backend {
            Backend::Sqlite { main, journal } => {
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
                let writer = Writer::Sqlite {
                    pool: journal.clone(),
                    held: None,
                    last_used: Instant::now(),
                };
                (writer, Some(checkpoints.abort_handle()))
            }
            Backend::Postgres { ack, .. } => {
                let writer = Writer::Postgres {
                    pool: ack.clone(),
                    held: None,
                    last_used: Instant::now(),
                };
                (writer, None)
            }
        };
        Self {
            waiting: std::sync::Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(writer),
            owner: owner.to_string(),
            checkpoints,
            home: tokio::runtime::Handle::current(),
        }
    }

    /// Opens the ack path's connection now, from the caller's thread: on SQLite its worker
    /// thread, on PostgreSQL its socket's reactor, belong to the runtime that opened the store
    /// (the ack path's), not to whichever task writes first.
    pub async fn connect(&self) -> Result<(), StoreError> {
        match &mut *self.writer.lock().await {
            Writer::Sqlite { pool, held, .. } => *held = Some(pool.acquire().await?),
            Writer::Postgres { pool, held, .. } => *held = Some(pool.acquire().await?),
        }
        Ok(())
    }

    /// Queues a write, then writes the queue when the writer is free, or waits for the writer
    /// that took it to answer.
    ///
    /// A delivery's record is written by its caller, the ack path. Every other write (marking
    /// work done or failed, forgetting a key) is written from the store's own runtime: its
    /// callers are the work runtime's lower-priority threads, and a writer there would hold
    /// the records of acks that queued behind it until such a thread was scheduled again.
    async fn send(
        self: &Arc<Self>,
        write: impl FnOnce(oneshot::Sender<Result<bool, String>>) -> Write,
    ) -> Result<bool, StoreError> {
        let (answer, answered) = oneshot::channel();
        let write = write(answer);
        let from_the_ack_path = matches!(write, Write::Remember { .. });
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(write);
        if from_the_ack_path {
            return self.write_or_wait(answered).await;
        }
        let journal = self.clone();
        self.home
            .spawn(async move { journal.write_or_wait(answered).await })
            .await
            .unwrap_or_else(|e| {
                Err(if e.is_cancelled() {
                    closed()
                } else {
                    StoreError::Journal(format!("the journal's writer failed: {e}"))
                })
            })
    }

    /// Waits for a queued write's answer, writing the queue whenever the writer is free.
    async fn write_or_wait(
        &self,
        mut answered: oneshot::Receiver<Result<bool, String>>,
    ) -> Result<bool, StoreError> {
        loop {
            tokio::select! {
                biased;
                done = &mut answered => {
                    return done.map_err(|_| closed())?.map_err(StoreError::Journal);
                }
                mut writer = self.writer.lock() => {
                    // Ours is among these, unless a writer before took it (and answered it
                    // before it let go of the writer).
                    let batch: Vec<Write> = {
                        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
                        let take = waiting.len().min(MAX_BATCH);
                        waiting.drain(..take).collect()
                    };
                    if !batch.is_empty() {
                        // Boxed: only the caller that writes needs the write's state (about
                        // 13 KB), not every delivery waiting for an answer.
                        Box::pin(writer.write(batch, &self.owner)).await;
                    }
                }
            }
        }
    }

    /// Lets the connection go (a clean stop: the pool's close waits for it).
    pub async fn close(&self) {
        match &mut *self.writer.lock().await {
            Writer::Sqlite { held, .. } => drop(held.take()),
            Writer::Postgres { held, .. } => drop(held.take()),
        }
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
/// each write's result (for a delivery, whether it was new). `$together` is the backend's
/// module of statements for several writes at once.
macro_rules! write_batch {
    ($tx:expr, $batch:expr, $owner:expr, $together:ident) => {{
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
                Write::Remember {
                    key,
                    payload,
                    received_at,
                    state,
                    ..
                } if run.len() == 1 => {
                    // Alone (the common case at a steady rate): whether a row went in says it.
                    let inserted = sqlx::query(
                        "INSERT INTO inbound (key, received_at, payload, state, owner) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(key.as_str())
                    .bind(*received_at)
                    .bind(payload.as_str())
                    .bind(state.as_str())
                    .bind($owner)
                    .execute($tx)
                    .await?
                    .rows_affected();
                    results.push(inserted == 1);
                }
                Write::Remember { .. } => {
                    let inserted = $together::remember($tx, run, $owner).await?;
                    results.extend(first_of_each(run, inserted.into_iter().collect()));
                }
                Write::Settle { state, .. } => {
                    $together::settle($tx, *state, &keys_of(run)).await?;
                    results.extend(run.iter().map(|_| true));
                }
                Write::Forget { .. } => {
                    $together::forget($tx, &keys_of(run)).await?;
                    results.extend(run.iter().map(|_| true));
                }
            }
            start = end;
        }
        results
    }};
}

/// The keys a run of writes is about.
fn keys_of(run: &[Write]) -> Vec<&str> {
    run.iter()
        .map(|write| match write {
            Write::Remember { key, .. } | Write::Settle { key, .. } | Write::Forget { key, .. } => {
                key.as_str()
            }
        })
        .collect()
}

/// SQLite's statements for several writes at once: a list of values, one placeholder each.
mod sqlite_together {
    use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

    use super::{InboundState, Write};

    /// Appends `key IN (…)`, one placeholder a key.
    fn key_in<'b>(
        statement: &'b mut QueryBuilder<Sqlite>,
        keys: &[&str],
    ) -> &'b mut QueryBuilder<Sqlite> {
        statement.push("key IN (");
        let mut separated = statement.separated(", ");
        for key in keys {
            separated.push_bind(*key);
        }
        statement.push(")")
    }

    /// Records the deliveries; returns the keys that went in.
    pub async fn remember(
        connection: &mut SqliteConnection,
        run: &[Write],
        owner: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut insert =
            QueryBuilder::new("INSERT INTO inbound (key, received_at, payload, state, owner) ");
        insert.push_values(run, |mut row, write| {
            if let Write::Remember {
                key,
                payload,
                received_at,
                state,
                ..
            } = write
            {
                row.push_bind(key.as_str())
                    .push_bind(*received_at)
                    .push_bind(payload.as_str())
                    .push_bind(state.as_str())
                    .push_bind(owner);
            }
        });
        insert.push(" ON CONFLICT DO NOTHING RETURNING key");
        insert
            .build_query_scalar()
            .persistent(false)
            .fetch_all(connection)
            .await
    }

    pub async fn settle(
        connection: &mut SqliteConnection,
        state: InboundState,
        keys: &[&str],
    ) -> Result<(), sqlx::Error> {
        let mut update = QueryBuilder::new("UPDATE inbound SET state = ");
        update.push_bind(state.as_str()).push(" WHERE ");
        key_in(&mut update, keys)
            .build()
            .persistent(keys.len() == 1)
            .execute(connection)
            .await?;
        Ok(())
    }

    pub async fn forget(
        connection: &mut SqliteConnection,
        keys: &[&str],
    ) -> Result<(), sqlx::Error> {
        let mut delete = QueryBuilder::new("DELETE FROM inbound WHERE ");
        key_in(&mut delete, keys)
            .build()
            .persistent(keys.len() == 1)
            .execute(connection)
            .await?;
        Ok(())
    }
}

/// PostgreSQL's statements for several writes at once: each column an array, so a batch of any
/// size is one prepared statement. A list of values with five placeholders a row was parsed
/// and planned again for every batch: 4–5 ms for 256 deliveries, the longest step of a burst.
mod postgres_together {
    use sqlx::PgConnection;

    use super::{InboundState, Write};

    /// Records the deliveries; returns the keys that went in.
    pub async fn remember(
        connection: &mut PgConnection,
        run: &[Write],
        owner: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut keys = Vec::with_capacity(run.len());
        let mut received = Vec::with_capacity(run.len());
        let mut payloads = Vec::with_capacity(run.len());
        let mut states = Vec::with_capacity(run.len());
        for write in run {
            if let Write::Remember {
                key,
                payload,
                received_at,
                state,
                ..
            } = write
            {
                keys.push(key.as_str());
                received.push(*received_at);
                payloads.push(payload.as_str());
                states.push(state.as_str());
            }
        }
        sqlx::query_scalar(
            "INSERT INTO inbound (key, received_at, payload, state, owner) \
             SELECT key, received_at, payload, state, $5 \
             FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[]) AS batch (key, received_at, payload, state) \
             ON CONFLICT DO NOTHING RETURNING key",
        )
        .bind(&keys)
        .bind(&received)
        .bind(&payloads)
        .bind(&states)
        .bind(owner)
        .fetch_all(connection)
        .await
    }

    pub async fn settle(
        connection: &mut PgConnection,
        state: InboundState,
        keys: &[&str],
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE inbound SET state = $1 WHERE key = ANY($2)")
            .bind(state.as_str())
            .bind(keys)
            .execute(connection)
            .await?;
        Ok(())
    }

    pub async fn forget(connection: &mut PgConnection, keys: &[&str]) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM inbound WHERE key = ANY($1)")
            .bind(keys)
            .execute(connection)
            .await?;
        Ok(())
    }
}

/// Writes a batch on the kept connection (taking a fresh one when there is none, or the kept
/// one sat idle and does not answer), answers each write, and drops the connection when the
/// batch failed on it.
macro_rules! write_on {
    ($pool:expr, $held:expr, $last_used:expr, $begin:expr, $batch:expr, $owner:expr, $together:ident) => {{
        let (pool, held, last_used, batch) = ($pool, $held, $last_used, $batch);
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
                batch.into_iter().for_each(|w| w.answer(Err(why.clone())));
                return;
            }
        };
        let started = Instant::now();
        let written = async {
            // One statement is atomic by itself: no BEGIN and COMMIT round trips.
            if batch.windows(2).all(|pair| same_kind(&pair[0], &pair[1])) {
                return Ok(write_batch!(&mut *connection, &batch, $owner, $together));
            }
            let mut tx = connection.begin_with($begin).await?;
            let results = write_batch!(&mut *tx, &batch, $owner, $together);
            tx.commit().await?;
            Ok::<_, sqlx::Error>(results)
        }
        .await;
        tracing::trace!(writes = batch.len(), elapsed = ?started.elapsed(), "journal batch");
        *last_used = Instant::now();
        match written {
            Ok(results) => {
                *held = Some(connection);
                for (write, result) in batch.into_iter().zip(results) {
                    write.answer(Ok(result));
                }
            }
            Err(e) => {
                connection.close_on_drop();
                let why = super::open::detail(&e);
                tracing::warn!(error = %why, count = batch.len(), "could not record deliveries");
                batch.into_iter().for_each(|w| w.answer(Err(why.clone())));
            }
        }
    }};
}

impl Writer {
    async fn write(&mut self, batch: Vec<Write>, owner: &str) {
        match self {
            Writer::Sqlite {
                pool,
                held,
                last_used,
            } => write_on!(
                pool,
                held,
                last_used,
                "BEGIN IMMEDIATE",
                batch,
                owner,
                sqlite_together
            ),
            Writer::Postgres {
                pool,
                held,
                last_used,
            } => write_on!(
                pool,
                held,
                last_used,
                "BEGIN",
                batch,
                owner,
                postgres_together
            ),
        }
    }
}

/// Whether two writes can share a statement: the same kind, and for marks the same state.
fn same_kind(a: &Write, b: &Write) -> bool {
    match (a, b) {
        (Write::Remember { .. }, Write::Remember { .. }) => true,
        (Write::Settle { state: x, .. }, Write::Settle { state: y, .. }) => x == y,
        (Write::Forget { .. }, Write::Forget { .. }) => true,
        (Write::Remember { .. } | Write::Settle { .. } | Write::Forget { .. }, _) => false,
    }
}

/// For deliveries written together: new for the first of each inserted key, a duplicate for
/// every other (a key sent twice in one batch is new once).
fn first_of_each(run: &[Write], mut inserted: HashSet<String>) -> Vec<bool> {
    run.iter()
        .map(|write| match write {
            Write::Remember { key, .. } => inserted.remove(key),
            Write::Settle { .. } | Write::Forget { .. } => false,
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
        self.remember_inbound_as(key, payload, now, InboundState::Received)
            .await
    }

    /// Records an inbound delivery whose work ended at its ack (a throttled request whose
    /// person was told already): deduplicated like any other, never worked on or resumed, and
    /// one write instead of two.
    pub async fn remember_finished_inbound(
        &self,
        key: &str,
        payload: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.remember_inbound_as(key, payload, now, InboundState::Done)
            .await
    }

    async fn remember_inbound_as(
        &self,
        key: &str,
        payload: &str,
        now: i64,
        state: InboundState,
    ) -> Result<bool, StoreError> {
        self.journal
            .send(|answer| Write::Remember {
                key: key.to_string(),
                payload: payload.to_string(),
                received_at: now,
                state,
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
