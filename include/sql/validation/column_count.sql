-- Columns of a table, from Confluent Cloud's catalog (the guide's check 1). `{{ table }}` is the
-- full Flink table name (`sbx-uat.encarta.public.skus_master`: one identifier), not the guide's
-- bare 'skus_master'. System columns such as `$rowtime` are listed as hidden and left out. The
-- count is compared with what the table's DDL declares: no expected number is written down.
SELECT COUNT(*) AS column_count
FROM `INFORMATION_SCHEMA`.`COLUMNS`
WHERE `TABLE_NAME` = '{{ table }}' AND `IS_HIDDEN` = 'NO';
