"""Magento's refusals as the importer reads them (sync_workers/commerce/refusals.py): the module's
code first, Magento's words of 2.4.6-2.4.8 otherwise, kept equal to the module's own table in
commerce-module/contract.json (magento_messages.message_patterns)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync_workers.commerce.refusals import CANCELLABLE, MESSAGE_PATTERNS, classify

CONTRACT = json.loads((Path(__file__).resolve().parents[4] / "commerce-module" / "contract.json").read_text())


def test_the_wordings_are_the_modules_table_in_the_same_order_for_the_codes_the_importer_acts_on() -> None:
    acted_on = {code for code, *_ in MESSAGE_PATTERNS}
    theirs = [(p["code"], p["pattern"]) for p in CONTRACT["magento_messages"]["message_patterns"]
              if p["code"] in acted_on]
    assert [(code, pattern) for code, pattern, *_ in MESSAGE_PATTERNS] == theirs


def test_cancellable_codes_are_the_modules() -> None:
    assert CANCELLABLE == {code for code, spec in CONTRACT["refusal_codes"].items() if spec["walmart_cancellable"]}


@pytest.mark.parametrize(("text", "code"), [
    ("The requested qty is not available", "OUT_OF_STOCK"),          # 2.4.6 / 2.4.7 (MSI 1.2.6 / 1.2.7)
    ("Not enough items for sale", "OUT_OF_STOCK"),                  # 2.4.8, IsSalableWithReservationsCondition
    ("Only 1 of 3 available", "OUT_OF_STOCK"),                      # 2.4.8, not_available_message = 1
    ("There are no source items with the in stock status", "OUT_OF_STOCK"),
    ("Product that you are trying to add is not available.", "PRODUCT_NOT_SALABLE"),
    ("Something else\nThis product is out of stock.", "OUT_OF_STOCK"),  # Quote::addProduct() joins with newlines
])
def test_magento_words_of_each_release_cancel_on_walmart(text: str, code: str) -> None:
    refusal = classify(text)
    assert (refusal.code, refusal.cancel_on_walmart, refusal.text) == (code, True, text)


def test_the_modules_code_wins_over_the_words_and_unknown_words_are_not_cancelled() -> None:
    params = {"code": "QTY_NOT_ALLOWED", "walmart_cancellable": "false", "magento_message": "Not enough items for sale",
              "line_number": "2", "sku": "S"}
    refusal = classify("Walmart purchase order 1 was not placed", params)
    assert (refusal.code, refusal.cancel_on_walmart, refusal.line_number, refusal.sku) == ("QTY_NOT_ALLOWED", False,
                                                                                           "2", "S")
    unclassified = classify("x", {"code": "COMMERCE_REFUSED", "magento_message": "Only 2 of 5 available"})
    assert (unclassified.code, unclassified.cancel_on_walmart) == ("OUT_OF_STOCK", True)
    unknown = classify("x", {"code": "COMMERCE_REFUSED", "magento_message": "The moon is in the wrong phase."})
    assert (unknown.code, unknown.cancel_on_walmart, unknown.text) == ("COMMERCE_REFUSED", False,
                                                                       "The moon is in the wrong phase.")
    busy = classify("x", {"code": "PLACEMENT_IN_PROGRESS", "retriable": "true", "retry_after": "540"})
    assert busy.retry_after_s == 540.0
