"""HMAC signature checks shared by sources. Every comparison is constant-time; no message reveals a secret or
the signature we expected."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import SecretStr

from inboxbridge.sources.base import SignatureError

__all__ = [
    "STANDARD_WEBHOOKS_TOLERANCE",
    "SignatureEncoding",
    "decode_standard_webhooks_secret",
    "verify_hmac_sha256",
    "verify_standard_webhooks",
]

SignatureEncoding = Literal["hex", "base64"]

STANDARD_WEBHOOKS_TOLERANCE = timedelta(minutes=5)
"""How far ``webhook-timestamp`` may be from our clock, either way, before a request counts as replayed."""

_WHSEC_PREFIX = "whsec_"


def _decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional; raises ``ValueError`` on anything else."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except ValueError as error:
        raise ValueError("not base64") from error


def verify_hmac_sha256(
    body: bytes,
    signature: str | None,
    secret: SecretStr,
    *,
    header: str,
    encoding: SignatureEncoding = "hex",
    prefix: str = "",
) -> None:
    """Check a provider's HMAC-SHA256 of the raw body, sent in one header.

    ``signature`` is that header's value (``None`` when absent), ``header`` its name for messages. The value
    may start with ``prefix`` (e.g. ``sha256=``); the rest is the digest in ``encoding``.
    """
    if signature is None or not signature.strip():
        raise SignatureError(f"the {header} header is missing: the request is not signed")
    value = signature.strip()
    if prefix:
        if not value.startswith(prefix):
            raise SignatureError(f'the {header} header does not start with "{prefix}"')
        value = value[len(prefix) :]
    try:
        given = bytes.fromhex(value) if encoding == "hex" else _decode_base64(value)
    except ValueError:
        raise SignatureError(f"the {header} header is not a {encoding} HMAC-SHA256 signature") from None
    expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        raise SignatureError(f"the {header} header does not match the body: wrong secret or altered body")


def decode_standard_webhooks_secret(secret: SecretStr) -> bytes:
    """The HMAC key in a Standard Webhooks secret (``whsec_`` followed by base64; the prefix is optional).

    Raises ``ValueError`` with a message that does not repeat the secret.
    """
    text = secret.get_secret_value().strip()
    if text.startswith(_WHSEC_PREFIX):
        text = text[len(_WHSEC_PREFIX) :]
    try:
        key = _decode_base64(text)
    except ValueError:
        key = b""
    if not key:
        raise ValueError('not a Standard Webhooks secret: expected "whsec_" followed by base64')
    return key


def _signatures(header_value: str) -> list[bytes]:
    """The decodable ``v1`` signatures in a ``webhook-signature`` value; other versions and junk are skipped.

    Entries are separated by single spaces, as the scheme writes them.
    """
    found: list[bytes] = []
    for entry in header_value.split(" "):
        version, comma, encoded = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            decoded = _decode_base64(encoded)
        except ValueError:
            continue
        if decoded:
            found.append(decoded)
    return found


def verify_standard_webhooks(
    headers: Mapping[str, str],
    body: bytes,
    key: bytes,
    *,
    now: datetime,
    tolerance: timedelta = STANDARD_WEBHOOKS_TOLERANCE,
) -> None:
    """Check a request signed by the Standard Webhooks scheme.

    ``headers`` has lower-cased names; ``key`` comes from :func:`decode_standard_webhooks_secret`. The signed
    content is ``{webhook-id}.{webhook-timestamp}.{body}``; any one matching ``v1`` signature is enough.
    """
    values: dict[str, str] = {}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        value = headers.get(name, "").strip()
        if not value:
            raise SignatureError(f"the {name} header is missing: the request is not signed")
        values[name] = value
    stamp = values["webhook-timestamp"]
    # Eleven digits reach the year 5138: anything longer is garbage, not a time.
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 11:
        raise SignatureError("the webhook-timestamp header is not a unix time in seconds")
    seconds = int(stamp)
    sent_at = datetime.fromtimestamp(seconds, tz=UTC)
    if sent_at < now - tolerance:
        raise SignatureError(
            f"the webhook-timestamp header is more than {_minutes(tolerance)} old: "
            "a delayed or replayed request"
        )
    if sent_at > now + tolerance:
        raise SignatureError(
            f"the webhook-timestamp header is more than {_minutes(tolerance)} in the future: check the clocks"
        )
    signed = f"{values['webhook-id']}.{seconds}.".encode("utf-8", "surrogatepass") + body
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    candidates = _signatures(values["webhook-signature"])
    if not candidates:
        raise SignatureError('the webhook-signature header has no "v1,<base64>" signature')
    # Every candidate is compared, so the time taken does not tell which one was close.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError(
            "no signature in the webhook-signature header matches the body: wrong secret or altered body"
        )


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
