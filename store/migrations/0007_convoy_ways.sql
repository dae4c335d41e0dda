-- The places of a convoy's own way through the road network, when it
-- gives one (convoy.file "way"): a change at a checkpoint finds the
-- convoys whose way passes its place.
CREATE TABLE convoy_way (
    convoy TEXT    NOT NULL,
    pos    INTEGER NOT NULL,
    place  TEXT    NOT NULL,
    PRIMARY KEY (convoy, pos)
);
CREATE INDEX convoy_way_place ON convoy_way (place, convoy);
