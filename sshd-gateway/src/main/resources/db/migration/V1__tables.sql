-- Owners, their keys, and sandboxes. Valid on SQLite and PostgreSQL alike.
CREATE TABLE owners (
  name    TEXT PRIMARY KEY,
  created TEXT NOT NULL);

CREATE TABLE owner_keys (
  owner          TEXT NOT NULL REFERENCES owners(name) ON DELETE CASCADE,
  fingerprint    TEXT NOT NULL,
  authorized_key TEXT NOT NULL,
  UNIQUE (owner, fingerprint));

CREATE TABLE sandboxes (
  id       TEXT PRIMARY KEY,
  owner    TEXT NOT NULL REFERENCES owners(name) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  endpoint TEXT,
  token    TEXT,
  state    TEXT NOT NULL,
  created  TEXT NOT NULL);
