-- Changes of who operates a checkpoint, or its closing, from a day on
-- (checkpoint.change records). The checkpoint's own row keeps its
-- registration; its history is these rows, in the order of their days.
CREATE TABLE checkpoint_changes (
    checkpoint TEXT   NOT NULL,
    from_day   TEXT   NOT NULL,
    authority  TEXT   NOT NULL, -- '' when the change closes it
    doc        TEXT   NOT NULL,
    log_index  BIGINT NOT NULL,
    PRIMARY KEY (checkpoint, from_day)
);
