"""Which Wix contact gets the message: by email when the event has one, else by phone; the contact policy, the
missing-contact policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inboxbridge.pipeline import DeliveryFailed, MemoryIdCache, NoContactError

from .fake_wix import START, FakeSite
from .support import ANN, TENANT, deliver, message, texts

EARLY = START - timedelta(days=700)
LATER = START - timedelta(days=30)


def two_contacts_sharing_ann(site: FakeSite) -> None:
    """``ann-old`` (Ann's primary email) and ``ann-new`` (created later, Ann's address as a second email)."""
    site.add_contact("ann-old", emails=[ANN], created=EARLY)
    site.add_contact("ann-new", emails=["ann.work@example.com", ANN], created=LATER)


async def test_all_policy_posts_one_message_to_each_contact_having_the_email(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    two_contacts_sharing_ann(site)
    site.add_contact("bob", emails=["bob@example.com"])

    posted = await deliver(site, cache, message("Hi both"), contacts="all")

    assert [p.contact_id for p in posted] == ["ann-old", "ann-new"]
    assert len({p.conversation_id for p in posted}) == 2
    assert texts(site.messages_of("ann-old")) == texts(site.messages_of("ann-new")) == ["Hi both"]
    assert site.messages_of("bob") == []
    assert site.args("find_contacts_by_email") == [{"email": ANN, "fields": ["id"]}]
    assert site.count("query_contacts") == 0
    assert await cache.get_cached_contacts(TENANT, f"email:{ANN}") == ["ann-old", "ann-new"]


async def test_newest_policy_picks_the_contact_created_last(site: FakeSite, cache: MemoryIdCache) -> None:
    two_contacts_sharing_ann(site)

    posted = await deliver(site, cache, message(), contacts="newest")

    assert [p.contact_id for p in posted] == ["ann-new"]
    assert site.messages_of("ann-old") == []
    assert site.args("query_contacts") == [
        {
            "filter": {"info.emails.email": {"$eq": ANN}},
            "fields": ["id"],
            "sort": "createdDate DESC",
            "limit": 1,
            "offset": 0,
        }
    ]


async def test_oldest_policy_picks_the_contact_created_first(site: FakeSite, cache: MemoryIdCache) -> None:
    two_contacts_sharing_ann(site)

    posted = await deliver(site, cache, message(), contacts="oldest")

    assert [p.contact_id for p in posted] == ["ann-old"]
    assert site.messages_of("ann-new") == []
    [query] = site.args("query_contacts")
    assert query["filter"] == {"info.emails.email": {"$eq": ANN}}
    assert (query["sort"], query["limit"]) == ("createdDate ASC", 1)


async def test_primary_policy_picks_the_contact_whose_primary_email_it_is(site: FakeSite, cache: MemoryIdCache) -> None:
    two_contacts_sharing_ann(site)  # ann-new is newer, but Ann's address is only its second email

    posted = await deliver(site, cache, message(), contacts="primary")

    assert [p.contact_id for p in posted] == ["ann-old"]
    assert [q["filter"] for q in site.args("query_contacts")] == [{"primaryInfo.email": {"$eq": ANN}}]


async def test_primary_policy_falls_back_to_the_newest_contact_when_no_primary_email_matches(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("first", emails=["ann.home@example.com", ANN], created=EARLY)
    site.add_contact("second", emails=["ann.work@example.com", ANN], created=LATER)

    posted = await deliver(site, cache, message())  # primary is the default policy

    assert [p.contact_id for p in posted] == ["second"]
    assert [(q["filter"], q["sort"]) for q in site.args("query_contacts")] == [
        ({"primaryInfo.email": {"$eq": ANN}}, "createdDate DESC"),
        ({"info.emails.email": {"$eq": ANN}}, "createdDate DESC"),
    ]


async def test_a_contact_found_by_email_is_used_without_looking_at_the_phone(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann", emails=[ANN])
    site.add_contact("ann-phone", phones=["+14155550123"])

    posted = await deliver(site, cache, message(phone="+14155550123"))

    assert [p.contact_id for p in posted] == ["ann"]
    assert site.names() == ["query_contacts", "get_or_create_conversation", "send_message"]
    assert site.args("query_contacts")[0]["fields"] == ["id"]


async def test_an_email_no_contact_has_never_borrows_the_contact_of_whoever_shares_the_phone(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    # The household's landline is on the partner's contact: Ann's words must not land in the partner's conversation.
    site.add_contact("partner", emails=["partner@example.com"], phones=["+14155550123"])

    posted = await deliver(site, cache, message(phone="(415) 555-0123"), default_phone_region="US")

    assert [q["filter"] for q in site.args("query_contacts")] == [
        {"primaryInfo.email": {"$eq": ANN}},
        {"info.emails.email": {"$eq": ANN}},
    ]
    assert site.args("create_contact") == [
        {"email": ANN, "first_name": None, "last_name": None, "phone": "+14155550123", "phone_country": "US"}
    ]
    [created] = [p.contact_id for p in posted]
    assert created != "partner" and site.messages_of("partner") == []
    assert await cache.get_cached_contacts(TENANT, f"email:{ANN}") == [created]


async def test_an_email_no_contact_has_is_skipped_under_skip_even_when_the_phone_is_known(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("partner", phones=["+14155550123"])

    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message(phone="+14155550123"), missing_contact="skip")

    assert str(failed.value.cause) == f"no Wix contact has the email {ANN} and the missing-contact policy is 'skip'"
    assert site.messages_of("partner") == []


@pytest.mark.parametrize(
    ("policy", "chosen"), [("all", ["first", "second"]), ("newest", ["second"]), ("oldest", ["first"])]
)
async def test_a_phone_shared_by_several_contacts_is_resolved_by_the_contact_policy(
    site: FakeSite, cache: MemoryIdCache, policy: str, chosen: list[str]
) -> None:
    site.add_contact("first", phones=["+14155550123"], created=EARLY)
    site.add_contact("second", phones=["+14155550123"], created=LATER)

    posted = await deliver(site, cache, message(email=None, phone="+14155550123"), contacts=policy)

    assert [p.contact_id for p in posted] == chosen
    assert site.count("create_contact") == 0


async def test_an_event_with_only_a_phone_is_looked_up_by_phone(site: FakeSite, cache: MemoryIdCache) -> None:
    site.add_contact("ann-phone", phones=["+442079460958"])

    posted = await deliver(site, cache, message(email=None, phone="020 7946 0958"), default_phone_region="GB")

    assert [p.contact_id for p in posted] == ["ann-phone"]
    assert [q["filter"] for q in site.args("query_contacts")] == [
        {"primaryInfo.phone": {"$in": ["020 7946 0958", "+442079460958"]}}
    ]
    assert await cache.get_cached_contacts(TENANT, "phone:020 7946 0958") == ["ann-phone"]


async def test_a_contact_typed_in_national_format_in_wix_is_found_by_an_sms_from_that_number(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    # The owner typed the number as they say it, with the country set: Wix derives +14155550142 from the two.
    site.add_contact("ann-phone", phones=["(415) 555-0142"], phone_country="US")

    posted = await deliver(site, cache, message(email=None, phone="+14155550142"))

    assert [p.contact_id for p in posted] == ["ann-phone"]
    assert [q["filter"] for q in site.args("query_contacts")] == [
        {"primaryInfo.phone": {"$in": ["+14155550142"]}},
        {"info.phones.e164Phone": {"$eq": "+14155550142"}},
    ]
    assert site.count("create_contact") == 0


async def test_a_contact_whose_number_wix_could_not_read_is_found_as_typed(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    # No country code in Wix: no E.164 form, but the number was typed as the SMS provider writes it nationally.
    site.add_contact("ann-phone", phones=["020 7946 0958"], primary_phone="+44 20 0000 0000")
    site.add_contact("other", phones=["+44 20 0000 0000"])

    posted = await deliver(site, cache, message(email=None, phone="020 7946 0958"), default_phone_region="GB")

    assert [p.contact_id for p in posted] == ["ann-phone"]
    assert [q["filter"] for q in site.args("query_contacts")][-1] == {
        "info.phones.phone": {"$in": ["020 7946 0958", "+442079460958"]}
    }


async def test_all_policy_by_phone_finds_on_the_e164_form_then_as_typed(site: FakeSite, cache: MemoryIdCache) -> None:
    site.add_contact("typed-us", phones=["(415) 555-0142"], phone_country="US")
    site.add_contact("e164", phones=["+1 415 555 0142"])

    posted = await deliver(site, cache, message(email=None, phone="+14155550142"), contacts="all")

    assert sorted(p.contact_id for p in posted) == ["e164", "typed-us"]
    assert site.args("find_contacts_by_phone") == [{"e164": "+14155550142", "fields": ["id"]}]
    assert site.count("find_contacts_by_typed_phone") == 0


async def test_no_contact_with_the_email_or_phone_creates_one_with_name_and_phone(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    event = message(email="Ann@Example.com", phone="415-555-0123", first_name="Ann", last_name="Lee")

    posted = await deliver(site, cache, event, default_phone_region="US")

    assert site.args("create_contact") == [
        {"email": ANN, "first_name": "Ann", "last_name": "Lee", "phone": "+14155550123", "phone_country": "US"}
    ]
    [created] = site.contact_ids
    assert [p.contact_id for p in posted] == [created]
    contact = site.contact(created)
    assert (contact.emails, contact.info["phones"]["items"][0]["phone"]) == ([ANN], "+14155550123")
    assert contact.info["name"] == {"first": "Ann", "last": "Lee"}
    assert texts(site.messages_of(created)) == ["Hello"]
    assert site.names()[-3:] == ["create_contact", "get_or_create_conversation", "send_message"]
    assert await cache.get_cached_contacts(TENANT, f"email:{ANN}") == [created]


async def test_skip_policy_raises_no_contact_error_and_creates_nothing(site: FakeSite, cache: MemoryIdCache) -> None:
    site.add_contact("bob", emails=["bob@example.com"])

    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message(phone="+14155550123"), missing_contact="skip")

    assert isinstance(failed.value.cause, NoContactError)
    assert str(failed.value.cause) == f"no Wix contact has the email {ANN} and the missing-contact policy is 'skip'"
    assert (failed.value.maybe_posted, failed.value.posted) == (False, [])
    assert site.count("create_contact") == site.count("send_message") == 0
    assert site.contact_ids == ["bob"]
    assert await cache.get_cached_contacts(TENANT, f"email:{ANN}") is None


async def test_a_create_racing_another_uses_the_contact_wix_names_as_the_duplicate(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    # Another worker creates Ann between our Query Contacts and our Create Contact.
    site.before_next("create_contact", lambda: site.add_contact("theirs", emails=[ANN]))

    posted = await deliver(site, cache, message())

    assert [p.contact_id for p in posted] == ["theirs"]
    assert site.contact_ids == ["theirs"]
    assert texts(site.messages_of("theirs")) == ["Hello"]
    assert await cache.get_cached_contacts(TENANT, f"email:{ANN}") == ["theirs"]


async def test_cached_contact_ids_are_used_without_a_query(site: FakeSite, cache: MemoryIdCache) -> None:
    site.add_contact("ann", emails=[ANN])
    await deliver(site, cache, message("first"))
    site.calls.clear()

    posted = await deliver(site, cache, message("second"))

    assert [p.contact_id for p in posted] == ["ann"]
    assert site.names() == ["send_message"]  # contact and conversation both from the cache
    assert texts(site.messages_of("ann")) == ["first", "second"]
