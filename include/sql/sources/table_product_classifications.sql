-- Source CDC table: classifications assigned to products.
CREATE TABLE IF NOT EXISTS `sbx-uat.encarta.public.product_classifications` (
    `id` BIGINT NOT NULL,
    `product_id` BIGINT NOT NULL,
    `classification_type` STRING NOT NULL,
    `classification_code` STRING NOT NULL,
    `created_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was created at the source',
    `updated_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was last changed at the source',
    PRIMARY KEY (`id`) NOT ENFORCED
)
DISTRIBUTED BY HASH(`id`) INTO 6 BUCKETS;
