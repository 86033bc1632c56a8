-- Number of distinct classifications of each product.
CREATE TABLE IF NOT EXISTS `sbx-uat.encarta.public.products_classifications_agg` (
    `product_id` BIGINT NOT NULL,
    `classification_count` BIGINT NOT NULL,
    `created_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was created at the source',
    `updated_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was last changed at the source',
    PRIMARY KEY (`product_id`) NOT ENFORCED
)
DISTRIBUTED BY HASH(`product_id`) INTO 6 BUCKETS;
