-- Years that have a registry, newest first.
SELECT DISTINCT year FROM projects ORDER BY year DESC;
