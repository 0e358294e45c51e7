"""Walmart's identifier and carrier rules as the emulator holds them (devstack/oracles)."""

from __future__ import annotations

import pytest

from devstack.oracles.carriers import walmart_carriers
from devstack.oracles.identifiers import IdentifierRejected, catalogue_key, check_product_id
from devstack.seed import identifiers_for
from mappings.carriers import WALMART_CARRIERS
from mappings.identifiers import normalize_identifier


@pytest.mark.parametrize(("id_type", "product_id", "key"), [
    ("UPC", "036000291452", "00036000291452"),
    ("UPC", "00036000291452", "00036000291452"),       # the items spec: UPCs of 12 or 14 digits
    ("EAN", "4006381333931", "04006381333931"),
    ("GTIN", "00036000291452", "00036000291452"),
    ("ISBN", "0306406152", "09780306406157"),
    ("ISBN", "080442957X", "09780804429573"),
    ("ISBN", "9780306406157", "09780306406157"),
])
def test_accepted_ids_and_their_catalogue_key(id_type: str, product_id: str, key: str) -> None:
    assert catalogue_key(id_type, check_product_id(id_type, product_id)) == key


@pytest.mark.parametrize(("id_type", "product_id", "why"), [
    ("UPC", "036000291453", "check digit 3, expected 2"),
    ("UPC", "036-000-291452", "digits only"),           # sent as is: no separators
    ("GTIN", "4006381333931", "Walmart takes 14 digits"),  # a GTIN is 14 digits (notes section 8)
    ("EAN", "036000291452", "Walmart takes 13 digits"),
    ("ISBN", "1234567890123", "must start with 978 or 979"),
    ("ISBN", "0306406153", "check character 3, expected 2"),
    ("ASIN", "B000000000", "not one of"),
])
def test_refused_ids_say_why(id_type: str, product_id: str, why: str) -> None:
    with pytest.raises(IdentifierRejected, match=why):
        check_product_id(id_type, product_id)


def test_the_seeds_identifiers_pass_both_rule_sets() -> None:
    for index in range(1, 200):
        for kind, value in identifiers_for(index).items():
            assert check_product_id(kind, value) == normalize_identifier(kind, value)  # type: ignore[arg-type]


def test_carriers_are_walmarts_enum_and_the_sidecar_agrees() -> None:
    carriers = walmart_carriers()
    assert {"UPS", "USPS", "FedEx", "DHL Ecommerce - US", "Royal Mail"} <= carriers and len(carriers) == 75
    assert carriers == WALMART_CARRIERS
