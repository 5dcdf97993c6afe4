"""Where the pipeline remembers contact and conversation ids between events: the one id cache module.

:class:`IdCache` is the interface the pipeline uses, and the only way to invalidate an entry (a drop). Three
implementations satisfy it: :class:`MemoryIdCache` (the library API, tests), the store's
:class:`~inboxbridge.store.StoredIdCache` (shared by every node, survives restarts), and :class:`LayeredIdCache`,
which the service puts in front of the stored one:

- A ``put`` goes to both layers, with the same time to live.
- A ``get`` answered by the inner cache is kept in memory for at most ``read_ttl_seconds`` (the inner cache's
  remaining time is not known), so an entry that expires there, or that another node drops, is seen here within
  that time. An entry dropped by another node can only be stale here: a send into a merged or deleted
  conversation fails, and the pipeline then drops it here too.
- A drop (conversation merged or not found, contacts gone) removes the entries from both layers. Whoever drops
  (the pipeline, the Wix merge webhook) drops through the layered cache of its process.
- :meth:`LayeredIdCache.warm` fills the memory with many customers' entries in one read of the inner cache (the
  worker does it for the customers of a claim) instead of one read per event.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar

__all__ = ["FoundIds", "IdCache", "LayeredIdCache", "MemoryIdCache", "SharedIdCache"]

Value = TypeVar("Value")

LookupObserver = Callable[[str, bool], None]
"""Told of every lookup: which cache (``contacts`` or ``conversations``) and whether it was found."""


class IdCache(Protocol):
    """Contact ids by customer, and conversation ids by contact, each with an expiry."""

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None: ...

    async def put_cached_contacts(
        self, tenant: str, customer_key: str, contact_ids: Sequence[str], ttl_seconds: float
    ) -> None: ...

    async def drop_cached_contacts(self, tenant: str, customer_key: str) -> None: ...

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None: ...

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None: ...

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int: ...


class FoundIds(Protocol):
    """Unexpired entries of one tenant read at once, each with its seconds left."""

    @property
    def contacts(self) -> Mapping[str, tuple[list[str], float]]:
        """Contact ids by customer key."""
        ...

    @property
    def conversations(self) -> Mapping[str, tuple[str, float]]:
        """Conversation ids by contact id."""
        ...


class SharedIdCache(IdCache, Protocol):
    """An :class:`IdCache` that can also read many customers' entries in one go (the store's)."""

    async def get_cached_ids(self, tenant: str, customer_keys: Sequence[str]) -> FoundIds: ...


class MemoryIdCache:
    """An :class:`IdCache` in this process's memory, for the library API and tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._contacts: dict[tuple[str, str], tuple[list[str], float]] = {}
        self._conversations: dict[tuple[str, str], tuple[str, float]] = {}

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        """The contact ids remembered for the customer, unless expired."""
        entry = self._contacts.get((tenant, customer_key))
        if entry is None or entry[1] <= self._clock():
            return None
        return list(entry[0])

    async def put_cached_contacts(
        self, tenant: str, customer_key: str, contact_ids: Sequence[str], ttl_seconds: float
    ) -> None:
        """Remember the customer's contact ids for ``ttl_seconds``."""
        self._contacts[(tenant, customer_key)] = (list(contact_ids), self._clock() + ttl_seconds)

    async def drop_cached_contacts(self, tenant: str, customer_key: str) -> None:
        """Forget the customer's contact ids."""
        self._contacts.pop((tenant, customer_key), None)

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None:
        """The conversation id remembered for the contact, unless expired."""
        entry = self._conversations.get((tenant, contact_id))
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None:
        """Remember the contact's conversation id for ``ttl_seconds``."""
        self._conversations[(tenant, contact_id)] = (conversation_id, self._clock() + ttl_seconds)

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int:
        """Forget every cached conversation of the tenant whose id is listed; returns how many."""
        doomed = set(conversation_ids)
        keys = [k for k, (cid, _) in self._conversations.items() if k[0] == tenant and cid in doomed]
        for key in keys:
            del self._conversations[key]
        return len(keys)


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
    """An :class:`IdCache` of memory in front of ``inner``; see the module's docstring. ``observe`` is told of
    every lookup, whichever layer answered it (the service counts hits and misses with it)."""

    def __init__(
        self,
        inner: SharedIdCache,
        *,
        max_entries: int = 50_000,
        read_ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        observe: LookupObserver | None = None,
    ) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self.inner = inner
        self._observe = observe
        self._read_ttl = read_ttl_seconds
        self._contacts: _Lru[tuple[str, ...]] = _Lru(max_entries, clock)
        self._conversations: _Lru[str] = _Lru(max_entries, clock)

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        """The customer's contact ids from memory, else from ``inner`` (then kept for a while)."""
        key = (tenant, customer_key)
        found = self._contacts.get(key)
        if found is not None:
            self._count("contacts", True)
            return list(found)
        stored = await self.inner.get_cached_contacts(tenant, customer_key)
        if stored is not None:
            self._contacts.put(key, tuple(stored), self._read_ttl)
        self._count("contacts", stored is not None)
        return stored

    def _count(self, cache: str, found: bool) -> None:
        if self._observe is not None:
            self._observe(cache, found)

    async def warm(self, tenant: str, customer_keys: Sequence[str]) -> None:
        """Read the entries of those ``customer_keys`` not in memory from ``inner`` in one go and keep them, each
        for at most the read time to live, as reads one by one would. Raises what ``inner`` raises."""
        wanted = [key for key in customer_keys if self._contacts.get((tenant, key)) is None]
        if not wanted:
            return
        found = await self.inner.get_cached_ids(tenant, wanted)
        for customer_key, (contact_ids, seconds_left) in found.contacts.items():
            self._contacts.put((tenant, customer_key), tuple(contact_ids), min(seconds_left, self._read_ttl))
        for contact_id, (conversation_id, seconds_left) in found.conversations.items():
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
            self._count("conversations", True)
            return found
        stored = await self.inner.get_cached_conversation(tenant, contact_id)
        if stored is not None:
            self._conversations.put(key, stored, self._read_ttl)
        self._count("conversations", stored is not None)
        return stored

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None:
        """Remember the contact's conversation id in both layers for ``ttl_seconds``."""
        await self.inner.put_cached_conversation(tenant, contact_id, conversation_id, ttl_seconds)
        self._conversations.put((tenant, contact_id), conversation_id, ttl_seconds)

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int:
        """Forget every mapping to these conversations in both layers (memory first, so even a failing inner cache
        stops answering with them here); returns how many ``inner`` held."""
        self._forget_conversations(tenant, conversation_ids)
        return await self.inner.drop_cached_conversations(tenant, conversation_ids)

    def _forget_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> None:
        doomed = set(conversation_ids)
        # Drops are rare (a merged or deleted conversation), so a scan beats keeping a reverse index in step.
        stale = [
            key
            for key, (conversation_id, _) in self._conversations.entries.items()
            if key[0] == tenant and conversation_id in doomed
        ]
        for key in stale:
            del self._conversations.entries[key]
