-- Row counts of two tables side by side, e.g. a table and its _v2 twin, or an aggregate and the
-- distinct keys of its source: compared within a tolerance.
SELECT l.row_count AS left_rows, r.row_count AS right_rows
FROM (SELECT COUNT(*) AS row_count FROM `{{ left }}`) l
CROSS JOIN (SELECT COUNT(*) AS row_count FROM `{{ right }}`) r;
