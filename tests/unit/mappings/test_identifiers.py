"""Identifier rules against published real-world codes."""

from __future__ import annotations

import pytest

from mappings.identifiers import (
    InvalidIdentifier,
    gtin_check_digit,
    normalize_identifier,
    to_gtin14,
    with_check_digit,
)


@pytest.mark.parametrize(("kind", "raw", "normal"), [
    ("upc", "036000291452", "036000291452"),          # GS1's own UPC-A example
    ("upc", "0 36000 29145 2", "036000291452"),
    ("ean", "4006381333931", "4006381333931"),
    ("gtin", "00036000291452", "00036000291452"),
    ("gtin", "036000291452", "036000291452"),
    ("isbn", "0-306-40615-2", "0306406152"),
    ("isbn", "978-0-306-40615-7", "9780306406157"),
    ("isbn", "080442957X", "080442957X"),
])
def test_valid_identifiers_normalise(kind, raw, normal) -> None:
    assert normalize_identifier(kind, raw) == normal


@pytest.mark.parametrize(("kind", "raw", "reason"), [
    ("upc", "036000291453", "check digit is 3, expected 2"),
    ("upc", "36000291452", "has 11 digits, expected 12"),
    ("ean", "40063813339AB", "must contain digits only"),
    ("isbn", "0306406153", "check digit is 3, expected 2"),
    ("isbn", "1230306406157", "ISBN-13 must start with 978 or 979"),
    ("gtin", "", "is empty"),
])
def test_invalid_identifiers_say_why(kind, raw, reason) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_identifier(kind, raw)
    assert caught.value.reason == reason


def test_check_digit_helpers() -> None:
    assert gtin_check_digit("03600029145") == 2
    assert with_check_digit("400638133393") == "4006381333931"
    assert to_gtin14("036000291452") == "00036000291452"
