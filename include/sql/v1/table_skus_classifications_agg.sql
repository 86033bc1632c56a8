-- Number of distinct classifications of each SKU.
CREATE TABLE IF NOT EXISTS `sbx-uat.encarta.public.skus_classifications_agg` (
    `sku_id` BIGINT NOT NULL,
    `classification_count` BIGINT NOT NULL,
    PRIMARY KEY (`sku_id`) NOT ENFORCED
)
DISTRIBUTED BY HASH(`sku_id`) INTO 6 BUCKETS;
