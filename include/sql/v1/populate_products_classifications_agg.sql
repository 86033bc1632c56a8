INSERT INTO `sbx-uat.encarta.public.products_classifications_agg`
SELECT
    pc.product_id,
    COUNT(DISTINCT pc.classification_code) AS classification_count
FROM `sbx-uat.encarta.public.product_classifications` pc
GROUP BY pc.product_id;
