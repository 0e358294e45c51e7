r"""A bundle's quantity for Walmart, from its components' salable quantities. Pure.

A bundle has no source items of its own (``IsSourceItemManagementAllowedForProductType``: bundle
is not an is_qty type), so Magento has no salable quantity for it, only a salable yes/no, and
that follows its components: ``Magento\InventoryBundleProduct\Model\GetBundleProductStockStatus``
(magento/inventory) says a bundle is salable when

- its own stock item is in stock (``getIsInStock`` of the bundle's stock item configuration);
- for every option, some selection is salable for its requested quantity, where only enabled
  selections are asked (``Status::STATUS_ENABLED``) and the requested quantity is the selection's
  ``selection_qty``, or, when the buyer may change it (``selection_can_change_qty``), the child's
  minimum sale quantity (``getRequestedQty``);
- a *required* option without a salable selection makes the bundle not salable; an optional one
  does not; and some option must have a salable selection at all (``$isSalable`` starts false).

Walmart needs a count, so this turns that rule into one: how many bundles can be sold, one after
the other, before Magento's rule says no. An option can be filled ``floor(salable / requested)``
times from a selection, and from the option's best selection at most; each required option must be
filled every time, so the bundle's count is the smallest such count over the required options. A
bundle whose options are all optional needs one option filled: the largest count over its options.
The count does not add selections of one option together (a buyer takes one selection per
option, for radio/select options; for checkbox/multi options too the customer may choose one, so
the best single selection is what is certain). Components Magento always sells (Manage Stock = No,
backorders: ``None`` here) do not bound the bundle. Components shared by two required options are
counted per option, as Magento checks them (``AreProductsSalableForRequestedQty`` per selection).

The bundle's price type (fixed or dynamic, the ``price_type`` attribute) and shipment type
(together or separately) change its price and how it ships, not this count: Magento's stock
status check above never reads them.

Example: options "Frame" (required: F1 x1 with 7 salable, F2 x1 with 3) and "Lens" (required:
L1 x2 with 9 salable), "Case" (optional: C1 x1 with 0). Frame can be filled 7 times, Lens
floor(9/2) = 4 times, Case is optional: the bundle's quantity is min(7, 4) = 4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class BundleSelection:
    sku: str
    requested: Decimal      # selection_qty, or the child's min sale qty when the buyer may change it
    enabled: bool = True    # the child's status for the store view


@dataclass(frozen=True)
class BundleOption:
    option_id: int
    required: bool
    selections: tuple[BundleSelection, ...]


@dataclass(frozen=True)
class Bundle:
    sku: str
    in_stock: bool               # the bundle's own stock item
    options: tuple[BundleOption, ...]


def _option_count(option: BundleOption, salable: Mapping[str, int | None]) -> int | None:
    """How many times the option can be filled: its best selection's count (None: unbounded)."""
    best: int | None = 0
    for selection in option.selections:
        if not selection.enabled or selection.requested <= 0:
            continue  # GetBundleProductStockStatus asks enabled selections only; a 0 quantity sells nothing
        available = salable.get(selection.sku, 0)
        if available is None:
            return None  # Magento always sells it: the option never runs out
        count = math.floor(Decimal(available) / selection.requested)
        best = count if best is None else max(best, count)
    return best


def bundle_quantity(bundle: Bundle, salable: Mapping[str, int | None]) -> int | None:
    """How many of ``bundle`` can be sold; ``salable`` is each component SKU's salable quantity
    (None for a component Magento always sells). None: nothing bounds it (every component is
    unlimited); the caller shows ``mapping.unlimited_stock_quantity`` then."""
    if not bundle.in_stock or not bundle.options:
        return 0
    counts = [(option.required, _option_count(option, salable)) for option in bundle.options]
    required = [count for is_required, count in counts if is_required]
    if required:
        bounded = [count for count in required if count is not None]
        return min(bounded) if bounded else None
    if any(count is None for _r, count in counts):
        return None
    return max(count or 0 for _r, count in counts)
