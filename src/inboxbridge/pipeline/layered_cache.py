"""An in-process front for a shared :class:`~inboxbridge.pipeline.caches.IdCache` (the store's).

The store's caches survive restarts and are shared by every node, but reading them costs a query per event. The
front keeps the ids this process used recently in memory, bounded (least recently used out first), so a steady
stream of known customers costs no cache reads from the store.

- A ``put`` goes to both layers, with the same time to live.
- A ``get`` answered by the store is kept in memory for at most ``read_ttl_seconds`` (the store's remaining time
  is not known), so an entry that expires in the store, or that another node drops, is seen here within that
  time. An entry dropped by another node can only be stale here: a send into a merged or deleted conversation
  fails, and the pipeline then drops it here too, as below.
- A drop (conversation merged or not found, contacts gone) removes the entries from both layers.
- :meth:`LayeredIdCache.missing` and :meth:`LayeredIdCache.remember` let a caller that reads many entries of the
  store at once (the worker, for the customers of a claim) fill the memory in one read instead of one per event.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from inboxbridge.pipeline.caches import IdCache

__all__ = ["LayeredIdCache"]

Value = TypeVar("Value")


class _Lru(Generic[Value]):
    """Values with an expiry (monotonic seconds), at most ``capacity`` of them."""

    def __init__(self, capacity: int, clock: Callable[[], float]) -> None:
        self._capacity = capacity
        self._clock = clock
        self.entries: OrderedDict[tuple[str, str], tuple[Value, float]] = OrderedDict()

    def get(self, key: tuple[str, str]) -> Value | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self.entries[key]
            return None
        self.entries.move_to_end(key)
        return entry[0]

    def put(self, key: tuple[str, str], value: Value, ttl_seconds: float) -> None:
        self.entries[key] = (value, self._clock() + ttl_seconds)
        self.entries.move_to_end(key)
        while len(self.entries) > self._capacity:
            self.entries.popitem(last=False)


class LayeredIdCache:
    """An :class:`IdCache` of memory in front of ``inner``; see the module's docstring."""

    def __init__(
        self,
        inner: IdCache,
        *,
        max_entries: int = 50_000,
        read_ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self.inner = inner
        self._read_ttl = read_ttl_seconds
        self._contacts: _Lru[tuple[str, ...]] = _Lru(max_entries, clock)
        self._conversations: _Lru[str] = _Lru(max_entries, clock)

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        """The customer's contact ids from memory, else from ``inner`` (then kept for a while)."""
        key = (tenant, customer_key)
        found = self._contacts.get(key)
        if found is not None:
            return list(found)
        stored = await self.inner.get_cached_contacts(tenant, customer_key)
        if stored is not None:
            self._contacts.put(key, tuple(stored), self._read_ttl)
        return stored

    def missing(self, tenant: str, customer_keys: Sequence[str]) -> list[str]:
        """Those of ``customer_keys`` whose contact ids are not in memory."""
        return [key for key in customer_keys if self._contacts.get((tenant, key)) is None]

    def remember(
        self,
        tenant: str,
        contacts: Mapping[str, tuple[Sequence[str], float]],
        conversations: Mapping[str, tuple[str, float]],
    ) -> None:
        """Keep entries read from ``inner`` (contact ids by customer key, conversation ids by contact id, each with
        its seconds left there), each for at most the read time to live, as a read through :meth:`get_cached_contacts`
        would."""
        for customer_key, (contact_ids, seconds_left) in contacts.items():
            self._contacts.put((tenant, customer_key), tuple(contact_ids), min(seconds_left, self._read_ttl))
        for contact_id, (conversation_id, seconds_left) in conversations.items():
            self._conversations.put((tenant, contact_id), conversation_id, min(seconds_left, self._read_ttl))

    async def put_cached_contacts(
        self, tenant: str, customer_key: str, contact_ids: Sequence[str], ttl_seconds: float
    ) -> None:
        """Remember the customer's contact ids in both layers for ``ttl_seconds``."""
        await self.inner.put_cached_contacts(tenant, customer_key, contact_ids, ttl_seconds)
        self._contacts.put((tenant, customer_key), tuple(contact_ids), ttl_seconds)

    async def drop_cached_contacts(self, tenant: str, customer_key: str) -> None:
        """Forget the customer's contact ids in both layers."""
        self._contacts.entries.pop((tenant, customer_key), None)
        await self.inner.drop_cached_contacts(tenant, customer_key)

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None:
        """The contact's conversation id from memory, else from ``inner`` (then kept for a while)."""
        key = (tenant, contact_id)
        found = self._conversations.get(key)
        if found is not None:
            return found
        stored = await self.inner.get_cached_conversation(tenant, contact_id)
        if stored is not None:
            self._conversations.put(key, stored, self._read_ttl)
        return stored

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None:
        """Remember the contact's conversation id in both layers for ``ttl_seconds``."""
        await self.inner.put_cached_conversation(tenant, contact_id, conversation_id, ttl_seconds)
        self._conversations.put((tenant, contact_id), conversation_id, ttl_seconds)

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int:
        """Forget every mapping to these conversations in both layers; returns how many ``inner`` held."""
        self.forget_conversations(tenant, conversation_ids)
        return await self.inner.drop_cached_conversations(tenant, conversation_ids)

    def forget_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> None:
        """Drop the memory's mappings to these conversations (pass to ``Store.on_conversations_dropped``, so a
        drop made straight on the store, such as a Wix merge webhook's, reaches this layer too)."""
        doomed = set(conversation_ids)
        # Drops are rare (a merged or deleted conversation), so a scan beats keeping a reverse index in step.
        stale = [
            key
            for key, (conversation_id, _) in self._conversations.entries.items()
            if key[0] == tenant and conversation_id in doomed
        ]
        for key in stale:
            del self._conversations.entries[key]
