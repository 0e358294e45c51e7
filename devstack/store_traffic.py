"""A store's day in the binlog: what a Magento storefront, its cron and its indexers write, most of
which the sidecar ignores (issue 19's realistic binlog, for bench/cdc_realistic.py and the listener's
fast-path test).

Per round ("a minute of traffic"): page views (``session`` save, ``customer_visitor`` update or
insert, ``report_event`` rows), cart changes (``quote``, ``quote_item``), one order placement
(``sales_order``, ``sales_order_item``, ``inventory_reservation``, ``sales_order_grid``, the quote
closed), a cron tick (``cron_schedule`` rows scheduled, finished, purged), one stock import
(``inventory_source_item``) and one price edit (``catalog_product_entity_decimal``). Every
``rebuild_every`` rounds the indexers rebuild ``catalog_product_index_price`` (every product x
customer group), the stock index ``inventory_stock_2`` and the search index
``catalogsearch_fulltext_scope1``, in chunks of ``INDEX_CHUNK`` rows per transaction.

Tables that no db_schema.xml declares are created here as Magento creates them at run time:
``session`` (the database session save handler, ``Magento\\Framework\\Session\\SaveHandler\\DbTable``:
session_id, session_expires, session_data), ``inventory_stock_<id>`` for a non-default stock
(``Magento\\InventoryIndexer\\Indexer\\IndexStructure``: sku primary, quantity decimal(10,4),
is_salable; the default stock's ``inventory_stock_1`` is a view over cataloginventory_stock_status
and writes no rows, so the indexed stock here is the seed's stock 2) and the search scope table
(``Magento\\CatalogSearch\\Model\\Indexer\\IndexStructure``: entity_id, attribute_id, data_index
longtext, fulltext key). Create them before the binlog position a measurement starts from: their
DDL is not part of the traffic.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from domain.events import FAMILIES

RUNTIME_TABLES = (
    """CREATE TABLE IF NOT EXISTS `session` (
  `session_id` varchar(255) NOT NULL COMMENT 'Session Id',
  `session_expires` int(10) unsigned NOT NULL DEFAULT 0 COMMENT 'Date of Session Expiration',
  `session_data` mediumblob NOT NULL COMMENT 'Session Data',
  PRIMARY KEY (`session_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='Database Sessions Storage'""",
    """CREATE TABLE IF NOT EXISTS `inventory_stock_2` (
  `sku` varchar(64) NOT NULL COMMENT 'Sku',
  `quantity` decimal(10,4) NOT NULL DEFAULT 0.0000 COMMENT 'Quantity',
  `is_salable` tinyint(1) NOT NULL COMMENT 'Is Salable',
  PRIMARY KEY (`sku`),
  KEY `index_sku_qty` (`sku`, `quantity`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='Inventory Stock item Table'""",
    """CREATE TABLE IF NOT EXISTS `catalogsearch_fulltext_scope1` (
  `entity_id` int(10) unsigned NOT NULL COMMENT 'Entity ID',
  `attribute_id` int(10) unsigned NOT NULL,
  `data_index` longtext NULL COMMENT 'Data index',
  PRIMARY KEY (`entity_id`, `attribute_id`),
  FULLTEXT KEY `FTI_FULLTEXT_DATA_INDEX` (`data_index`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)

# the tables the listener watches that this traffic writes (the rest it must skip)
WATCHED_WRITTEN = ("inventory_source_item", "inventory_reservation", "catalog_product_entity_decimal",
                   "sales_order", "sales_order_item")
CUSTOMER_GROUPS = (0, 1, 2, 3)
INDEX_CHUNK = 500
_WORDS = ("organic", "cotton", "shirt", "blue", "large", "kitchen", "steel", "outdoor", "garden", "lamp",
          "wireless", "charger", "vintage", "leather", "wallet", "ceramic", "mug", "running", "shoe")


@dataclass
class TrafficCounts:
    """Rows written per table, and transactions."""

    rows: dict[str, int] = field(default_factory=dict)
    transactions: int = 0

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

    @property
    def watched_rows(self) -> int:
        return sum(n for t, n in self.rows.items() if t in WATCHED_WRITTEN)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def stock_and_price_rows(self) -> int:
        return sum(self.rows.get(t, 0) for t in ("inventory_source_item", "inventory_reservation",
                                                   "catalog_product_entity_decimal"))


def create_runtime_tables(conn: Any) -> None:
    with conn.cursor() as cur:
        for ddl in RUNTIME_TABLES:
            cur.execute(ddl)
        cur.execute("INSERT IGNORE INTO report_event_types (event_type_id, event_name, customer_login) VALUES "
                    "(1, 'catalog_product_view', 0), (2, 'sendfriend_product', 0), "
                    "(3, 'catalog_product_compare_add_product', 0), (4, 'checkout_cart_add_product', 0)")
    conn.commit()


class StoreTraffic:
    """Writes rounds of traffic on one connection (autocommit off), one transaction per request."""

    def __init__(self, conn: Any, products: int, price_attribute_id: int, seed: int = 19):
        self.conn = conn
        self.products = products
        self.price_attribute_id = price_attribute_id
        self.random = random.Random(seed)
        self.counts = TrafficCounts()
        self._round = 0
        self._visitors = 0
        self._quotes: list[int] = []
        self._orders = 0

    def _commit(self) -> None:
        self.conn.commit()
        self.counts.transactions += 1

    def _sku(self, entity_id: int) -> str:
        return f"WS-{entity_id:06d}"

    def _product(self) -> int:
        return self.random.randint(1, self.products)

    def _session_blob(self) -> bytes:
        # a PHP-serialised session is a few KB of mostly printable text
        words = " ".join(self.random.choice(_WORDS) for _ in range(self.random.randint(150, 350)))
        return f"_session_validator_data|a:4:{{s:11:\"remote_addr\";s:9:\"127.0.0.1\";}}{words}".encode()

    def page_view(self, cur: Any) -> None:
        session = f"sess{self.random.randint(1, 400):05d}"
        cur.execute("REPLACE INTO session (session_id, session_expires, session_data) VALUES (%s, %s, %s)",
                    (session, 1_900_000_000 + self._round, self._session_blob()))
        self.counts.add("session", 1)
        if self._visitors < 50 or self.random.random() < 0.25:
            cur.execute("INSERT INTO customer_visitor (customer_id, session_id) VALUES (NULL, NULL)")
            self._visitors += 1
        else:
            cur.execute("UPDATE customer_visitor SET last_visit_at = NOW() + INTERVAL %s SECOND "
                        "WHERE visitor_id = %s", (self._round, self.random.randint(1, self._visitors)))
        self.counts.add("customer_visitor", 1)
        views = self.random.randint(1, 3)
        cur.executemany("INSERT INTO report_event (event_type_id, object_id, subject_id, subtype, store_id) "
                        "VALUES (1, %s, %s, 1, 1)",
                        [(self._product(), self.random.randint(1, 10_000)) for _ in range(views)])
        self.counts.add("report_event", views)
        self._commit()

    def cart_change(self, cur: Any) -> None:
        if len(self._quotes) < 20 or self.random.random() < 0.3:
            cur.execute("INSERT INTO quote (store_id, is_active, items_count, customer_email) VALUES (1, 1, 0, %s)",
                        (f"shopper{self.random.randint(1, 5000)}@example.com",))
            self._quotes.append(cur.lastrowid)
            self.counts.add("quote", 1)
        quote_id = self.random.choice(self._quotes)
        items = self.random.randint(1, 2)
        cur.executemany("INSERT INTO quote_item (quote_id, product_id, store_id, sku, name, qty, price, row_total) "
                        "VALUES (%s, %s, 1, %s, %s, 1, 19.99, 19.99)",
                        [(quote_id, p, self._sku(p), f"Product {p}") for p in
                         (self._product() for _ in range(items))])
        self.counts.add("quote_item", items)
        cur.execute("UPDATE quote SET items_count = items_count + %s, grand_total = grand_total + 19.99, "
                    "updated_at = NOW() WHERE entity_id = %s", (items, quote_id))
        self.counts.add("quote", 1)
        self._commit()

    def place_order(self, cur: Any) -> None:
        self._orders += 1
        increment = f"R{self._round:05d}{self._orders:06d}"
        cur.execute("INSERT INTO sales_order (state, status, increment_id, store_id, grand_total) "
                    "VALUES ('new', 'pending', %s, 1, 39.98)", (increment,))
        order_id = cur.lastrowid
        products = [self._product() for _ in range(2)]
        cur.executemany("INSERT INTO sales_order_item (order_id, product_id, sku, name, qty_ordered, price) "
                        "VALUES (%s, %s, %s, %s, 1, 19.99)",
                        [(order_id, p, self._sku(p), f"Product {p}") for p in products])
        cur.executemany("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) VALUES (2, %s, -1, %s)",
                        [(self._sku(p), '{"event_type":"order_placed","object_type":"order",'
                                        f'"object_id":"{order_id}","object_increment_id":"{increment}"}}')
                         for p in products])
        cur.execute("INSERT INTO sales_order_grid (entity_id, status, store_id, increment_id, grand_total) "
                    "VALUES (%s, 'pending', 1, %s, 39.98)", (order_id, increment))
        if self._quotes:
            cur.execute("UPDATE quote SET is_active = 0, reserved_order_id = %s WHERE entity_id = %s",
                        (increment, self._quotes.pop(0)))
            self.counts.add("quote", 1)
        self.counts.add("sales_order", 1)
        self.counts.add("sales_order_item", 2)
        self.counts.add("inventory_reservation", 2)
        self.counts.add("sales_order_grid", 1)
        self._commit()

    def cron_tick(self, cur: Any) -> None:
        jobs = ("indexer_reindex_all_invalid", "indexer_update_all_views", "sales_grid_order_async_insert",
                "catalog_product_frontend_actions_flush", "inventory_cleanup_reservations")
        cur.executemany("INSERT INTO cron_schedule (job_code, status, scheduled_at) VALUES (%s, 'pending', NOW())",
                        [(job,) for job in jobs])
        cur.execute("UPDATE cron_schedule SET status = 'success', executed_at = NOW(), finished_at = NOW() "
                    "WHERE status = 'pending' ORDER BY schedule_id LIMIT 5")
        finished = cur.rowcount
        cur.execute("DELETE FROM cron_schedule WHERE status = 'success' ORDER BY schedule_id LIMIT 5")
        self.counts.add("cron_schedule", len(jobs) + finished + cur.rowcount)
        self._commit()

    def stock_import(self, cur: Any, skus: int = 10) -> None:
        start = self._product()
        rows = [(self._sku((start + k) % self.products + 1),) for k in range(skus)]
        cur.executemany("UPDATE inventory_source_item SET quantity = quantity + 1 WHERE sku = %s "
                        "AND source_code = 'default'", rows)
        self.counts.add("inventory_source_item", skus)
        self._commit()

    def price_edit(self, cur: Any, products: int = 5) -> None:
        start = self._product()
        cur.executemany("UPDATE catalog_product_entity_decimal SET value = value + 0.01 "
                        "WHERE entity_id = %s AND attribute_id = %s AND store_id = 0",
                        [((start + k) % self.products + 1, self.price_attribute_id) for k in range(products)])
        self.counts.add("catalog_product_entity_decimal", products)
        self._commit()

    def rebuild_indexes(self, cur: Any) -> None:
        """A full reindex of the price, stock and search indexes, chunk by chunk (as the indexers'
        batch size makes them), every row an insert or an update the listener must skip."""
        rows = [(e, g, 1, 0, 19.99 + e / 100, 19.99 + e / 100, 19.99, 19.99 + self._round / 100)
                for e in range(1, self.products + 1) for g in CUSTOMER_GROUPS]
        for i in range(0, len(rows), INDEX_CHUNK):
            cur.executemany(
                "INSERT INTO catalog_product_index_price (entity_id, customer_group_id, website_id, tax_class_id, "
                "price, final_price, min_price, max_price) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE final_price = VALUES(final_price), max_price = VALUES(max_price)",
                rows[i:i + INDEX_CHUNK])
            self.counts.add("catalog_product_index_price", len(rows[i:i + INDEX_CHUNK]))
            self._commit()
        stock = [(self._sku(e), 100 + (e + self._round) % 50, 1) for e in range(1, self.products + 1)]
        cur.execute("DELETE FROM inventory_stock_2")
        self.counts.add("inventory_stock_2", cur.rowcount)
        for i in range(0, len(stock), INDEX_CHUNK):
            cur.executemany("INSERT INTO inventory_stock_2 (sku, quantity, is_salable) VALUES (%s, %s, %s)",
                            stock[i:i + INDEX_CHUNK])
            self.counts.add("inventory_stock_2", len(stock[i:i + INDEX_CHUNK]))
        self._commit()
        search = [(e, a, " ".join(self.random.choice(_WORDS) for _ in range(12)))
                  for e in range(1, self.products + 1) for a in (73, 74, 75)]
        for i in range(0, len(search), INDEX_CHUNK):
            cur.executemany("REPLACE INTO catalogsearch_fulltext_scope1 (entity_id, attribute_id, data_index) "
                            "VALUES (%s, %s, %s)", search[i:i + INDEX_CHUNK])
            self.counts.add("catalogsearch_fulltext_scope1", len(search[i:i + INDEX_CHUNK]))
            self._commit()

    def run(self, rounds: int, rebuild_every: int = 100, page_views: int = 40, cart_changes: int = 8) -> TrafficCounts:
        """``rounds`` rounds, ending with a stock import (a watched transaction last, so a reader
        that reached the end has published everything)."""
        with self.conn.cursor() as cur:
            for r in range(rounds):
                self._round = r
                for _ in range(page_views):
                    self.page_view(cur)
                for _ in range(cart_changes):
                    self.cart_change(cur)
                self.place_order(cur)
                self.cron_tick(cur)
                self.stock_import(cur)
                self.price_edit(cur)
                if rebuild_every and r % rebuild_every == rebuild_every // 2:
                    self.rebuild_indexes(cur)
            self.stock_import(cur)
        return self.counts


def published(bootstrap: str, prefix: str) -> dict[tuple[str, int], list[tuple[bytes, dict[str, Any]]]]:
    """Every event on a topic prefix's family topics, per (family, partition) in offset order, with
    ``captured_at`` (the publishing wall clock) left out: what two listener runs over the same
    traffic can be compared on."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(f"{prefix}.{family}", p) for family in FAMILIES
                 for p in consumer.partitions_for_topic(f"{prefix}.{family}") or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        out: dict[tuple[str, int], list[tuple[bytes, dict[str, Any]]]] = {
            (tp.topic.rsplit(".", 1)[1], tp.partition): [] for tp in parts}
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    event = json.loads(record.value)
                    event.pop("captured_at")
                    out[(tp.topic.rsplit(".", 1)[1], tp.partition)].append((record.key, event))
        return out
    finally:
        consumer.close()
