"""What the benchmarks send: customers known to the sandbox and signed chat webhooks, each a new event."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SECRET = "bench-chat-secret"
TENANT = "bench"
SOURCE = "chat"
TEXT_PREFIX = "bench #"
# A realistic chat message: the Inbox text plus the provider's usual envelope (~500 bytes signed).
_FILLER = "Hello, I ordered the blue one last week and wanted to check when it ships. Thanks!"


def email(customer: int) -> str:
    """The email of customer number ``customer``."""
    return f"customer{customer:05d}@bench.example"


def contact_id(site: str, customer: int) -> str:
    """A stable contact id, so a store and a sandbox generated apart agree on it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}/{customer}"))


def contact_seeds(site: str, customers: int) -> list[dict[str, Any]]:
    """Sandbox seed contacts (Wix wire shape) for customers ``0 .. customers-1``."""
    return [
        {
            "id": contact_id(site, n),
            "info": {
                "name": {"first": "Customer", "last": f"{n:05d}"},
                "emails": {"items": [{"tag": "MAIN", "email": email(n)}]},
            },
        }
        for n in range(customers)
    ]


def sign(body: bytes, secret: str = SECRET) -> str:
    """The hex HMAC-SHA256 the chat source checks in ``x-signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def chat_body(number: int, customers: int, run: str) -> bytes:
    """Webhook number ``number`` of a run: a new event id, customers taken in turn, the number in its text."""
    customer = number % customers
    return orjson.dumps(
        {
            "id": f"{run}-{number}",
            "type": "message.created",
            "at": "2026-11-26T10:00:00.000000Z",
            "customer": {"email": email(customer), "name": f"Customer {customer:05d}", "locale": "en-US"},
            "author": "customer",
            "text": f"{TEXT_PREFIX}{number} {_FILLER}",
            "conversation": {"id": f"chat-{customer}", "channel": "web", "page": "https://shop.example/checkout"},
        }
    )


def number_of(text: str) -> int | None:
    """The webhook number a delivered message's text carries, if it is one of ours."""
    if not text.startswith(TEXT_PREFIX):
        return None
    head = text[len(TEXT_PREFIX) :].split(" ", 1)[0]
    return int(head) if head.isdigit() else None


@dataclass(frozen=True)
class Batch:
    """A file of signed webhooks: one ``<signature>\\t<body>`` line each, numbered ``first ..``."""

    path: Path
    first: int
    count: int


def write_batch(path: Path, first: int, count: int, customers: int, run: str) -> Batch:
    """Pre-sign ``count`` webhooks so the load generator spends nothing on them."""
    with path.open("wb") as out:
        for number in range(first, first + count):
            body = chat_body(number, customers, run)
            out.write(sign(body).encode() + b"\t" + body + b"\n")
    return Batch(path, first, count)


def service_source_toml() -> list[str]:
    """The chat source of the bench tenant, as TOML lines (the same mapping the end-to-end tests use)."""
    return [
        f"[tenants.{TENANT}.sources.{SOURCE}]",
        'type = "generic"',
        f'secret = "{SECRET}"',
        f"[tenants.{TENANT}.sources.{SOURCE}.mapping]",
        'event_id = "id"',
        'occurred_at = "at"',
        'email = "customer.email"',
        'name = "customer.name"',
        'text = "text"',
        'direction = "author"',
        'direction_map = { customer = "inbound", agent = "outbound" }',
        'default_channel = "Chat"',
    ]
