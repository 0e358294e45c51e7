"""A bundle's quantity from its components (mappings/bundles.py), each case from the rule of
``Magento\\InventoryBundleProduct\\Model\\GetBundleProductStockStatus`` (magento/inventory): every
required option needs a salable selection, an optional one does not, some option must have one,
disabled selections are not asked, the bundle's own stock item must be in stock."""

from __future__ import annotations

from decimal import Decimal

from mappings.bundles import Bundle, BundleOption, BundleSelection, bundle_quantity


def sel(sku: str, qty: str = "1", enabled: bool = True) -> BundleSelection:
    return BundleSelection(sku, Decimal(qty), enabled)


def bundle(*options: BundleOption, in_stock: bool = True) -> Bundle:
    return Bundle("B", in_stock, options)


FRAME = BundleOption(1, True, (sel("F1"), sel("F2")))
LENS = BundleOption(2, True, (sel("L1", "2"),))
CASE = BundleOption(3, False, (sel("C1"),))


def test_the_docstring_example_min_over_required_options_of_the_best_selection() -> None:
    assert bundle_quantity(bundle(FRAME, LENS, CASE), {"F1": 7, "F2": 3, "L1": 9, "C1": 0}) == 4


def test_an_optional_option_never_bounds_a_bundle_with_required_options() -> None:
    for case in (0, 1, 500):
        assert bundle_quantity(bundle(FRAME, LENS, CASE), {"F1": 7, "L1": 20, "C1": case}) == 7


def test_a_required_option_without_stock_makes_it_zero() -> None:
    assert bundle_quantity(bundle(FRAME, LENS), {"F1": 0, "F2": 0, "L1": 100}) == 0
    assert bundle_quantity(bundle(FRAME, LENS), {"F1": 5, "L1": 1}) == 0  # 1 < the 2 a bundle takes


def test_selection_quantity_divides_and_rounds_down() -> None:
    assert bundle_quantity(bundle(BundleOption(1, True, (sel("X", "3"),))), {"X": 11}) == 3
    assert bundle_quantity(bundle(BundleOption(1, True, (sel("X", "0.5"),))), {"X": 3}) == 6


def test_disabled_selections_are_not_asked() -> None:
    option = BundleOption(1, True, (sel("X", enabled=False), sel("Y")))
    assert bundle_quantity(bundle(option), {"X": 50, "Y": 2}) == 2


def test_all_optional_options_sell_while_any_option_can_be_filled() -> None:
    a, b = BundleOption(1, False, (sel("A"),)), BundleOption(2, False, (sel("B", "3"),))
    assert bundle_quantity(bundle(a, b), {"A": 2, "B": 9}) == 3
    assert bundle_quantity(bundle(a, b), {"A": 0, "B": 2}) == 0


def test_out_of_stock_bundle_or_no_options_is_zero() -> None:
    assert bundle_quantity(bundle(FRAME, in_stock=False), {"F1": 9}) == 0
    assert bundle_quantity(bundle(), {}) == 0
    assert bundle_quantity(bundle(BundleOption(1, True, ())), {}) == 0  # an option with nothing to choose


def test_components_magento_always_sells_do_not_bound_it() -> None:
    assert bundle_quantity(bundle(FRAME, LENS), {"F1": None, "L1": 9}) == 4
    assert bundle_quantity(bundle(FRAME, LENS), {"F1": None, "L1": None}) is None
