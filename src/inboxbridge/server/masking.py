"""Hiding secrets in what the admin API and dashboard show: payload fields and headers named like secrets."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "mask", "mask_url"]

MASK = "***"
# Matched against a key with '-' and '_' removed, lower case: "api_key", "X-Api-Key", "apiKey" all hit.
_SECRET_KEY = re.compile(
    r"secret|token|password|passwd|apikey|authorization|signature|cookie|credential|privatekey|cvv|cvc|cardnumber"
)


def _is_secret(key: str) -> bool:
    return bool(_SECRET_KEY.search(key.replace("-", "").replace("_", "").lower()))


def mask_url(url: str) -> str:
    """``url`` with the values of secret-looking query parameters replaced by ``***``: providers that sign
    nothing prove themselves with a token in the URL (``?token=``, Crisp's ``?key=``)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    masked = [(k, MASK if _is_secret(k) or k.lower() == "key" else v) for k, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(masked, safe="*")))


def mask(value: Any) -> Any:
    """A copy of ``value`` (JSON-like) with the values of secret-looking keys replaced by ``***``."""
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _is_secret(k) else mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(item) for item in value]
    return value
