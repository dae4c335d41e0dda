-- API tokens of party members. Like private_values, tokens are not in the
-- log: a rebuild keeps this table. Only a SHA-256 of each token is stored.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    party      TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL
);
CREATE INDEX tokens_party ON tokens (party);
