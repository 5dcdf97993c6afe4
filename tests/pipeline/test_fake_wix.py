"""The fake site stays true to WixSite: same signatures, real errors, and no filter it does not understand."""

from __future__ import annotations

import inspect

import pytest

from inboxbridge.wix import Sort, WixConflictError, WixNotFoundError, WixSite

from .fake_wix import FakeSite, read_timeout
from .support import ANN

PIPELINE_CALLS = [
    "query_contacts",
    "find_contacts_by_email",
    "find_contacts_by_phone",
    "create_contact",
    "get_or_create_conversation",
    "send_message",
    "list_messages",
]


@pytest.mark.parametrize("method", PIPELINE_CALLS)
def test_the_fake_has_the_wix_site_signature(method: str) -> None:
    assert inspect.signature(getattr(FakeSite, method)) == inspect.signature(getattr(WixSite, method))


@pytest.mark.parametrize(
    "filter",
    [
        pytest.param({"info.emails.email": ANN}, id="no operator"),
        pytest.param({"info.emails.email": {"$in": [ANN]}}, id="another operator"),
        pytest.param({"info.name.first": {"$eq": "Ann"}}, id="another field"),
        pytest.param({"$or": [{"info.emails.email": {"$eq": ANN}}, {"info.phones.phone": {"$eq": "+1"}}]}, id="or"),
        pytest.param({"info.emails.email": {"$eq": ANN}, "primaryInfo.email": {"$eq": ANN}}, id="two fields at once"),
        pytest.param(None, id="no filter"),
    ],
)
async def test_query_contacts_refuses_filters_the_pipeline_does_not_send(filter: dict[str, object] | None) -> None:
    site = FakeSite()
    site.add_contact(emails=[ANN])

    with pytest.raises(AssertionError):
        await site.query_contacts(filter=filter, fields=["id"], limit=1)


async def test_query_contacts_refuses_other_sorts_and_fields() -> None:
    site = FakeSite()
    any_ann = {"info.emails.email": {"$eq": ANN}}

    with pytest.raises(AssertionError):
        await site.query_contacts(filter=any_ann, sort=Sort(field_name="updatedDate", order="DESC"))
    with pytest.raises(AssertionError):
        await site.query_contacts(filter=any_ann, fields=["id", "info.name"])


async def test_wix_errors_carry_wix_status_and_code() -> None:
    site = FakeSite()
    ann = site.add_contact(emails=[ANN])
    conversation = site.conversation_of(ann)

    with pytest.raises(WixConflictError) as duplicate:
        await site.create_contact(email=ANN.upper())
    site.merge_conversation(conversation)
    with pytest.raises(WixNotFoundError) as merged:
        await site.list_messages(conversation)
    site.delete_contact(ann)
    with pytest.raises(WixNotFoundError) as deleted:
        await site.get_or_create_conversation(contact_id=ann)

    assert (duplicate.value.status, duplicate.value.code, duplicate.value.duplicate_contact_id) == (
        409,
        "DUPLICATE_CONTACT_EXISTS",
        ann,
    )
    assert (merged.value.status, merged.value.code) == (404, "CONVERSATION_NOT_FOUND")
    assert (deleted.value.status, deleted.value.code) == (404, "PARTICIPANT_NOT_FOUND")
    assert site.names() == ["create_contact", "list_messages", "get_or_create_conversation"]


async def test_a_failure_applied_before_or_after_the_call_took_effect() -> None:
    site = FakeSite()
    conversation = site.conversation_of(site.add_contact(emails=[ANN]))
    site.fail("create_contact", read_timeout("POST", "/contacts/v4/contacts"), applied=True)
    site.fail("create_contact", read_timeout("POST", "/contacts/v4/contacts"), on_call=2)

    for email in ("bea@example.com", "cem@example.com"):
        with pytest.raises(Exception, match="ReadTimeout"):
            await site.create_contact(email=email)

    assert len(site.contact_ids) == 2  # Ann and Bea; Cem's create never took effect
    page = await site.list_messages(conversation)
    assert page.messages == []
