-- Incidents per month of occurrence, kept as a figure from now on (the
-- overview reads it instead of counting the month's rows): counted once
-- here for a projection made before.
INSERT INTO figures (name, value)
SELECT 'incidents:' || substr(occurred, 1, 7), COUNT(*) FROM incident_views GROUP BY substr(occurred, 1, 7);
