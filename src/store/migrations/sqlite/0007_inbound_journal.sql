-- okta-agent store, schema version 7: inbound deliveries move to a file of their own, attached
-- as `journal` (`<database>.inbound`). The ack path writes there on a connection of its own, so
-- recording a delivery never waits behind an fsync of the main file (a claim, an outcome, an
-- audit record, a checkpoint). `journal.inbound` is created at every open, before migrations.
INSERT OR IGNORE INTO journal.inbound (key, received_at, payload, state, owner)
    SELECT key, received_at, payload, state, owner FROM main.inbound;
DROP TABLE main.inbound;
