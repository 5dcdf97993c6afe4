"""The in-process front of the id caches: reads served from memory, drops reaching both layers, bounded size."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from inboxbridge.pipeline.caches import MemoryIdCache
from inboxbridge.pipeline.layered_cache import LayeredIdCache
from inboxbridge.store import Store


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

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        self.reads += 1
        return await super().get_cached_contacts(tenant, customer_key)

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None:
        self.reads += 1
        return await super().get_cached_conversation(tenant, contact_id)


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
        cache = LayeredIdCache(store)
        await cache.put_cached_contacts("acme", "email:a@x.com", ["c1"], 100)
        await cache.put_cached_conversation("acme", "c1", "conv", 100)
        assert await store.get_cached_contacts("acme", "email:a@x.com") == ["c1"]
        assert await cache.drop_cached_conversations("acme", ["conv"]) == 1
        assert await store.get_cached_conversation("acme", "c1") is None
        assert await cache.get_cached_conversation("acme", "c1") is None
        fresh = LayeredIdCache(store)
        ids: Sequence[str] | None = await fresh.get_cached_contacts("acme", "email:a@x.com")
        assert ids == ["c1"]
    finally:
        await store.close()


async def test_a_drop_made_straight_on_the_store_reaches_the_memory(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'inboxbridge.db'}")
    try:
        cache = LayeredIdCache(store)
        store.on_conversations_dropped(cache.forget_conversations)
        await cache.put_cached_conversation("acme", "c1", "merged", 100)
        assert await store.drop_cached_conversations("acme", ["merged"]) == 1
        assert await cache.get_cached_conversation("acme", "c1") is None
    finally:
        await store.close()


async def test_entries_read_ahead_are_kept_no_longer_than_the_read_ttl_or_their_own() -> None:
    cache, inner, clock = layered()
    assert cache.missing("acme", ["email:a@x.com", "email:b@x.com"]) == ["email:a@x.com", "email:b@x.com"]
    cache.remember(
        "acme",
        {"email:a@x.com": (["c1"], 100.0), "email:b@x.com": (["c2"], 10.0)},
        {"c1": ("conv1", 100.0), "c2": ("conv2", 10.0)},
    )
    assert cache.missing("acme", ["email:a@x.com", "email:b@x.com", "email:c@x.com"]) == ["email:c@x.com"]
    assert cache.missing("beta", ["email:a@x.com"]) == ["email:a@x.com"]
    assert await cache.get_cached_contacts("acme", "email:a@x.com") == ["c1"]
    assert await cache.get_cached_conversation("acme", "c2") == "conv2"
    assert inner.reads == 0
    clock.now += 10
    # b's entries had 10 s left in the shared layer; a's are kept for the read TTL of 30 s.
    assert cache.missing("acme", ["email:a@x.com", "email:b@x.com"]) == ["email:b@x.com"]
    assert await cache.get_cached_conversation("acme", "c2") is None
    clock.now += 20
    assert cache.missing("acme", ["email:a@x.com"]) == ["email:a@x.com"]
