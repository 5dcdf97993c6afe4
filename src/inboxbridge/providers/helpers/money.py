"""Amounts in a currency's smallest unit (as payment providers send them) written for people: ``€42.00``."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["format_amount", "format_decimal"]

# Stripe's lists of currencies whose smallest unit is the whole unit, or a thousandth.
_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
_THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
_SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£", "jpy": "¥", "inr": "₹", "krw": "₩", "ils": "₪", "ngn": "₦"}


def _exponent(currency: str) -> int:
    if currency in _ZERO_DECIMAL:
        return 0
    return 3 if currency in _THREE_DECIMAL else 2


def format_amount(minor_units: int, currency: str) -> str:
    """``4200, "eur"`` → ``"€42.00"``; ``500, "jpy"`` → ``"¥500"``; ``1999, "chf"`` → ``"19.99 CHF"``."""
    code = currency.strip().lower()
    exponent = _exponent(code)
    value = Decimal(minor_units).scaleb(-exponent)
    number = f"{abs(value):,.{exponent}f}"
    sign = "-" if minor_units < 0 else ""
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code.upper()}"


def format_decimal(amount: str, currency: str) -> str:
    """An amount already written in units (``"199.00"``, as Shopify sends it) in the same style."""
    code = currency.strip().lower()
    exponent = _exponent(code)
    value = Decimal(amount).quantize(Decimal(1).scaleb(-exponent))
    return format_amount(int(value.scaleb(exponent)), code)
