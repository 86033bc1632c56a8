INSERT INTO `sbx-uat.encarta.public.skus_classifications_agg`
SELECT
    c.sku_id,
    COUNT(DISTINCT c.classification_code) AS classification_count
FROM `sbx-uat.encarta.public.sku_classifications` c
GROUP BY c.sku_id;
