-- Source CDC table: classifications assigned to SKUs.
CREATE TABLE IF NOT EXISTS `sbx-uat.encarta.public.sku_classifications` (
    `id` BIGINT NOT NULL,
    `sku_id` BIGINT NOT NULL,
    `classification_type` STRING NOT NULL,
    `classification_code` STRING NOT NULL,
    `created_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was created at the source',
    `updated_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was last changed at the source',
    PRIMARY KEY (`id`) NOT ENFORCED
)
DISTRIBUTED BY HASH(`id`) INTO 6 BUCKETS;
