-- Rows whose timestamps are inconsistent (the guide's check 2, plus NULLs): must be zero.
SELECT COUNT(*) AS violations
FROM `{{ table }}`
WHERE created_at > updated_at OR created_at IS NULL OR updated_at IS NULL;
