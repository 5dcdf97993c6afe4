"""The stored id cache's SQL: contact and conversation ids remembered for a while (expired rows read as missing)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import orjson
from sqlalchemy import bindparam, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxbridge.store.dialect import upsert
from inboxbridge.store.models import CachedIds
from inboxbridge.store.schema import contact_cache, conversation_cache

__all__ = [
    "drop_contacts",
    "drop_conversations",
    "expiry",
    "get_contacts",
    "get_conversation",
    "get_many",
    "prune_expired",
    "put_contacts",
    "put_conversation",
]


async def get_contacts(conn: AsyncConnection, tenant: str, customer_key: str, now: datetime) -> list[str] | None:
    """The cached contact ids of a customer, unless missing or expired."""
    row = (
        await conn.execute(
            select(contact_cache.c.contact_ids).where(
                contact_cache.c.tenant_id == tenant,
                contact_cache.c.customer_key == customer_key,
                contact_cache.c.expires_at > now,
            )
        )
    ).first()
    return None if row is None else [str(value) for value in orjson.loads(row.contact_ids)]


_CONTACTS_OF = select(contact_cache.c.customer_key, contact_cache.c.contact_ids, contact_cache.c.expires_at).where(
    contact_cache.c.tenant_id == bindparam("tenant"),
    contact_cache.c.customer_key.in_(bindparam("keys", expanding=True)),
    contact_cache.c.expires_at > bindparam("now", type_=contact_cache.c.expires_at.type),
)
_CONVERSATIONS_OF = select(
    conversation_cache.c.contact_id, conversation_cache.c.conversation_id, conversation_cache.c.expires_at
).where(
    conversation_cache.c.tenant_id == bindparam("tenant"),
    conversation_cache.c.contact_id.in_(bindparam("contact_ids", expanding=True)),
    conversation_cache.c.expires_at > bindparam("now", type_=conversation_cache.c.expires_at.type),
)


async def get_many(conn: AsyncConnection, tenant: str, customer_keys: Sequence[str], now: datetime) -> CachedIds:
    """The cached contact ids of ``customer_keys`` and the cached conversations of those contacts, in two
    statements (a claim's worth of customers: up to a few thousand keys)."""
    found = CachedIds()
    if not customer_keys:
        return found
    parameters = {"tenant": tenant, "keys": sorted(set(customer_keys)), "now": now}
    for row in await conn.execute(_CONTACTS_OF, parameters):
        contact_ids = [str(value) for value in orjson.loads(row.contact_ids)]
        found.contacts[row.customer_key] = (contact_ids, (row.expires_at - now).total_seconds())
    wanted = sorted({contact_id for ids, _ in found.contacts.values() for contact_id in ids})
    if wanted:
        parameters = {"tenant": tenant, "contact_ids": wanted, "now": now}
        for row in await conn.execute(_CONVERSATIONS_OF, parameters):
            found.conversations[row.contact_id] = (str(row.conversation_id), (row.expires_at - now).total_seconds())
    return found


async def put_contacts(
    conn: AsyncConnection, tenant: str, customer_key: str, contact_ids: Sequence[str], expires_at: datetime
) -> None:
    """Remember a customer's contact ids until ``expires_at``."""
    values = {
        "tenant_id": tenant,
        "customer_key": customer_key,
        "contact_ids": orjson.dumps(list(contact_ids)).decode(),
        "expires_at": expires_at,
    }
    await conn.execute(upsert(conn, contact_cache, values, ["tenant_id", "customer_key"]))


async def drop_contacts(conn: AsyncConnection, tenant: str, customer_key: str) -> None:
    """Forget a customer's contact ids."""
    await conn.execute(
        delete(contact_cache).where(contact_cache.c.tenant_id == tenant, contact_cache.c.customer_key == customer_key)
    )


async def get_conversation(conn: AsyncConnection, tenant: str, contact_id: str, now: datetime) -> str | None:
    """The cached conversation id of a contact, unless missing or expired."""
    row = (
        await conn.execute(
            select(conversation_cache.c.conversation_id).where(
                conversation_cache.c.tenant_id == tenant,
                conversation_cache.c.contact_id == contact_id,
                conversation_cache.c.expires_at > now,
            )
        )
    ).first()
    return None if row is None else str(row.conversation_id)


async def put_conversation(
    conn: AsyncConnection, tenant: str, contact_id: str, conversation_id: str, expires_at: datetime
) -> None:
    """Remember a contact's conversation id until ``expires_at``."""
    values = {
        "tenant_id": tenant,
        "contact_id": contact_id,
        "conversation_id": conversation_id,
        "expires_at": expires_at,
    }
    await conn.execute(upsert(conn, conversation_cache, values, ["tenant_id", "contact_id"]))


async def drop_conversations(conn: AsyncConnection, tenant: str, conversation_ids: Sequence[str]) -> int:
    """Forget every contact's mapping to any of ``conversation_ids``; returns how many rows went."""
    if not conversation_ids:
        return 0
    result = await conn.execute(
        delete(conversation_cache).where(
            conversation_cache.c.tenant_id == tenant,
            conversation_cache.c.conversation_id.in_(list(conversation_ids)),
        )
    )
    return result.rowcount


async def prune_expired(conn: AsyncConnection, now: datetime, batch_size: int) -> tuple[int, int]:
    """Delete up to ``batch_size`` expired rows of each cache; returns (contact rows, conversation rows)."""
    removed: list[int] = []
    for table, key in (
        (contact_cache, (contact_cache.c.tenant_id, contact_cache.c.customer_key)),
        (conversation_cache, (conversation_cache.c.tenant_id, conversation_cache.c.contact_id)),
    ):
        expired = select(*key).where(table.c.expires_at <= now).limit(batch_size)
        result = await conn.execute(delete(table).where(tuple_(*key).in_(expired)))
        removed.append(result.rowcount)
    return removed[0], removed[1]


def expiry(now: datetime, ttl_seconds: float) -> datetime:
    """When an entry stored now with ``ttl_seconds`` expires."""
    return now + timedelta(seconds=ttl_seconds)
