-- okta-agent store, schema version 8: phrasings the help assistant learned from IT admins. A
-- question from a help channel, the document an admin said answers it, who taught it and when.
-- One row per (document, phrasing): teaching the same thing twice keeps the first.
CREATE TABLE learned_phrasings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    doc         TEXT NOT NULL,
    phrasing    TEXT NOT NULL,
    taught_by   TEXT NOT NULL,
    taught_at   INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    question_ts TEXT NOT NULL,
    UNIQUE (doc, phrasing)
);
