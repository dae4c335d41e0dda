-- Vehicles that delivered, for claims of trucks a day (tonnes-per-day's
-- sibling): each outcome keeps its convoy's vehicle count, and deliveries
-- are summed per place and day. Filled for old projections from the
-- convoys' filings (see backfills in store.go).
ALTER TABLE convoy_outcomes ADD COLUMN vehicles INTEGER NOT NULL DEFAULT 0;
CREATE TABLE delivered_vehicles (
    place    TEXT   NOT NULL,
    day      TEXT   NOT NULL,
    vehicles BIGINT NOT NULL,
    PRIMARY KEY (place, day)
);
