INSERT INTO `sbx-uat.encarta.public.skus_classifications_agg`
SELECT
    c.sku_id,
    COUNT(DISTINCT c.classification_code) AS classification_count,
    MAX(c.created_at) AS created_at,
    MAX(c.updated_at) AS updated_at
FROM `sbx-uat.encarta.public.sku_classifications` c
GROUP BY c.sku_id;
