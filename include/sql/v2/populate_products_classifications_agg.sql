INSERT INTO `sbx-uat.encarta.public.products_classifications_agg`
SELECT
    pc.product_id,
    COUNT(DISTINCT pc.classification_code) AS classification_count,
    MAX(pc.created_at) AS created_at,
    MAX(pc.updated_at) AS updated_at
FROM `sbx-uat.encarta.public.product_classifications` pc
GROUP BY pc.product_id;
