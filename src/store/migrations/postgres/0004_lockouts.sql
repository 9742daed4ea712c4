-- okta-agent store, schema version 4 on PostgreSQL (10 on SQLite): the System Log poller's
-- place in the log (the link to poll next, which one process holds under a lease) and every
-- lockout it read, once by Okta's event id, with what became of it (told, no longer locked,
-- part of a storm).
CREATE TABLE log_cursors (
    name        TEXT PRIMARY KEY,
    next_link   TEXT,
    owner       TEXT,
    lease_until BIGINT,
    polled_at   BIGINT,
    storm_until BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE lockouts (
    event_id  TEXT PRIMARY KEY,
    okta_user TEXT NOT NULL,
    login     TEXT NOT NULL,
    locked_at BIGINT NOT NULL,
    ip        TEXT,
    country   TEXT,
    state     TEXT NOT NULL,
    person    TEXT,
    seen_at   BIGINT NOT NULL
);
CREATE INDEX lockouts_by_time ON lockouts (locked_at);
CREATE INDEX lockouts_by_state ON lockouts (state);
