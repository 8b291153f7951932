-- Removing an owner finds its sandboxes without a full scan (also used by ON DELETE CASCADE).
CREATE INDEX sandboxes_by_owner ON sandboxes(owner);
