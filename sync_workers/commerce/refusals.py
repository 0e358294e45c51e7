"""What a Commerce refusal of a Walmart order means: cancel the PO on Walmart, or dead-letter it.

The companion module (commerce-module/, contract.json ``refusal_codes``) names its refusals:
``parameters.code`` and ``parameters.walmart_cancellable``, matched first because they do not
depend on the store's locale. A refusal it could not classify (``COMMERCE_REFUSED``), or one
that carries no code at all, is matched on Magento's own words, release by release (read in
magento/magento2 and magento/inventory; the same table as contract.json ``magento_messages``,
kept equal by tests/unit/sync_workers/commerce/test_refusals.py):

- 2.4.6 / 2.4.7: "The requested qty is not available" — MSI
  ``Magento\\InventorySales\\Model\\IsProductSalableForRequestedQtyCondition\\IsSalableWithReservationsCondition``
  (surfaced by ``GetBackorder`` on add-to-cart and ``CheckItemsQuantity`` at placement), legacy
  ``Magento\\CatalogInventory\\Model\\StockStateProvider``;
- 2.4.8: "Not enough items for sale", or "Only X of Y available" when
  ``cataloginventory/options/not_available_message`` = 1 — the same MSI condition after LYNX-530;
- every release: ``IsAnySourceItemInStockCondition`` "There are no source items with the in stock
  status", ``QuantityValidator`` "This product is out of stock." / "Some of the products are out
  of stock.", ``Quote::addProduct()`` "Product that you are trying to add is not available."
  (disabled, not in the website, or out of stock).

Anything else is not Walmart's to cancel: the text goes to the dead letter for a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# refusals after which the PO cannot become a Commerce order as sent, and the seller cancels it
# on Walmart with the configured reason (contract.json refusal_codes[*].walmart_cancellable)
CANCELLABLE = frozenset({"OUT_OF_STOCK", "PRODUCT_DISABLED", "PRODUCT_NOT_IN_WEBSITE", "PRODUCT_NOT_SALABLE"})

# (code, pattern, Magento releases, where the words come from): first match wins, on any line
MESSAGE_PATTERNS: tuple[tuple[str, str, str, str], ...] = (
    ("OUT_OF_STOCK", r"^The requested qty is not available", "2.4.6-2.4.7",
     "InventorySales IsSalableWithReservationsCondition (MSI 1.2.6/1.2.7); CatalogInventory StockStateProvider"),
    ("OUT_OF_STOCK", r"^The requested qty\. is not available", "2.4.8",
     "CatalogInventory StockStateProvider quote message (MSI disabled)"),
    ("OUT_OF_STOCK", r"^Not enough items for sale", "2.4.8",
     "InventorySales IsSalableWithReservationsCondition after LYNX-530"),
    ("OUT_OF_STOCK", r"^Only [0-9.]+ of [0-9.]+ available", "2.4.8",
     "InventorySales IsSalableWithReservationsCondition after LYNX-530, not_available_message = 1"),
    ("OUT_OF_STOCK", r"^There are no source items with the in stock status", "2.4.6-2.4.8",
     "InventorySales IsAnySourceItemInStockCondition"),
    ("OUT_OF_STOCK", r"^The requested sku is not assigned to given stock", "2.4.6-2.4.8",
     "InventorySales IsProductSalableForRequestedQtyConditionChain"),
    ("OUT_OF_STOCK", r"^This product is out of stock", "2.4.6-2.4.8", "CatalogInventory Quote\\Item\\QuantityValidator"),
    ("OUT_OF_STOCK", r"^The product with SKU .+ is out of stock", "2.4.8+", "CatalogInventory StockStateProvider"),
    ("OUT_OF_STOCK", r"^Some of the products are out of stock", "2.4.6-2.4.8",
     "CatalogInventory Quote\\Item\\QuantityValidator"),
    ("OUT_OF_STOCK", r"^Not all of your products are available in the requested quantity", "2.4.6-2.4.8",
     "CatalogInventory StockManagement::registerProductsSale (legacy inventory)"),
    ("OUT_OF_STOCK", r"^We don't have as many .+ as you requested", "<= 2.3", "CatalogInventory StockStateProvider"),
    ("PRODUCT_NOT_SALABLE", r"^Product that you are trying to add is not available", "2.4.6-2.4.8",
     "Quote\\Model\\Quote::addProduct; Quote\\Plugin\\Webapi\\ValidateProductWebsiteAssignment"),
    ("UNKNOWN_SKU", r"^The product that was requested doesn't exist", "2.4.6-2.4.8",
     "Catalog\\Model\\ProductRepository::get"),
)
_COMPILED = tuple((code, re.compile(pattern)) for code, pattern, _v, _s in MESSAGE_PATTERNS)


@dataclass(frozen=True)
class Refusal:
    code: str
    cancel_on_walmart: bool
    text: str  # Magento's words (or the module's reason), for the state row and the dead letter
    retry_after_s: float | None = None  # PLACEMENT_IN_PROGRESS: another call is placing the PO
    line_number: str | None = None
    sku: str | None = None


def classify(message: str, parameters: Any = None) -> Refusal:
    """The module's code when it names one it knows, else Magento's words, else unknown."""
    params = {str(k): str(v) for k, v in parameters.items()} if isinstance(parameters, dict) else {}
    words = params.get("magento_message") or message
    line, sku = params.get("line_number"), params.get("sku")
    code = params.get("code")
    if code and code != "COMMERCE_REFUSED":
        retry = params.get("retry_after")
        cancellable = params.get("walmart_cancellable") == "true" if "walmart_cancellable" in params \
            else code in CANCELLABLE
        return Refusal(code, cancellable, words, float(retry) if retry and retry.isdigit() else None, line, sku)
    for text in words.splitlines():
        for matched, pattern in _COMPILED:
            if pattern.match(text.strip()):
                return Refusal(matched, matched in CANCELLABLE, words, None, line, sku)
    return Refusal(code or "COMMERCE_REFUSED", False, words, None, line, sku)
