"""Contact and conversation caches: expiry, overwrite, tenant walls, dropping merged conversations."""

from __future__ import annotations

from conftest import ManualClock

from inboxbridge.store import Store


async def test_contact_ids_are_cached_until_they_expire(store: Store, clock: ManualClock) -> None:
    assert await store.ids.get_cached_contacts("acme", "email:ann@example.com") is None
    await store.ids.put_cached_contacts("acme", "email:ann@example.com", ["c1", "c2"], ttl_seconds=60)
    assert await store.ids.get_cached_contacts("acme", "email:ann@example.com") == ["c1", "c2"]
    assert await store.ids.get_cached_contacts("beta", "email:ann@example.com") is None
    clock.advance(59)
    assert await store.ids.get_cached_contacts("acme", "email:ann@example.com") == ["c1", "c2"]
    clock.advance(1)
    assert await store.ids.get_cached_contacts("acme", "email:ann@example.com") is None


async def test_contact_ids_are_replaced_and_dropped(store: Store) -> None:
    await store.ids.put_cached_contacts("acme", "email:ann@example.com", ["c1"], ttl_seconds=60)
    await store.ids.put_cached_contacts("acme", "email:ann@example.com", [], ttl_seconds=60)
    assert await store.ids.get_cached_contacts("acme", "email:ann@example.com") == []
    await store.ids.drop_cached_contacts("acme", "email:ann@example.com")
    assert await store.ids.get_cached_contacts("acme", "email:ann@example.com") is None


async def test_conversations_are_cached_replaced_and_expire(store: Store, clock: ManualClock) -> None:
    await store.ids.put_cached_conversation("acme", "c1", "conv-1", ttl_seconds=30)
    await store.ids.put_cached_conversation("acme", "c1", "conv-2", ttl_seconds=30)
    assert await store.ids.get_cached_conversation("acme", "c1") == "conv-2"
    assert await store.ids.get_cached_conversation("beta", "c1") is None
    clock.advance(30)
    assert await store.ids.get_cached_conversation("acme", "c1") is None


async def test_dropping_merged_conversations_forgets_every_mapping_to_them(store: Store) -> None:
    await store.ids.put_cached_conversation("acme", "c1", "conv-old", ttl_seconds=60)
    await store.ids.put_cached_conversation("acme", "c2", "conv-old", ttl_seconds=60)
    await store.ids.put_cached_conversation("acme", "c3", "conv-keep", ttl_seconds=60)
    await store.ids.put_cached_conversation("beta", "c1", "conv-old", ttl_seconds=60)
    assert await store.ids.drop_cached_conversations("acme", ["conv-old", "conv-missing"]) == 2
    assert await store.ids.get_cached_conversation("acme", "c1") is None
    assert await store.ids.get_cached_conversation("acme", "c3") == "conv-keep"
    assert await store.ids.get_cached_conversation("beta", "c1") == "conv-old"
    assert await store.ids.drop_cached_conversations("acme", []) == 0


async def test_many_customers_cached_ids_come_in_one_read(store: Store, clock: ManualClock) -> None:
    await store.ids.put_cached_contacts("acme", "email:a@x.com", ["c1", "c2"], 60)
    await store.ids.put_cached_contacts("acme", "email:b@x.com", ["c3"], 10)
    await store.ids.put_cached_contacts("acme", "email:old@x.com", ["c4"], 1)
    await store.ids.put_cached_contacts("beta", "email:a@x.com", ["other-tenant"], 60)
    await store.ids.put_cached_conversation("acme", "c1", "conv-1", 30)
    await store.ids.put_cached_conversation("acme", "c3", "conv-3", 60)
    await store.ids.put_cached_conversation("acme", "c4", "conv-4", 60)
    clock.advance(5)
    found = await store.ids.get_cached_ids(
        "acme", ["email:a@x.com", "email:b@x.com", "email:old@x.com", "email:new@x.com"]
    )
    assert found.contacts == {"email:a@x.com": (["c1", "c2"], 55.0), "email:b@x.com": (["c3"], 5.0)}
    # Only the conversations of the contacts found: c4's customer expired, c2 has none cached.
    assert found.conversations == {"c1": ("conv-1", 25.0), "c3": ("conv-3", 55.0)}
    empty = await store.ids.get_cached_ids("acme", [])
    assert (empty.contacts, empty.conversations) == ({}, {})
