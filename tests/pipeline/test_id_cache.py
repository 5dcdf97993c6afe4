"""The id cache: memory in front of the stored one, reads served from memory, drops reaching both layers, bounded
size, warm-up in one read, lookups observed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inboxbridge.pipeline import LayeredIdCache, MemoryIdCache
from inboxbridge.store import CachedIds, Store


class Clock:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingCache(MemoryIdCache):
    """A MemoryIdCache that counts the reads it is asked for, standing in for the shared store."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.reads = 0
        self.bulk_reads = 0
        self.seconds_left = 100.0

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        self.reads += 1
        return await super().get_cached_contacts(tenant, customer_key)

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None:
        self.reads += 1
        return await super().get_cached_conversation(tenant, contact_id)

    async def get_cached_ids(self, tenant: str, customer_keys: Sequence[str]) -> CachedIds:
        self.bulk_reads += 1
        found = CachedIds()
        for key in customer_keys:
            contacts = await super().get_cached_contacts(tenant, key)
            if contacts is not None:
                found.contacts[key] = (contacts, self.seconds_left)
                for contact_id in contacts:
                    conversation = await super().get_cached_conversation(tenant, contact_id)
                    if conversation is not None:
                        found.conversations[contact_id] = (conversation, self.seconds_left)
        return found


def layered(max_entries: int = 100) -> tuple[LayeredIdCache, CountingCache, Clock]:
    clock = Clock()
    inner = CountingCache(clock)
    return LayeredIdCache(inner, max_entries=max_entries, read_ttl_seconds=30, clock=clock), inner, clock


async def test_what_was_put_is_read_from_memory_until_its_ttl() -> None:
    cache, inner, clock = layered()
    await cache.put_cached_contacts("acme", "email:a@x.com", ["c1", "c2"], 100)
    await cache.put_cached_conversation("acme", "c1", "conv1", 100)
    for _ in range(3):
        assert await cache.get_cached_contacts("acme", "email:a@x.com") == ["c1", "c2"]
        assert await cache.get_cached_conversation("acme", "c1") == "conv1"
    assert inner.reads == 0
    clock.now += 100
    assert await cache.get_cached_contacts("acme", "email:a@x.com") is None
    assert await cache.get_cached_conversation("acme", "c1") is None
    assert inner.reads == 2


async def test_an_entry_read_from_the_shared_layer_is_kept_for_the_read_ttl() -> None:
    cache, inner, clock = layered()
    await inner.put_cached_conversation("acme", "c1", "conv1", 1000)
    assert await cache.get_cached_conversation("acme", "c1") == "conv1"
    assert await cache.get_cached_conversation("acme", "c1") == "conv1"
    assert inner.reads == 1
    # Dropped by another node: seen here once the read ttl is over.
    await inner.drop_cached_conversations("acme", ["conv1"])
    clock.now += 30
    assert await cache.get_cached_conversation("acme", "c1") is None


async def test_misses_are_not_remembered() -> None:
    cache, inner, _ = layered()
    assert await cache.get_cached_contacts("acme", "email:a@x.com") is None
    await inner.put_cached_contacts("acme", "email:a@x.com", ["c1"], 100)
    assert await cache.get_cached_contacts("acme", "email:a@x.com") == ["c1"]


async def test_dropping_conversations_invalidates_both_layers() -> None:
    cache, inner, _ = layered()
    await cache.put_cached_conversation("acme", "c1", "merged", 100)
    await cache.put_cached_conversation("acme", "c2", "merged", 100)
    await cache.put_cached_conversation("acme", "c3", "kept", 100)
    await cache.put_cached_conversation("beta", "c1", "merged", 100)
    assert await cache.drop_cached_conversations("acme", ["merged"]) == 2
    assert await cache.get_cached_conversation("acme", "c1") is None
    assert await cache.get_cached_conversation("acme", "c2") is None
    assert await inner.get_cached_conversation("acme", "c1") is None
    assert await cache.get_cached_conversation("acme", "c3") == "kept"
    assert await cache.get_cached_conversation("beta", "c1") == "merged"


async def test_dropping_contacts_invalidates_both_layers() -> None:
    cache, inner, _ = layered()
    await cache.put_cached_contacts("acme", "email:a@x.com", ["c1"], 100)
    await cache.drop_cached_contacts("acme", "email:a@x.com")
    assert await cache.get_cached_contacts("acme", "email:a@x.com") is None
    assert await inner.get_cached_contacts("acme", "email:a@x.com") is None


async def test_the_least_recently_used_entry_leaves_first() -> None:
    cache, inner, _ = layered(max_entries=2)
    await cache.put_cached_conversation("acme", "c1", "v1", 100)
    await cache.put_cached_conversation("acme", "c2", "v2", 100)
    assert await cache.get_cached_conversation("acme", "c1") == "v1"
    await cache.put_cached_conversation("acme", "c3", "v3", 100)
    reads = inner.reads
    assert await cache.get_cached_conversation("acme", "c1") == "v1"
    assert await cache.get_cached_conversation("acme", "c3") == "v3"
    assert inner.reads == reads
    assert await cache.get_cached_conversation("acme", "c2") == "v2"
    assert inner.reads == reads + 1


async def test_a_returned_list_is_a_copy() -> None:
    cache, _, _ = layered()
    await cache.put_cached_contacts("acme", "email:a@x.com", ["c1"], 100)
    found = await cache.get_cached_contacts("acme", "email:a@x.com")
    assert found is not None
    found.append("mutated")
    assert await cache.get_cached_contacts("acme", "email:a@x.com") == ["c1"]


async def test_in_front_of_the_store(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'inboxbridge.db'}")
    try:
        cache = LayeredIdCache(store.ids)
        await cache.put_cached_contacts("acme", "email:a@x.com", ["c1"], 100)
        await cache.put_cached_conversation("acme", "c1", "conv", 100)
        assert await store.ids.get_cached_contacts("acme", "email:a@x.com") == ["c1"]
        assert await cache.drop_cached_conversations("acme", ["conv"]) == 1
        assert await store.ids.get_cached_conversation("acme", "c1") is None
        assert await cache.get_cached_conversation("acme", "c1") is None
        fresh = LayeredIdCache(store.ids)
        ids: Sequence[str] | None = await fresh.get_cached_contacts("acme", "email:a@x.com")
        assert ids == ["c1"]
    finally:
        await store.close()


async def test_warming_reads_the_stored_layer_once_for_many_customers(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'inboxbridge.db'}")
    try:
        await store.ids.put_cached_contacts("acme", "email:a@x.com", ["c1"], 100)
        await store.ids.put_cached_conversation("acme", "c1", "conv1", 100)
        cache = LayeredIdCache(store.ids)
        await cache.warm("acme", ["email:a@x.com", "email:b@x.com"])
        await store.ids.drop_cached_contacts("acme", "email:a@x.com")
        # Served from memory: the store no longer has it.
        assert await cache.get_cached_contacts("acme", "email:a@x.com") == ["c1"]
        assert await cache.get_cached_conversation("acme", "c1") == "conv1"
    finally:
        await store.close()


async def test_every_lookup_is_observed_whichever_layer_answers() -> None:
    seen: list[tuple[str, bool]] = []
    clock = Clock()
    inner = CountingCache(clock)
    cache = LayeredIdCache(
        inner, read_ttl_seconds=30, clock=clock, observe=lambda kind, found: seen.append((kind, found))
    )
    await inner.put_cached_contacts("acme", "email:a@x.com", ["c1"], 100)
    assert await cache.get_cached_contacts("acme", "email:a@x.com") == ["c1"]
    assert await cache.get_cached_contacts("acme", "email:a@x.com") == ["c1"]
    assert await cache.get_cached_conversation("acme", "c1") is None
    assert seen == [("contacts", True), ("contacts", True), ("conversations", False)]
    assert inner.reads == 2


async def test_entries_read_ahead_are_kept_no_longer_than_the_read_ttl_or_their_own() -> None:
    cache, inner, clock = layered()
    await inner.put_cached_contacts("acme", "email:a@x.com", ["c1"], 1000)
    await inner.put_cached_conversation("acme", "c1", "conv1", 1000)
    await cache.warm("acme", ["email:a@x.com"])
    inner.seconds_left = 10.0
    await inner.put_cached_contacts("acme", "email:b@x.com", ["c2"], 1000)
    await inner.put_cached_conversation("acme", "c2", "conv2", 1000)
    # a is in memory already: only b is read, in one bulk read; a customer the store lacks costs nothing more.
    await cache.warm("acme", ["email:a@x.com", "email:b@x.com", "email:c@x.com"])
    assert inner.bulk_reads == 2
    await cache.warm("acme", ["email:a@x.com", "email:b@x.com"])
    assert inner.bulk_reads == 2
    assert await cache.get_cached_contacts("acme", "email:a@x.com") == ["c1"]
    assert await cache.get_cached_conversation("acme", "c2") == "conv2"
    assert inner.reads == 0
    clock.now += 10
    # b's entries had 10 s left in the shared layer; a's are kept for the read TTL of 30 s.
    await inner.drop_cached_conversations("acme", ["conv2", "conv1"])
    assert await cache.get_cached_conversation("acme", "c2") is None
    assert await cache.get_cached_conversation("acme", "c1") == "conv1"
    assert inner.reads == 1
    clock.now += 20
    assert await cache.get_cached_conversation("acme", "c1") is None
