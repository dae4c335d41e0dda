-- Aid by transport mode (convoy.file "mode": road, foot, air-drop, sea):
-- the coverage of a place is kept per mode too. Every convoy projected
-- before modes existed went by road.
CREATE TABLE coverage_items_by_mode (
    place    TEXT             NOT NULL,
    day      TEXT             NOT NULL,
    outcome  TEXT             NOT NULL,
    mode     TEXT             NOT NULL,
    item     TEXT             NOT NULL,
    sector   TEXT             NOT NULL,
    unit     TEXT             NOT NULL,
    rated    INTEGER          NOT NULL,
    quantity DOUBLE PRECISION NOT NULL,
    kg       DOUBLE PRECISION NOT NULL,
    kcal     DOUBLE PRECISION NOT NULL,
    convoys  INTEGER          NOT NULL,
    PRIMARY KEY (place, day, outcome, mode, item, sector, unit)
);
INSERT INTO coverage_items_by_mode (place, day, outcome, mode, item, sector, unit, rated, quantity, kg, kcal, convoys)
    SELECT place, day, outcome, 'road', item, sector, unit, rated, quantity, kg, kcal, convoys FROM coverage_items;
DROP TABLE coverage_items;
ALTER TABLE coverage_items_by_mode RENAME TO coverage_items;
-- The outcomes' items name their mode too (as the code writes them: the
-- mode right after the outcome).
UPDATE convoy_outcomes SET doc = REPLACE(REPLACE(REPLACE(doc,
    '{"outcome":"delivered",', '{"outcome":"delivered","mode":"road",'),
    '{"outcome":"held",', '{"outcome":"held","mode":"road",'),
    '{"outcome":"refused",', '{"outcome":"refused","mode":"road",');
