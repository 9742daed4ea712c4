-- okta-agent store, schema version 3: the action word as the requester typed it, when it was
-- misspelt or a paraphrase of a destructive action (the card shows it).
ALTER TABLE proposals ADD COLUMN as_written TEXT;
