"""Store configuration from Commerce's ``core_config_data``, at the scope Magento reads it.

Magento resolves a value for a store view by merging the scopes default <- website <- store
(``Magento\\Store\\Model\\Config\\Processor\\Fallback::prepareStoresConfig``: the store's own row,
else its website's, else the default one), and falls back to the modules' ``etc/config.xml``
when no row is set. The rows are ``scope`` ``stores`` / ``websites`` / ``default`` with the
store, website or 0 as ``scope_id`` (Magento_Config's db_schema.xml). Values Magento takes from
``app/etc/env.php`` or ``config.php`` instead of the database are not visible here; the settings
overrides (``mapping.store_timezone``) cover those stores.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from plumbing.db import DbConnection

# Magento\Directory\Helper\Data::XML_PATH_DEFAULT_TIMEZONE, the path Timezone reads.
TIMEZONE_PATH = "general/locale/timezone"
# Magento_Directory's etc/config.xml default for it, when no scope sets one.
DEFAULT_TIMEZONE = "America/Los_Angeles"

_RANK = {"stores": 0, "websites": 1, "default": 2}


def store_config_value(conn: DbConnection, path: str, store_id: int) -> str | None:
    """The value of ``path`` for store view ``store_id``, or None when no scope sets it.

    A row whose value is NULL is treated as unset, so the next scope's value applies (Magento
    would hand its callers NULL, which for the timezone means PHP's default zone, UTC)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.scope, c.value FROM core_config_data c WHERE c.path = %s AND c.value IS NOT NULL AND ("
            "(c.scope = 'stores' AND c.scope_id = %s) "
            "OR (c.scope = 'websites' AND c.scope_id = (SELECT s.website_id FROM store s WHERE s.store_id = %s)) "
            "OR (c.scope = 'default' AND c.scope_id = 0))",
            (path, store_id, store_id))
        rows = [(str(scope), str(value)) for scope, value in cur.fetchall() if scope in _RANK]
    if not rows:
        return None
    return min(rows, key=lambda row: _RANK[row[0]])[1]


def store_timezone(conn: DbConnection, store_id: int, override: str | None = None) -> ZoneInfo:
    """The store view's timezone (``general/locale/timezone``), the zone Magento's
    ``Framework\\Stdlib\\DateTime\\Timezone::scopeTimeStamp`` reads its wall clock in; ``override``
    (``mapping.store_timezone``) wins when set."""
    name = override or store_config_value(conn, TIMEZONE_PATH, store_id) or DEFAULT_TIMEZONE
    return ZoneInfo(name)
