-- okta-agent store, schema version 6: instance leases. Each running process holds a lease it
-- renews; in-flight work (an executing proposal, an acknowledged delivery) belongs to the
-- process that took it, and only work of a process whose lease lapsed is taken over.
CREATE TABLE IF NOT EXISTS instances (
    id           TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
ALTER TABLE inbound ADD COLUMN owner TEXT;
ALTER TABLE proposals ADD COLUMN owner TEXT;
