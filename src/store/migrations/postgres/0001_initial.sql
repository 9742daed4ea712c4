-- okta-agent store on PostgreSQL, schema version 1: the schema SQLite reached at its version 6
-- (../sqlite/0001_initial.sql to ../sqlite/0006_instances.sql say why each part is there).
-- Times are Unix seconds; JSON is kept as text, exactly as written, because the audit chain
-- hashes it.
CREATE TABLE proposals (
    id              TEXT PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    requester       TEXT NOT NULL,
    tool            TEXT NOT NULL,
    call            TEXT NOT NULL,
    target          TEXT NOT NULL,
    target_id       TEXT GENERATED ALWAYS AS (target::jsonb ->> 'id') STORED,
    policy_version  TEXT NOT NULL,
    binding_hash    TEXT NOT NULL,
    state           TEXT NOT NULL,
    approver        TEXT,
    decided_at      BIGINT,
    outcome         TEXT,
    conversation    TEXT NOT NULL,
    undo_of         TEXT,
    worded_by       TEXT,
    undo_offered_at BIGINT,
    as_written      TEXT,
    access_seconds  BIGINT,
    reason          TEXT,
    trigger         TEXT,
    owner           TEXT
);
CREATE INDEX proposals_by_requester ON proposals (requester, created_at);
CREATE INDEX proposals_by_target ON proposals (target_id, created_at);
CREATE INDEX proposals_by_state ON proposals (state);

CREATE TABLE inbound (
    key         TEXT PRIMARY KEY,
    received_at BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL,
    owner       TEXT
);
CREATE INDEX inbound_by_age ON inbound (state, received_at);

CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    key_id    TEXT
);

CREATE TABLE help_answers (
    channel     TEXT NOT NULL,
    answer_ts   TEXT NOT NULL,
    question_ts TEXT NOT NULL,
    asker       TEXT NOT NULL,
    state       TEXT NOT NULL,
    decided_by  TEXT,
    PRIMARY KEY (channel, answer_ts)
);
CREATE INDEX help_answers_by_question ON help_answers (channel, question_ts);

CREATE TABLE card_messages (
    proposal_id TEXT PRIMARY KEY,
    channel     TEXT NOT NULL,
    ts          TEXT NOT NULL
);

-- `rowid` stands in for SQLite's implicit one: the order rows were added in.
CREATE TABLE jobs (
    rowid       BIGSERIAL,
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    proposal_id TEXT NOT NULL,
    run_at      BIGINT NOT NULL,
    state       TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    owner       TEXT,
    lease_until BIGINT,
    detail      TEXT NOT NULL DEFAULT '{}',
    last_error  TEXT
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_by_proposal ON jobs (proposal_id);

CREATE TABLE reactions (
    rowid       BIGSERIAL,
    channel     TEXT NOT NULL,
    message_ts  TEXT NOT NULL,
    emoji       TEXT NOT NULL,
    reactor     TEXT NOT NULL,
    added_at    BIGINT NOT NULL,
    role        TEXT NOT NULL,
    proposal_id TEXT,
    job_id      TEXT,
    PRIMARY KEY (channel, message_ts, emoji, reactor)
);

CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
