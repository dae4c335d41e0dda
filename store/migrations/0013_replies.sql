-- Replies (reply.record): a named party's answer to a record about it,
-- by the log index of the record answered, so that every page showing a
-- record shows its replies, and a verdict says when a record deciding it
-- is disputed, without reading every reply.
CREATE TABLE replies (
    log_index    BIGINT NOT NULL PRIMARY KEY,
    record_id    TEXT   NOT NULL,
    record_index BIGINT NOT NULL,
    party        TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    doc          TEXT   NOT NULL
);
CREATE INDEX replies_record ON replies (record_index);
