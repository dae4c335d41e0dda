-- The convoys a claim is about (claim.record about_convoys), so that a
-- convoy's page lists the claims about it without reading every claim.
CREATE TABLE claim_convoys (
    convoy    TEXT   NOT NULL,
    claim     TEXT   NOT NULL,
    log_index BIGINT NOT NULL,
    PRIMARY KEY (convoy, claim)
);
