-- The projection: every table here is derived from the log and can be
-- rebuilt from it, except private_values (see below). Each row carries the
-- log index of the record it came from. Types are chosen to mean the same
-- in SQLite and PostgreSQL.

CREATE TABLE projection_state (
    id      INTEGER PRIMARY KEY,
    applied BIGINT  NOT NULL -- number of log entries applied (the next index)
);
INSERT INTO projection_state (id, applied) VALUES (1, 0);

CREATE TABLE records (
    log_index BIGINT  PRIMARY KEY,
    id        TEXT    NOT NULL UNIQUE,
    type      TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    key_id    TEXT    NOT NULL,
    party     TEXT    NOT NULL,
    entry     TEXT    NOT NULL -- the log entry: canonical JSON of the signed record
);
CREATE INDEX records_party ON records (party, log_index);

CREATE TABLE parties (
    id        TEXT   PRIMARY KEY,
    kind      TEXT   NOT NULL,
    name      TEXT   NOT NULL,
    doc       TEXT   NOT NULL,
    log_index BIGINT NOT NULL
);

CREATE TABLE party_keys (
    key_id     TEXT   PRIMARY KEY,
    party      TEXT   NOT NULL,
    public_key TEXT   NOT NULL,
    log_index  BIGINT NOT NULL
);

CREATE TABLE places (
    id         TEXT             PRIMARY KEY,
    kind       TEXT             NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    population BIGINT           NOT NULL,
    doc        TEXT             NOT NULL,
    log_index  BIGINT           NOT NULL
);

CREATE TABLE place_names (
    place     TEXT    NOT NULL,
    pos       INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    lang      TEXT    NOT NULL,
    log_index BIGINT  NOT NULL,
    PRIMARY KEY (place, pos)
);
CREATE INDEX place_names_name ON place_names (name);

CREATE TABLE routes (
    id        TEXT   PRIMARY KEY,
    doc       TEXT   NOT NULL,
    log_index BIGINT NOT NULL
);

CREATE TABLE route_places (
    route     TEXT    NOT NULL,
    pos       INTEGER NOT NULL,
    place     TEXT    NOT NULL,
    log_index BIGINT  NOT NULL,
    PRIMARY KEY (route, pos)
);

CREATE TABLE checkpoints (
    id         TEXT   PRIMARY KEY,
    route      TEXT   NOT NULL,
    place      TEXT   NOT NULL,
    authority  TEXT   NOT NULL,
    valid_from TEXT   NOT NULL,
    valid_to   TEXT   NOT NULL,
    doc        TEXT   NOT NULL,
    log_index  BIGINT NOT NULL
);
CREATE INDEX checkpoints_route ON checkpoints (route);

CREATE TABLE convoys (
    id            TEXT             PRIMARY KEY,
    organisation  TEXT             NOT NULL,
    route         TEXT             NOT NULL,
    origin        TEXT             NOT NULL,
    destination   TEXT             NOT NULL,
    planned       TEXT             NOT NULL,
    status        TEXT             NOT NULL,
    checkpoint    TEXT             NOT NULL,
    last_at       TEXT             NOT NULL,
    flags         TEXT             NOT NULL,
    kg            DOUBLE PRECISION NOT NULL,
    doc           TEXT             NOT NULL, -- the filing as signed (personal fields as commitments)
    state         TEXT             NOT NULL, -- clearance, removals, receipts as JSON
    log_index     BIGINT           NOT NULL,
    updated_index BIGINT           NOT NULL
);
CREATE INDEX convoys_route ON convoys (route, status);

CREATE TABLE convoy_events (
    log_index  BIGINT PRIMARY KEY,
    convoy     TEXT   NOT NULL,
    type       TEXT   NOT NULL,
    event      TEXT   NOT NULL,
    checkpoint TEXT   NOT NULL,
    party      TEXT   NOT NULL,
    at         TEXT   NOT NULL,
    doc        TEXT   NOT NULL
);
CREATE INDEX convoy_events_convoy ON convoy_events (convoy, log_index);

CREATE TABLE statements (
    id        TEXT   PRIMARY KEY,
    kind      TEXT   NOT NULL,
    speaker   TEXT   NOT NULL,
    said_on   TEXT   NOT NULL,
    party     TEXT   NOT NULL, -- who recorded it
    doc       TEXT   NOT NULL,
    log_index BIGINT NOT NULL
);

-- Personal values behind the salted commitments in the log. They are not
-- in the log, so a rebuild keeps this table; it is written, durably,
-- before the record that commits to them is appended.
CREATE TABLE private_values (
    commitment TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    salt       TEXT NOT NULL
);
