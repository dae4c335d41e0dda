-- The public evidence files records point to (incident, checkpoint event,
-- statement, delivery: payload files[].sha256), so that /files/{sha256}
-- serves only files a signed record published, and pages list a record's
-- files without reading every record. Restricted files (a commitment)
-- are not here.
CREATE TABLE evidence_files (
    sha256     TEXT   NOT NULL,
    record_id  TEXT   NOT NULL,
    log_index  BIGINT NOT NULL,
    media_type TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    caption    TEXT   NOT NULL,
    PRIMARY KEY (sha256, log_index)
);
CREATE INDEX evidence_files_index ON evidence_files (log_index);
