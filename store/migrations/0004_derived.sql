-- Derived views, kept as records are applied (store/derived.go): the
-- evidence each source (a convoy, an incident, a closure, an observed
-- passage) gives about passage, the daily status counts it adds up to per
-- route and kind of traffic, the records that decide each day, claim
-- verdicts, what became of each convoy's load and the coverage of each
-- destination by day, the incident list with the incidents derived from
-- refusals and holds, and key figures. A record changes the rows it
-- touches: nothing here is recomputed from whole tables.

CREATE TABLE derived_state (
    id    INTEGER PRIMARY KEY,
    as_of TEXT    NOT NULL -- the latest day any dated record names
);
INSERT INTO derived_state (id, as_of) VALUES (1, '');

CREATE TABLE evidence (
    unit      TEXT    NOT NULL, -- convoy:ID, incident:ID, closure:INDEX, passage:INDEX
    n         INTEGER NOT NULL,
    route     TEXT    NOT NULL,
    traffic   TEXT    NOT NULL,
    kind      TEXT    NOT NULL, -- passage, removal, denial
    from_day  TEXT    NOT NULL,
    to_day    TEXT    NOT NULL,
    open_end  INTEGER NOT NULL, -- lasts to as_of: moves with it
    log_index BIGINT  NOT NULL,
    what      TEXT    NOT NULL,
    PRIMARY KEY (unit, n)
);
CREATE INDEX evidence_day ON evidence (route, traffic, kind, from_day);
CREATE INDEX evidence_open ON evidence (open_end, unit);
CREATE INDEX evidence_from ON evidence (from_day);

CREATE TABLE route_days (
    route    TEXT    NOT NULL,
    traffic  TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    passages INTEGER NOT NULL,
    removals INTEGER NOT NULL,
    denials  INTEGER NOT NULL,
    status   TEXT    NOT NULL,
    PRIMARY KEY (route, traffic, day)
);
CREATE INDEX route_days_status ON route_days (route, traffic, status, day);

-- The deciding records of a day: per kind of evidence, the earliest
-- (lowest log index) DecidingPerDay of them; route_days counts them all.
CREATE TABLE route_day_records (
    route     TEXT   NOT NULL,
    traffic   TEXT   NOT NULL,
    day       TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    log_index BIGINT NOT NULL,
    PRIMARY KEY (route, traffic, day, kind, log_index)
);

CREATE TABLE claim_verdicts (
    claim     TEXT   PRIMARY KEY,
    kind      TEXT   NOT NULL, -- route-open, route-blocked, delivered
    route     TEXT   NOT NULL,
    traffic   TEXT   NOT NULL,
    place     TEXT   NOT NULL,
    from_day  TEXT   NOT NULL,
    to_day    TEXT   NOT NULL,
    verdict   TEXT   NOT NULL,
    doc       TEXT   NOT NULL, -- the verdict with its reason, days and records
    log_index BIGINT NOT NULL
);
CREATE INDEX claim_verdicts_route ON claim_verdicts (route, traffic, from_day);
CREATE INDEX claim_verdicts_place ON claim_verdicts (place, from_day);

CREATE TABLE convoy_outcomes (
    convoy      TEXT             PRIMARY KEY,
    destination TEXT             NOT NULL,
    outcome     TEXT             NOT NULL, -- delivered, held, refused
    day         TEXT             NOT NULL,
    kg          DOUBLE PRECISION NOT NULL,
    log_index   BIGINT           NOT NULL, -- the record that decides it
    doc         TEXT             NOT NULL  -- the outcome with its items
);
CREATE INDEX convoy_outcomes_dest ON convoy_outcomes (destination, day, log_index);

CREATE TABLE coverage_items (
    place    TEXT             NOT NULL, -- the convoys' destination
    day      TEXT             NOT NULL,
    outcome  TEXT             NOT NULL,
    item     TEXT             NOT NULL,
    sector   TEXT             NOT NULL,
    unit     TEXT             NOT NULL,
    rated    INTEGER          NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    kg       DOUBLE PRECISION NOT NULL,
    kcal     DOUBLE PRECISION NOT NULL,
    convoys  INTEGER          NOT NULL,
    PRIMARY KEY (place, day, outcome, item, sector, unit)
);

CREATE TABLE coverage_records (
    place     TEXT   NOT NULL,
    day       TEXT   NOT NULL,
    log_index BIGINT NOT NULL,
    PRIMARY KEY (place, day, log_index)
);

-- Incidents as people read them: the reported ones and those derived from
-- a refusal or hold at a checkpoint, in the order of the incident list.
CREATE TABLE incident_views (
    log_index BIGINT  PRIMARY KEY, -- the report, or the checkpoint event
    id        TEXT    NOT NULL,
    derived   INTEGER NOT NULL,
    occurred  TEXT    NOT NULL,
    route     TEXT    NOT NULL,
    place     TEXT    NOT NULL,
    doc       TEXT    NOT NULL
);
CREATE INDEX incident_views_order ON incident_views (occurred, log_index);
CREATE INDEX incident_views_id ON incident_views (id);

CREATE TABLE figures (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);

ALTER TABLE convoys ADD COLUMN next_checkpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE convoys ADD COLUMN authorities TEXT NOT NULL DEFAULT '[]';
CREATE INDEX convoys_at ON convoys (checkpoint, status, log_index);
CREATE INDEX convoys_next ON convoys (next_checkpoint, status, log_index);
CREATE INDEX convoys_route_log ON convoys (route, log_index);
CREATE INDEX convoys_log ON convoys (log_index);
CREATE INDEX convoys_status ON convoys (status, log_index);
CREATE INDEX incidents_checkpoint ON incidents (checkpoint);
CREATE INDEX route_notices_party ON route_notices (route, party, kind);
CREATE INDEX claims_statement ON claims (statement);
CREATE INDEX statements_said ON statements (said_on, log_index);
