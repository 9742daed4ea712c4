-- okta-agent store, schema version 3 on PostgreSQL (9 on SQLite): the DMs that told a person
-- what was done to their Okta account, so a reply to one is escalated to IT with what it was
-- about. Found by the person and the notice's ts (the DM's channel id is Slack's own).
CREATE TABLE notices (
    person      TEXT NOT NULL,
    ts          TEXT NOT NULL,
    proposal_id TEXT NOT NULL,
    sent_at     BIGINT NOT NULL,
    PRIMARY KEY (person, ts)
);
