-- Source CDC table: products (a product has one or more SKUs).
CREATE TABLE IF NOT EXISTS `sbx-uat.encarta.public.products` (
    `id` BIGINT NOT NULL,
    `product_code` STRING NOT NULL,
    `name` STRING NOT NULL,
    `brand` STRING,
    `category_code` STRING,
    `is_active` BOOLEAN NOT NULL,
    `created_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was created at the source',
    `updated_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was last changed at the source',
    PRIMARY KEY (`id`) NOT ENFORCED
)
DISTRIBUTED BY HASH(`id`) INTO 6 BUCKETS;
