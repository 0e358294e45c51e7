"""Which Commerce tables the sidecar and its emulators need, for each edition.

Open Source: the tables Magento 2.4's db_schema.xml files define, merged module by module, and
``overlays/magento_config.xml`` (Magento_Config's core_config_data) and
``overlays/magento_catalog_rule.xml`` (Magento_CatalogRule's rules and price index),
``overlays/magento_bundle.xml`` and ``overlays/magento_configurable_product.xml`` (a bundle's
options and selections, a configurable's links and attributes), modules the reference set lacks.
Adobe Commerce: the same plus ``overlays/adobe_commerce.xml`` (catalog staging + RMA, and the
row_id parents of bundles and configurables), merged with the same rules. Sales sequence tables are
not in any db_schema.xml: Magento creates them
when a store is created (``Magento\\SalesSequence\\Model\\Builder``), so they are built here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from devstack.commerce_schema.declarative import Column, Constraint, Table, load_tables

Edition = Literal["open_source", "adobe_commerce"]
EDITIONS: tuple[Edition, ...] = ("open_source", "adobe_commerce")

# Magento modules in the order Magento's setup would merge them.
MODULES = (
    "module-store",
    "module-eav",
    "module-customer",
    "module-catalog",
    "module-catalog-inventory",
    "module-quote",
    "module-sales",
    "module-sales-sequence",
    "module-inventory",
    "module-inventory-reservations",
    "module-inventory-sales",
    "module-inventory-shipping",
)

OPEN_SOURCE_TABLES = (
    # stores and their configuration
    "store_website", "store_group", "store", "core_config_data",
    # EAV and catalog
    "eav_entity_type", "eav_attribute", "eav_attribute_set", "eav_attribute_option",
    "eav_attribute_option_value", "catalog_eav_attribute",
    "catalog_product_entity", "catalog_product_entity_decimal", "catalog_product_entity_varchar",
    "catalog_product_entity_int", "catalog_product_entity_datetime", "catalog_product_entity_text",
    "catalog_product_website", "catalog_product_entity_tier_price", "catalog_category_product",
    # bundles and configurables (overlays/magento_bundle.xml, overlays/magento_configurable_product.xml)
    "catalog_product_bundle_option", "catalog_product_bundle_selection", "catalog_product_super_attribute",
    "catalog_product_super_link", "catalog_product_relation",
    # catalogue price rules and their price index (overlays/magento_catalog_rule.xml)
    "catalogrule", "catalogrule_product_price",
    # legacy stock
    "cataloginventory_stock", "cataloginventory_stock_item", "cataloginventory_stock_status",
    # MSI
    "inventory_source", "inventory_source_item", "inventory_stock", "inventory_source_stock_link",
    "inventory_stock_sales_channel", "inventory_reservation", "inventory_shipment_source",
    # sales
    "sales_order", "sales_order_item", "sales_order_address", "sales_order_payment",
    "sales_order_grid", "sales_order_status_history", "sales_order_status",
    "sales_order_status_state",
    "sales_shipment", "sales_shipment_item", "sales_shipment_track", "sales_shipment_grid",
    "sales_invoice", "sales_invoice_item", "sales_invoice_grid",
    "sales_creditmemo", "sales_creditmemo_item", "sales_creditmemo_grid",
    "sales_sequence_meta", "sales_sequence_profile",
    # the cart flow the Commerce REST emulator runs
    "quote", "quote_item", "quote_address", "quote_payment", "quote_id_mask",
    "quote_item_option", "quote_shipping_rate", "quote_address_item",
    # what a store writes all day and the sidecar ignores (bench/cdc_realistic.py's binlog):
    # visitors, the reports event log, cron, the price index
    "customer_visitor", "report_event_types", "report_event", "cron_schedule",
    "catalog_product_index_price",
)

ADOBE_COMMERCE_EXTRA_TABLES = (
    "sequence_product",
    "magento_rma", "magento_rma_grid", "magento_rma_status_history", "magento_rma_item_entity",
    "magento_rma_item_entity_int", "magento_rma_shipping_label",
)

SEQUENCE_ENTITIES = {
    "open_source": ("order", "invoice", "creditmemo", "shipment"),
    "adobe_commerce": ("order", "invoice", "creditmemo", "shipment", "rma_item"),
}
DEFAULT_SEQUENCE_STORES = (0, 1)

OVERLAY_DIR = Path(__file__).parent / "overlays"
# Modules of both editions whose db_schema.xml the reference set does not carry, restated.
COMMON_OVERLAYS = ("magento_config.xml", "magento_catalog_rule.xml", "magento_cron.xml", "magento_reports.xml",
                   "magento_bundle.xml", "magento_configurable_product.xml")


def sequence_table(entity: str, store_id: int) -> Table:
    """``sequence_<entity>_<store>``: one auto-increment column Magento inserts into per id."""
    name = f"sequence_{entity}_{store_id}"
    return Table(
        name=name,
        columns={"sequence_value": Column("sequence_value", "int", nullable=False, unsigned=True,
                                          identity=True)},
        constraints={"PRIMARY": Constraint("primary", "PRIMARY", ("sequence_value",))},
    )


def table_names(edition: Edition) -> tuple[str, ...]:
    names: tuple[str, ...] = OPEN_SOURCE_TABLES
    if edition == "adobe_commerce":
        names = names + ADOBE_COMMERCE_EXTRA_TABLES
    return names


def build_tables(schema_dir: Path, edition: Edition) -> dict[str, Table]:
    """Merge Magento's files (and the Adobe Commerce overlay) into the edition's tables."""
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, got {edition!r}")
    files = [schema_dir / module / "etc" / "db_schema.xml" for module in MODULES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"Magento schema files missing: {', '.join(missing)}")
    files += [OVERLAY_DIR / name for name in COMMON_OVERLAYS]
    if edition == "adobe_commerce":
        files.append(OVERLAY_DIR / "adobe_commerce.xml")
    wanted = table_names(edition)
    tables = load_tables(files, only=wanted)
    absent = sorted(set(wanted) - set(tables))
    if absent:
        raise ValueError(f"tables not defined by any schema file: {', '.join(absent)}")
    for entity in SEQUENCE_ENTITIES[edition]:
        for store_id in DEFAULT_SEQUENCE_STORES:
            table = sequence_table(entity, store_id)
            tables[table.name] = table
    return tables
