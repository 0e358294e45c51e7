"""Product identifier rules: UPC, EAN, GTIN and ISBN normalisation and check digits.

Walmart matches listings by these ids and rejects a bad one only asynchronously, in a feed
report hours later; checking here turns that into an immediate, explained error state.
"""

from __future__ import annotations

import re
from typing import Literal

IdentifierType = Literal["upc", "ean", "gtin", "isbn"]

LENGTHS: dict[str, tuple[int, ...]] = {
    "upc": (12,),
    "ean": (13,),
    "gtin": (8, 12, 13, 14),
    "isbn": (10, 13),
}
_SEPARATORS = re.compile(r"[\s\-]")


class InvalidIdentifier(ValueError):
    """The identifier cannot be sent to Walmart; ``reason`` says why in words a merchant reads."""

    def __init__(self, kind: str, value: str, reason: str):
        self.kind, self.value, self.reason = kind, value, reason
        super().__init__(f"{kind.upper()} {value!r}: {reason}")


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit for the digits before it (any GTIN length)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def isbn10_check_char(body: str) -> str:
    total = sum(int(d) * (10 - i) for i, d in enumerate(body))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def with_check_digit(body: str) -> str:
    """Append the GS1 check digit: ``with_check_digit("03600029145")`` -> ``"036000291452"``."""
    return body + str(gtin_check_digit(body))


def normalize_identifier(kind: IdentifierType, raw: str) -> str:
    """Strip separators and validate length and check digit; raise ``InvalidIdentifier``."""
    if kind not in LENGTHS:
        raise InvalidIdentifier(kind, raw, f"unknown identifier type (use one of {sorted(LENGTHS)})")
    value = _SEPARATORS.sub("", raw or "").upper()
    if not value:
        raise InvalidIdentifier(kind, raw, "is empty")
    if kind == "isbn" and len(value) == 10:
        if not re.fullmatch(r"\d{9}[\dX]", value):
            raise InvalidIdentifier(kind, raw, "ISBN-10 must be 9 digits and a digit or X")
        expected = isbn10_check_char(value[:9])
        if value[9] != expected:
            raise InvalidIdentifier(kind, raw, f"check digit is {value[9]}, expected {expected}")
        return value
    if not value.isdigit():
        raise InvalidIdentifier(kind, raw, "must contain digits only")
    if len(value) not in LENGTHS[kind]:
        lengths = " or ".join(map(str, LENGTHS[kind]))
        raise InvalidIdentifier(kind, raw, f"has {len(value)} digits, expected {lengths}")
    if kind == "isbn" and not value.startswith(("978", "979")):
        raise InvalidIdentifier(kind, raw, "ISBN-13 must start with 978 or 979")
    expected_digit = gtin_check_digit(value[:-1])
    if int(value[-1]) != expected_digit:
        raise InvalidIdentifier(kind, raw, f"check digit is {value[-1]}, expected {expected_digit}")
    return value


def to_gtin14(code: str) -> str:
    """Left-pad any valid GTIN-8/12/13 to the 14 digits Walmart's catalogue keys on."""
    return code.zfill(14)
