-- Webhooks (webhook package): where each subscription has read the log
-- up to, the convoys whose clearance deadline it watches, and the delivery
-- log (each event, its attempts and the last answer). Operational state,
-- not derived from the log: a rebuild keeps it, like tokens.
CREATE TABLE webhook_cursors (
    webhook TEXT   NOT NULL PRIMARY KEY,
    read_to BIGINT NOT NULL
);
CREATE TABLE webhook_watches (
    webhook  TEXT NOT NULL,
    convoy   TEXT NOT NULL,
    deadline TEXT NOT NULL,
    PRIMARY KEY (webhook, convoy)
);
CREATE TABLE webhook_deliveries (
    id          TEXT    NOT NULL PRIMARY KEY,
    webhook     TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    next_at     BIGINT  NOT NULL,
    last_status INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    created     BIGINT  NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
