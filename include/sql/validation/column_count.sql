-- Columns of a table, from the catalog (the guide's check 1). Compared with the count its DDL
-- declares: no expected number is written down anywhere.
SELECT COUNT(*) AS column_count
FROM `INFORMATION_SCHEMA`.`COLUMNS`
WHERE `TABLE_NAME` = '{{ table }}';
