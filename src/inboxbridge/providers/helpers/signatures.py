"""HMAC signature checks shared by providers. Every comparison is constant-time; no message reveals a secret or
the signature we expected.

Three schemes are here: an HMAC of the raw body in one header (generic, Shopify, Intercom), Standard Webhooks
(generic), and the ``t=<unix time>,v1=<hex>`` header of Stripe and Calendly. Both of the latter sign a timestamp
with the body, and a timestamp further from our clock than a tolerance is refused as a replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import SecretStr

from inboxbridge.providers.base import SignatureError, WebhookRequest

__all__ = [
    "STANDARD_WEBHOOKS_TOLERANCE",
    "HmacAlgorithm",
    "SignatureEncoding",
    "decode_standard_webhooks_secret",
    "digest_in",
    "unix_stamp",
    "verify_hmac",
    "verify_standard_webhooks",
    "verify_timestamped_signature",
]

SignatureEncoding = Literal["hex", "base64"]
HmacAlgorithm = Literal["sha256", "sha1"]

STANDARD_WEBHOOKS_TOLERANCE = timedelta(minutes=5)
"""How far ``webhook-timestamp`` may be from our clock, either way, before a request counts as replayed."""

_WHSEC_PREFIX = "whsec_"


def digest_in(given: bytes, candidates: Iterable[bytes]) -> bool:
    """Whether ``given`` equals one of ``candidates``.

    Every candidate is compared, in constant time, so the time taken does not tell which one was close.
    """
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(candidate, given)
    return matched


def unix_stamp(text: str) -> datetime | None:
    """A unix time in seconds written in ASCII digits, as an aware time; ``None`` for anything else.

    Eleven digits reach the year 5138: anything longer is garbage, not a time.
    """
    if not text.isascii() or not text.isdigit() or len(text) > 11:
        return None
    return datetime.fromtimestamp(int(text), tz=UTC)


def _decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional; raises ``ValueError`` on anything else."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except ValueError as error:
        raise ValueError("not base64") from error


def verify_hmac(
    body: bytes,
    signature: str | None,
    secret: SecretStr,
    *,
    header: str,
    encoding: SignatureEncoding = "hex",
    prefix: str = "",
    algorithm: HmacAlgorithm = "sha256",
) -> None:
    """Check a provider's HMAC of the raw body, sent in one header.

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
        raise SignatureError(f"the {header} header is not a {encoding} HMAC-{algorithm.upper()} signature") from None
    expected = hmac.new(secret.get_secret_value().encode(), body, algorithm).digest()
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
    sent_at = unix_stamp(values["webhook-timestamp"])
    if sent_at is None:
        raise SignatureError("the webhook-timestamp header is not a unix time in seconds")
    if sent_at < now - tolerance:
        raise SignatureError(
            f"the webhook-timestamp header is more than {_minutes(tolerance)} old: "
            "a delayed or replayed request"
        )
    if sent_at > now + tolerance:
        raise SignatureError(
            f"the webhook-timestamp header is more than {_minutes(tolerance)} in the future: check the clocks"
        )
    seconds = int(values["webhook-timestamp"])
    signed = f"{values['webhook-id']}.{seconds}.".encode("utf-8", "surrogatepass") + body
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    candidates = _signatures(values["webhook-signature"])
    if not candidates:
        raise SignatureError('the webhook-signature header has no "v1,<base64>" signature')
    if not digest_in(expected, candidates):
        raise SignatureError(
            "no signature in the webhook-signature header matches the body: wrong secret or altered body"
        )


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")


def verify_timestamped_signature(
    request: WebhookRequest, secret: SecretStr, *, header: str, now: datetime, tolerance_seconds: float
) -> None:
    """Check the ``t=...,v1=...`` header named ``header`` (as providers write it) against the raw body.

    The signed content is ``{t}.{raw body}``, keyed with ``secret`` as it is written (Stripe's ``whsec_`` prefix
    included); the digest is hex. Stripe may send several ``v1`` entries while a secret is being rolled: one match
    is enough.
    """
    value = request.headers.get(header.lower())
    if value is None or not value.strip():
        raise SignatureError(f"the {header} header is missing: the request is not signed")
    stamp: str | None = None
    candidates: list[bytes] = []
    for item in value.split(","):
        name, equals, content = item.strip().partition("=")
        if not equals:
            continue
        if name == "t" and stamp is None:
            stamp = content.strip()
        elif name == "v1":
            try:
                candidates.append(bytes.fromhex(content.strip()))
            except ValueError:
                continue
    sent_at = unix_stamp(stamp) if stamp is not None else None
    if stamp is None or sent_at is None:
        raise SignatureError(f'the {header} header has no "t=<unix time>" timestamp')
    if not candidates:
        raise SignatureError(f'the {header} header has no "v1=<hex>" signature')
    tolerance = timedelta(seconds=tolerance_seconds)
    if sent_at < now - tolerance:
        raise SignatureError(
            f"the {header} timestamp is more than {tolerance.total_seconds():g} seconds old: "
            "a delayed or replayed request"
        )
    if sent_at > now + tolerance:
        raise SignatureError(f"the {header} timestamp is more than {tolerance.total_seconds():g} seconds ahead")
    key = secret.get_secret_value().strip().encode()
    expected = hmac.new(key, stamp.encode() + b"." + request.body, hashlib.sha256).digest()
    if not digest_in(expected, candidates):
        raise SignatureError(f"no v1 signature in the {header} header matches the body: wrong secret or altered body")
