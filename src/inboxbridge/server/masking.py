"""Hiding secrets in what the admin API and dashboard show: payload fields and headers named like secrets."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MASK", "mask"]

MASK = "***"
# Matched against a key with '-' and '_' removed, lower case: "api_key", "X-Api-Key", "apiKey" all hit.
_SECRET_KEY = re.compile(
    r"secret|token|password|passwd|apikey|authorization|signature|cookie|credential|privatekey|cvv|cvc|cardnumber"
)


def _is_secret(key: str) -> bool:
    return bool(_SECRET_KEY.search(key.replace("-", "").replace("_", "").lower()))


def mask(value: Any) -> Any:
    """A copy of ``value`` (JSON-like) with the values of secret-looking keys replaced by ``***``."""
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _is_secret(k) else mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(item) for item in value]
    return value
