-- okta-agent store, schema version 11: Okta Verify push verification, one per proposal (bound
-- to it, expiring with it): who is pushed, the transaction to poll, how it ended, and the
-- second approval or the override with its reason when there is no verified person.
CREATE TABLE verifications (
    proposal_id    TEXT PRIMARY KEY,
    okta_user      TEXT NOT NULL,
    login          TEXT NOT NULL,
    person         TEXT,
    factor_id      TEXT,
    state          TEXT NOT NULL,
    poll_link      TEXT,
    started_by     TEXT,
    started_at     INTEGER,
    deadline       INTEGER,
    finished_at    INTEGER,
    needs_second   INTEGER NOT NULL DEFAULT 0,
    first_approver TEXT,
    overridden_by  TEXT,
    reason         TEXT,
    manager        TEXT
);
