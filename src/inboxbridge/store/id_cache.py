"""The stored id cache: Wix contact and conversation ids in the store's database, shared by every node and kept
across restarts. It satisfies the pipeline's :class:`~inboxbridge.pipeline.SharedIdCache`."""

from __future__ import annotations

from collections.abc import Sequence

from inboxbridge.store.database import Database
from inboxbridge.store.models import CachedIds
from inboxbridge.store.sql import ids

__all__ = ["StoredIdCache"]


class StoredIdCache:
    """Contact ids by customer and conversation ids by contact, each with an expiry (expired rows read as missing)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        """Contact ids cached for a customer, or None when missing or expired."""
        async with self._db.transaction("reading the contact cache", write=False) as conn:
            return await ids.get_contacts(conn, tenant, customer_key, self._db.now())

    async def get_cached_ids(self, tenant: str, customer_keys: Sequence[str]) -> CachedIds:
        """In one read, the unexpired contact ids cached for ``customer_keys`` and the conversation ids cached for
        those contacts, each with its seconds left."""
        async with self._db.transaction("reading the caches", write=False) as conn:
            return await ids.get_many(conn, tenant, customer_keys, self._db.now())

    async def put_cached_contacts(
        self, tenant: str, customer_key: str, contact_ids: Sequence[str], ttl_seconds: float
    ) -> None:
        """Cache a customer's contact ids for ``ttl_seconds``."""
        expires = ids.expiry(self._db.now(), ttl_seconds)
        async with self._db.transaction("writing the contact cache", write=True) as conn:
            await ids.put_contacts(conn, tenant, customer_key, contact_ids, expires)

    async def drop_cached_contacts(self, tenant: str, customer_key: str) -> None:
        """Forget a customer's cached contact ids."""
        async with self._db.transaction("writing the contact cache", write=True) as conn:
            await ids.drop_contacts(conn, tenant, customer_key)

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None:
        """The conversation id cached for a contact, or None when missing or expired."""
        async with self._db.transaction("reading the conversation cache", write=False) as conn:
            return await ids.get_conversation(conn, tenant, contact_id, self._db.now())

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None:
        """Cache a contact's conversation id for ``ttl_seconds``."""
        expires = ids.expiry(self._db.now(), ttl_seconds)
        async with self._db.transaction("writing the conversation cache", write=True) as conn:
            await ids.put_conversation(conn, tenant, contact_id, conversation_id, expires)

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int:
        """Forget every cached mapping to these conversations (merged or gone at Wix); returns how many."""
        async with self._db.transaction("writing the conversation cache", write=True) as conn:
            return await ids.drop_conversations(conn, tenant, conversation_ids)
