-- okta-agent store, schema version 1: proposals, inbound dedupe keys, the audit chain.
CREATE TABLE IF NOT EXISTS proposals (
    id             TEXT PRIMARY KEY,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    requester      TEXT NOT NULL,
    tool           TEXT NOT NULL,
    call           TEXT NOT NULL,
    target         TEXT NOT NULL,
    target_id      TEXT GENERATED ALWAYS AS (json_extract(target, '$.id')) VIRTUAL,
    policy_version TEXT NOT NULL,
    binding_hash   TEXT NOT NULL,
    state          TEXT NOT NULL,
    approver       TEXT,
    decided_at     INTEGER,
    outcome        TEXT,
    conversation   TEXT NOT NULL,
    undo_of        TEXT
);
CREATE INDEX IF NOT EXISTS proposals_by_requester ON proposals (requester, created_at);
CREATE INDEX IF NOT EXISTS proposals_by_target ON proposals (target_id, created_at);

CREATE TABLE IF NOT EXISTS inbound (
    key         TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY,
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
