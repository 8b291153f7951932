-- User certificate authorities an owner trusts.
CREATE TABLE owner_cas (
  owner       TEXT NOT NULL REFERENCES owners(name) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL,
  public_key  TEXT NOT NULL,
  UNIQUE (owner, fingerprint));
