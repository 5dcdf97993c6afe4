"""Hiding secrets in what the admin API and dashboard show: payload fields and headers named like secrets, the
query parameters sources read their token from, ``user:password@`` in URLs and credentials in header values.

Masking happens when a request is shown, not when it is stored, so rows kept before a rule was added are hidden
too, and a quarantined request can still be parsed again as it arrived.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "mask", "mask_headers", "mask_url"]

MASK = "***"
# Matched against a key with '-' and '_' removed, lower case: "api_key", "X-Api-Key", "apiKey" all hit.
_SECRET_KEY = re.compile(
    r"secret|token|password|passwd|apikey|authorization|signature|cookie|credential|privatekey|cvv|cvc|cardnumber"
)
# A header value that is itself a credential, whatever the header is called ("X-Forwarded-Auth: Basic ...").
_CREDENTIAL_VALUE = re.compile(r"\s*(basic|bearer|digest|token|negotiate)\s+\S", re.IGNORECASE)


def _is_secret(key: str) -> bool:
    return bool(_SECRET_KEY.search(key.replace("-", "").replace("_", "").lower()))


def _mask_userinfo(netloc: str) -> str:
    userinfo, at, host = netloc.rpartition("@")
    if not at:
        return netloc
    return f"{MASK}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"


def mask_url(url: str, parameters: Collection[str] = ()) -> str:
    """``url`` with its credentials replaced by ``***``: the values of secret-looking query parameters (``token``,
    Crisp's ``key``), of ``parameters`` (those sources are configured to read their token from, whatever their
    name), and the ``user:password@`` part. Returned unchanged when it holds none; ``***`` when it cannot be
    parsed, since what it hides cannot be told."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    named = {"key", *(name.lower() for name in parameters)}
    netloc = _mask_userinfo(parts.netloc)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        masked = [(k, MASK if _is_secret(k) or k.lower() in named else v) for k, v in pairs]
        if masked != pairs:
            query = urlencode(masked, safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def mask_headers(headers: Mapping[str, Any], parameters: Collection[str] = ()) -> dict[str, Any]:
    """A copy of ``headers`` for display: secret-looking headers masked, and in the others a value that is a
    credential (``Basic ...``, ``Bearer ...``) or holds one in a URL (a proxy's ``X-Original-URL``, a
    ``Referer`` with the source's token; ``parameters`` as for :func:`mask_url`)."""
    shown: dict[str, Any] = {}
    for name, value in headers.items():
        if _is_secret(name) or (isinstance(value, str) and _CREDENTIAL_VALUE.match(value)):
            shown[name] = MASK
        elif isinstance(value, str):
            shown[name] = mask_url(value, parameters)
        else:
            shown[name] = mask(value)
    return shown


def mask(value: Any) -> Any:
    """A copy of ``value`` (JSON-like) with the values of secret-looking keys replaced by ``***``."""
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _is_secret(k) else mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(item) for item in value]
    return value
