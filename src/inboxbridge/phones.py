"""Phone numbers in one form: E.164 (``+14155550123``), so the same customer always has the same key."""

from __future__ import annotations

import phonenumbers

__all__ = ["normalize_phone", "normalize_region", "region_of"]


def normalize_region(region: str | None) -> str | None:
    """An ISO 3166 country code as phonenumbers wants it (``"us"`` → ``"US"``); ``ValueError`` if unknown."""
    if region is None:
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{region!r} is not a country code phone numbers are known for (such as US, GB, DE)")
    return code


def normalize_phone(raw: str, region: str | None = None) -> str:
    """``raw`` in E.164. A number without ``+`` and country code is read as a number of ``region``.

    Raises ``ValueError`` with a sentence naming the problem when ``raw`` is not a possible phone number.
    Possible rather than valid: numbering plans change faster than the library's metadata, and a number a
    provider really delivered from is a better witness than a table of ranges.
    """
    text = raw.strip()
    if not text:
        raise ValueError("the phone number is empty")
    try:
        parsed = phonenumbers.parse(text, normalize_region(region))
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE and region is None:
            raise ValueError(
                f"{text!r} has no country code: write it as +<country code><number>, or set a default region"
            ) from None
        raise ValueError(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"{text!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    """The country (ISO 3166 alpha-2) a number in E.164 belongs to, as Wix wants it in a phone's ``countryCode``;
    None when the number names no single country (a non-geographic or unknown number)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and region != "001" else None
