-- okta-agent store, schema version 10: the System Log poller's place in the log (the link to
-- poll next, which one process holds under a lease) and every lockout it read, once by Okta's
-- event id, with what became of it (told, no longer locked, part of a storm).
CREATE TABLE log_cursors (
    name        TEXT PRIMARY KEY,
    next_link   TEXT,
    owner       TEXT,
    lease_until INTEGER,
    polled_at   INTEGER,
    storm_until INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE lockouts (
    event_id  TEXT PRIMARY KEY,
    okta_user TEXT NOT NULL,
    login     TEXT NOT NULL,
    locked_at INTEGER NOT NULL,
    ip        TEXT,
    country   TEXT,
    state     TEXT NOT NULL,
    person    TEXT,
    seen_at   INTEGER NOT NULL
);
CREATE INDEX lockouts_by_time ON lockouts (locked_at);
CREATE INDEX lockouts_by_state ON lockouts (state);
