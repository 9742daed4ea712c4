-- okta-agent store, schema version 5: automations.
-- A proposal's time-bound access (seconds after execution), its reason (forms), and what
-- triggered it (message, reaction, form) with the person behind it, as JSON.
ALTER TABLE proposals ADD COLUMN access_seconds INTEGER;
ALTER TABLE proposals ADD COLUMN reason TEXT;
ALTER TABLE proposals ADD COLUMN trigger TEXT;
-- Where each proposal's card was posted, so work that is not a click (a reaction, a schedule)
-- updates the card in place.
CREATE TABLE IF NOT EXISTS card_messages (
    proposal_id TEXT PRIMARY KEY,
    channel     TEXT NOT NULL,
    ts          TEXT NOT NULL
);
-- Work due later: the end of time-bound access, an approval after a reaction's grace window.
-- A job is claimed by one process at a time (a lease), and settled once.
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    proposal_id TEXT NOT NULL,
    run_at      INTEGER NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    owner       TEXT,
    lease_until INTEGER,
    detail      TEXT NOT NULL DEFAULT '{}',
    last_error  TEXT
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, run_at);
CREATE INDEX IF NOT EXISTS jobs_by_proposal ON jobs (proposal_id);
-- Emoji triggers: who reacted with what on which message, and what it became.
CREATE TABLE IF NOT EXISTS reactions (
    channel     TEXT NOT NULL,
    message_ts  TEXT NOT NULL,
    emoji       TEXT NOT NULL,
    reactor     TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    role        TEXT NOT NULL,
    proposal_id TEXT,
    job_id      TEXT,
    PRIMARY KEY (channel, message_ts, emoji, reactor)
);
