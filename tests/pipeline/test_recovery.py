"""Cached ids Wix no longer knows, merged conversations, and when Get or Create Conversation is asked."""

from __future__ import annotations

import pytest

from inboxbridge.pipeline import DeliveryFailed, MemoryIdCache
from inboxbridge.wix import WixNotFoundError

from .fake_wix import CONVERSATIONS, FakeSite, connect_failure
from .support import ANN, TENANT, deliver, message, texts

ANN_KEY = f"email:{ANN}"
TTL = 3600.0


async def test_a_stale_cached_contact_is_dropped_and_resolved_again_in_the_same_attempt(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann-before", emails=[ANN])
    site.add_contact("ann-now", emails=[ANN])
    await cache.put_cached_contacts(TENANT, ANN_KEY, ["ann-before"], TTL)
    site.delete_contact("ann-before")  # e.g. merged into ann-now on Wix

    posted = await deliver(site, cache, message())

    assert [p.contact_id for p in posted] == ["ann-now"]
    assert texts(site.messages_of("ann-now")) == ["Hello"]
    assert site.names() == [
        "get_or_create_conversation",  # ann-before: 404 PARTICIPANT_NOT_FOUND
        "query_contacts",
        "get_or_create_conversation",
        "send_message",
    ]
    assert await cache.get_cached_contacts(TENANT, ANN_KEY) == ["ann-now"]


async def test_a_contact_gone_for_good_fails_with_a_not_found_cause(site: FakeSite, cache: MemoryIdCache) -> None:
    site.add_contact("ann", emails=[ANN])
    await cache.put_cached_contacts(TENANT, ANN_KEY, ["ann"], TTL)
    site.delete_contact("ann", still_found_by_query=True)

    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message())

    cause = failed.value.cause
    assert isinstance(cause, WixNotFoundError)
    assert cause.status == 404
    assert "contact ann not found" in str(cause)
    assert (failed.value.maybe_posted, failed.value.posted) == (False, [])
    # Asked once from the cache, once after a fresh Query Contacts; never sent.
    assert site.args("get_or_create_conversation") == [{"contact_id": "ann"}, {"contact_id": "ann"}]
    assert site.count("send_message") == 0


@pytest.mark.parametrize("answer", ["CONVERSATION_NOT_FOUND", "404"], ids=["with-its-code", "a-bare-404"])
async def test_a_conversation_merged_away_is_replaced_in_the_same_attempt(
    site: FakeSite, cache: MemoryIdCache, answer: str
) -> None:
    site.merged_send = answer
    site.add_contact("ann", emails=[ANN])
    await deliver(site, cache, message("before the merge"))
    old = site.conversation_of("ann")
    new = site.merge_conversation(old)  # Ann became a site member
    site.calls.clear()

    posted = await deliver(site, cache, message("after the merge"))

    assert [(p.contact_id, p.conversation_id) for p in posted] == [("ann", new)]
    assert texts(site.messages(new)) == ["before the merge", "after the merge"]
    assert site.names() == ["send_message", "get_or_create_conversation", "send_message"]
    assert [a["conversation_id"] for a in site.args("send_message")] == [old, new]
    assert await cache.get_cached_conversation(TENANT, "ann") == new
    assert await cache.drop_cached_conversations(TENANT, [old]) == 0  # nothing points at the old id any more


async def test_a_send_into_a_merged_conversation_that_wix_accepts_lands_in_its_history(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.merged_send = "accepted"
    site.add_contact("ann", emails=[ANN])
    await deliver(site, cache, message("before the merge"))
    new = site.merge_conversation(site.conversation_of("ann"))
    site.calls.clear()

    await deliver(site, cache, message("after the merge"))

    assert texts(site.messages(new)) == ["before the merge", "after the merge"]
    assert site.names() == ["send_message"]


async def test_a_404_that_asking_again_does_not_cure_stands(site: FakeSite, cache: MemoryIdCache) -> None:
    site.add_contact("ann", emails=[ANN])
    await deliver(site, cache, message("first"))
    gone = WixNotFoundError("inbox not found", status=404, code="INBOX_INSTANCE_NOT_FOUND")
    site.fail("send_message", gone)
    site.fail("send_message", gone, on_call=2)
    site.calls.clear()

    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message("second"))

    assert failed.value.cause is gone
    assert site.names() == ["send_message", "get_or_create_conversation", "send_message"]
    assert texts(site.messages_of("ann")) == ["first"]


async def test_a_merged_away_conversation_leaves_the_cache_even_when_asking_for_the_new_one_fails(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann", emails=[ANN])
    await deliver(site, cache, message("before the merge"))
    site.merge_conversation(site.conversation_of("ann"))
    site.fail("get_or_create_conversation", connect_failure("POST", CONVERSATIONS))

    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message("after the merge"))

    assert (failed.value.maybe_posted, failed.value.posted) == (False, [])
    assert await cache.get_cached_conversation(TENANT, "ann") is None  # the next attempt asks Wix again


async def test_strict_conversations_asks_get_or_create_before_every_send(site: FakeSite, cache: MemoryIdCache) -> None:
    site.add_contact("ann", emails=[ANN])

    for text in ("one", "two", "three"):
        await deliver(site, cache, message(text), strict_conversations=True)

    assert site.count("get_or_create_conversation") == 3
    assert site.count("query_contacts") == 1  # contact ids still come from the cache
    assert texts(site.messages_of("ann")) == ["one", "two", "three"]


async def test_the_cached_conversation_is_used_otherwise(site: FakeSite, cache: MemoryIdCache) -> None:
    site.add_contact("ann", emails=[ANN])
    conversation = site.conversation_of("ann")
    await cache.put_cached_contacts(TENANT, ANN_KEY, ["ann"], TTL)
    await cache.put_cached_conversation(TENANT, "ann", conversation, TTL)

    for text in ("one", "two"):
        await deliver(site, cache, message(text))

    assert site.names() == ["send_message", "send_message"]
    assert texts(site.messages(conversation)) == ["one", "two"]


async def test_a_first_message_stores_the_conversation_id_from_get_or_create(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann", emails=[ANN])

    [posted] = await deliver(site, cache, message())

    assert site.args("get_or_create_conversation") == [{"contact_id": "ann"}]
    assert posted.conversation_id == site.conversation_of("ann")
    assert await cache.get_cached_conversation(TENANT, "ann") == posted.conversation_id


async def test_all_policy_resolving_again_after_a_stale_contact_does_not_post_twice_to_the_others(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann-1", emails=[ANN])
    site.add_contact("ann-gone", emails=[ANN])
    site.add_contact("ann-3", emails=[ANN])
    await cache.put_cached_contacts(TENANT, ANN_KEY, ["ann-1", "ann-gone"], TTL)
    site.delete_contact("ann-gone")

    posted = await deliver(site, cache, message(), contacts="all")

    assert [p.contact_id for p in posted] == ["ann-1", "ann-3"]
    assert texts(site.messages_of("ann-1")) == texts(site.messages_of("ann-3")) == ["Hello"]
    assert site.count("send_message") == 2
    assert await cache.get_cached_contacts(TENANT, ANN_KEY) == ["ann-1", "ann-3"]
