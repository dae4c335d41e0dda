-- Access monitoring: incidents, claims and the evidence linked to them,
-- route closures and openings by the authorities, and areas. Like every
-- projected table, each row carries the log index of its record; the
-- statuses, verdicts and coverage derived from them are computed when read
-- (report package), so they follow from the log alone.

CREATE TABLE incidents (
    id            TEXT   PRIMARY KEY,
    category      TEXT   NOT NULL,
    occurred      TEXT   NOT NULL,
    last_day      TEXT   NOT NULL, -- until, or occurred
    reported      TEXT   NOT NULL,
    route         TEXT   NOT NULL,
    checkpoint    TEXT   NOT NULL,
    place         TEXT   NOT NULL,
    verification  TEXT   NOT NULL, -- current status (incident.verify updates it)
    party         TEXT   NOT NULL, -- who reported it
    doc           TEXT   NOT NULL, -- the report as signed
    log_index     BIGINT NOT NULL,
    updated_index BIGINT NOT NULL
);
CREATE INDEX incidents_occurred ON incidents (occurred, log_index);

CREATE TABLE incident_verifications (
    log_index    BIGINT PRIMARY KEY,
    incident     TEXT   NOT NULL,
    verification TEXT   NOT NULL,
    party        TEXT   NOT NULL,
    doc          TEXT   NOT NULL
);

CREATE TABLE claims (
    id        TEXT   PRIMARY KEY,
    statement TEXT   NOT NULL,
    assertion TEXT   NOT NULL, -- kind of typed assertion, or ''
    party     TEXT   NOT NULL, -- who recorded it
    doc       TEXT   NOT NULL,
    log_index BIGINT NOT NULL
);

CREATE TABLE claim_links (
    log_index BIGINT PRIMARY KEY,
    claim     TEXT   NOT NULL,
    record_id TEXT   NOT NULL,
    relation  TEXT   NOT NULL,
    party     TEXT   NOT NULL,
    doc       TEXT   NOT NULL
);
CREATE INDEX claim_links_claim ON claim_links (claim, log_index);

CREATE TABLE route_notices (
    log_index BIGINT PRIMARY KEY,
    kind      TEXT   NOT NULL, -- closed or opened
    route     TEXT   NOT NULL,
    from_day  TEXT   NOT NULL,
    to_day    TEXT   NOT NULL,
    party     TEXT   NOT NULL, -- the authority
    doc       TEXT   NOT NULL
);
CREATE INDEX route_notices_route ON route_notices (route, log_index);

CREATE TABLE areas (
    place     TEXT   PRIMARY KEY,
    doc       TEXT   NOT NULL,
    log_index BIGINT NOT NULL
);
