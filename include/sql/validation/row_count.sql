-- Rows of a table (the guide's check 4).
SELECT COUNT(*) AS row_count
FROM `{{ table }}`;
