-- Authorities' published lists of restricted items (restricted.list), in
-- force from their day until the same authority's next list.
CREATE TABLE restricted_lists (
    id        TEXT   NOT NULL,
    authority TEXT   NOT NULL,
    from_day  TEXT   NOT NULL,
    doc       TEXT   NOT NULL,
    log_index BIGINT NOT NULL,
    PRIMARY KEY (authority, id)
);
