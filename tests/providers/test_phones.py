"""Phone numbers normalize to E.164 with the phonenumbers library."""

from __future__ import annotations

import re

import pytest

from inboxbridge.phones import normalize_phone, normalize_region


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 (415) 555-0123", None, "+14155550123"),
        ("+14155550123", "GB", "+14155550123"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("0151 12345678", "de", "+4915112345678"),
        ("(415) 555-0123", "US", "+14155550123"),
        ("00 44 20 7946 0018", "DE", "+442079460018"),
    ],
)
def test_numbers_become_e164(raw: str, region: str | None, e164: str) -> None:
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("415 555 0123", None, "has no country code: write it as +<country code><number>, or set a default region"),
        ("call me", "US", "is not a phone number"),
        ("+1 23", None, "is not a possible phone number"),
        ("  ", None, "the phone number is empty"),
    ],
)
def test_unreadable_numbers_say_why(raw: str, region: str | None, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        normalize_phone(raw, region)


def test_regions() -> None:
    assert normalize_region(" us ") == "US"
    assert normalize_region(None) is None
    with pytest.raises(ValueError, match="'XX' is not a country code"):
        normalize_region("XX")
