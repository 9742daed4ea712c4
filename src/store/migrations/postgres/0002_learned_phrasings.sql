-- okta-agent store, schema version 2 on PostgreSQL (8 on SQLite): phrasings the help assistant
-- learned from IT admins. A question from a help channel, the document an admin said answers
-- it, who taught it and when. One row per (document, phrasing): teaching it twice keeps the first.
CREATE TABLE learned_phrasings (
    id          BIGSERIAL PRIMARY KEY,
    doc         TEXT NOT NULL,
    phrasing    TEXT NOT NULL,
    taught_by   TEXT NOT NULL,
    taught_at   BIGINT NOT NULL,
    channel     TEXT NOT NULL,
    question_ts TEXT NOT NULL,
    UNIQUE (doc, phrasing)
);
