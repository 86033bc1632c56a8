-- Source CDC table: units of measure of each SKU, one row per SKU and UOM type.
CREATE TABLE IF NOT EXISTS `sbx-uat.encarta.public.uoms` (
    `id` BIGINT NOT NULL,
    `sku_id` BIGINT NOT NULL,
    `uom_type` STRING NOT NULL COMMENT 'EA, IP, CS, PL, BX, DZ or PK',
    `qty_per` INT,
    `length` DECIMAL(10, 3),
    `width` DECIMAL(10, 3),
    `height` DECIMAL(10, 3),
    `dim_unit` STRING,
    `gross_weight` DECIMAL(10, 3),
    `net_weight` DECIMAL(10, 3),
    `weight_unit` STRING,
    `volume` DECIMAL(12, 4),
    `gtin` STRING,
    `is_sellable` BOOLEAN,
    `created_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was created at the source',
    `updated_at` TIMESTAMP_LTZ(3) NOT NULL COMMENT 'when the row was last changed at the source',
    PRIMARY KEY (`id`) NOT ENFORCED
)
DISTRIBUTED BY HASH(`id`) INTO 6 BUCKETS;
