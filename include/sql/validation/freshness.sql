-- The newest change a table holds and its size (the guide's freshness monitor, per table).
SELECT MAX(updated_at) AS latest_update, COUNT(*) AS record_count
FROM `{{ table }}`;
