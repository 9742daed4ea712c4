-- okta-agent store, schema version 2: whose words a request adopted, single-use undo, keyed
-- audit records, help answers (who asked, decided once), and an index for inbound retention.
ALTER TABLE proposals ADD COLUMN worded_by TEXT;
ALTER TABLE proposals ADD COLUMN undo_offered_at INTEGER;
ALTER TABLE audit ADD COLUMN key_id TEXT;
CREATE TABLE IF NOT EXISTS help_answers (
    channel     TEXT NOT NULL,
    answer_ts   TEXT NOT NULL,
    question_ts TEXT NOT NULL,
    asker       TEXT NOT NULL,
    state       TEXT NOT NULL,
    decided_by  TEXT,
    PRIMARY KEY (channel, answer_ts)
);
CREATE INDEX IF NOT EXISTS inbound_by_age ON inbound (state, received_at);
