"""Product identifiers as Walmart accepts them in a setup-by-match feed, and its catalogue key.

Lengths from ../shared/reference/walmart-api-notes.md section 8 ("UPC 12 digits, GTIN 14, EAN 13,
ISBN 10/13") and the items spec's productId description ("UPCs must be 12 or 14 digits in length.
EANs must be 13 digits in length"; where notes and specs differ the specs win, so a UPC may also
have 14 digits). Check digits are GS1's mod-10 (GS1 General Specifications 7.9) for UPC, EAN,
GTIN and ISBN-13, and ISBN-10's mod-11 with X for ten (ISO 2108); an ISBN-13 is an EAN-13 in the
978/979 "Bookland" prefixes. Walmart keys its catalogue by GTIN-14: shorter GS1 codes are
left-padded with zeros, an ISBN-10 becomes its 978 ISBN-13 first. The emulator judges the
client's productIds with these, so they take the digits as sent: no separators are stripped.
"""

from __future__ import annotations

DIGITS: dict[str, tuple[int, ...]] = {"UPC": (12, 14), "EAN": (13,), "GTIN": (14,), "ISBN": (10, 13)}


class IdentifierRejected(ValueError):
    """Walmart would refuse this productId; ``reason`` says why (it goes into the feed's item error)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def gs1_check_digit(body: str) -> str:
    """The digit GS1 appends: weights 3, 1, 3... from the rightmost digit of the body."""
    weighted = sum(int(digit) * (3 if position % 2 == 0 else 1)
                   for position, digit in enumerate(reversed(body)))
    return str(-weighted % 10)


def isbn10_check_char(body: str) -> str:
    """ISBN-10's check character for its first nine digits: weights 10..2, mod 11, X for 10."""
    remainder = -sum(int(digit) * weight for digit, weight in zip(body, range(10, 1, -1))) % 11
    return "X" if remainder == 10 else str(remainder)


def isbn13_from_isbn10(isbn10: str) -> str:
    body = "978" + isbn10[:9]
    return body + gs1_check_digit(body)


def check_product_id(id_type: str, product_id: str) -> str:
    """``product_id`` if Walmart accepts it as ``id_type`` (UPC, EAN, GTIN, ISBN), else raise."""
    kind = id_type.upper()
    if kind not in DIGITS:
        raise IdentifierRejected(f"productIdType {id_type!r} is not one of {', '.join(DIGITS)}")
    value = product_id
    lengths = " or ".join(str(n) for n in DIGITS[kind])
    if len(value) not in DIGITS[kind]:
        raise IdentifierRejected(f"{kind} {value!r} has {len(value)} characters, Walmart takes {lengths} digits")
    if kind == "ISBN" and len(value) == 10:
        if not (value[:9].isdigit() and (value[9].isdigit() or value[9] == "X")):
            raise IdentifierRejected(f"ISBN-10 {value!r} must be nine digits and a digit or X")
        if value[9] != isbn10_check_char(value[:9]):
            raise IdentifierRejected(f"ISBN-10 {value!r} has check character {value[9]}, "
                                     f"expected {isbn10_check_char(value[:9])}")
        return value
    if not value.isdigit():
        raise IdentifierRejected(f"{kind} {value!r} must be digits only")
    if kind == "ISBN" and value[:3] not in ("978", "979"):
        raise IdentifierRejected(f"ISBN-13 {value!r} must start with 978 or 979")
    if value[-1] != gs1_check_digit(value[:-1]):
        raise IdentifierRejected(f"{kind} {value!r} has check digit {value[-1]}, "
                                 f"expected {gs1_check_digit(value[:-1])}")
    return value


def catalogue_key(id_type: str, product_id: str) -> str:
    """The GTIN-14 Walmart's catalogue files an accepted productId under."""
    if id_type.upper() == "ISBN" and len(product_id) == 10:
        product_id = isbn13_from_isbn10(product_id)
    return product_id.zfill(14)


def with_gs1_check_digit(body: str) -> str:
    """A valid GS1 code from its body: the seed builds its identifiers with this."""
    return body + gs1_check_digit(body)
