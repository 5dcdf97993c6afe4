"""The ``t=<unix time>,v1=<hex>`` signature header of Stripe and Calendly.

Both sign ``{t}.{raw body}`` with HMAC-SHA256 and send the hex digest as ``v1`` (Stripe may send several ``v1``
entries while a secret is being rolled; one match is enough). A timestamp older than the tolerance is refused as
a replay.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from inboxbridge.sources.base import SignatureError

__all__ = ["verify_timestamped_signature"]


def verify_timestamped_signature(
    value: str | None,
    body: bytes,
    key: bytes,
    *,
    header: str,
    now: datetime,
    tolerance: timedelta,
) -> None:
    """Check a ``t=...,v1=...`` header value (``None`` when absent) against ``body``, keyed with ``key``."""
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
    if stamp is None or not stamp.isascii() or not stamp.isdigit() or len(stamp) > 11:
        raise SignatureError(f'the {header} header has no "t=<unix time>" timestamp')
    if not candidates:
        raise SignatureError(f'the {header} header has no "v1=<hex>" signature')
    sent_at = datetime.fromtimestamp(int(stamp), tz=UTC)
    if sent_at < now - tolerance:
        raise SignatureError(
            f"the {header} timestamp is more than {tolerance.total_seconds():g} seconds old: "
            "a delayed or replayed request"
        )
    if sent_at > now + tolerance:
        raise SignatureError(f"the {header} timestamp is more than {tolerance.total_seconds():g} seconds ahead")
    expected = hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).digest()
    matched = False
    # Every candidate is compared, so the time taken does not tell which one was close.
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError(f"no v1 signature in the {header} header matches the body: wrong secret or altered body")
