"""Step 1 of the flow: which Wix contact(s) an event's customer is.

Query Contacts asks only for ``id``; the contact policy decides between several contacts sharing an email (or
phone), and the missing-contact policy what happens when there are none. Answers are cached per customer.
"""

from __future__ import annotations

from inboxbridge.config import ContactPolicy, MissingContactPolicy, PolicySettings
from inboxbridge.events import InboundEvent
from inboxbridge.pipeline.caches import IdCache
from inboxbridge.pipeline.errors import NoContactError
from inboxbridge.wix import Sort, WixConflictError, WixSite

__all__ = ["resolve_contacts"]

ID_ONLY = ["id"]
NEWEST_FIRST = Sort(field_name="createdDate", order="DESC")
OLDEST_FIRST = Sort(field_name="createdDate", order="ASC")


async def resolve_contacts(
    site: WixSite, cache: IdCache, event: InboundEvent, policy: PolicySettings
) -> list[str]:
    """The contact ids the event is delivered to (one, or several under the ``all`` policy)."""
    cached = await cache.get_cached_contacts(event.tenant, event.customer_key)
    if cached:
        return cached
    ids = await _choose(site, event, policy.contacts)
    if not ids:
        if policy.missing_contact is MissingContactPolicy.SKIP:
            raise NoContactError(f"no Wix contact has {_who(event)} and the missing-contact policy is 'skip'")
        ids = [await _create(site, event)]
    await cache.put_cached_contacts(event.tenant, event.customer_key, ids, policy.cache_ttl_seconds)
    return ids


def _filters(event: InboundEvent) -> tuple[dict[str, object], dict[str, object]]:
    """(any-address filter, primary-address filter) for the customer's email, else phone."""
    if event.email is not None:
        return {"info.emails.email": {"$eq": event.email}}, {"primaryInfo.email": {"$eq": event.email}}
    assert event.phone is not None
    return {"info.phones.phone": {"$eq": event.phone}}, {"primaryInfo.phone": {"$eq": event.phone}}


async def _first(site: WixSite, filter: dict[str, object], sort: Sort) -> list[str]:
    page = await site.query_contacts(filter=filter, fields=ID_ONLY, sort=sort, limit=1)
    return [contact.id for contact in page.contacts[:1]]


async def _choose(site: WixSite, event: InboundEvent, policy: ContactPolicy) -> list[str]:
    any_address, primary_address = _filters(event)
    if policy is ContactPolicy.ALL:
        if event.email is not None:
            found = await site.find_contacts_by_email(event.email, fields=ID_ONLY)
        else:
            assert event.phone is not None
            found = await site.find_contacts_by_phone(event.phone, fields=ID_ONLY)
        return [contact.id for contact in found]
    if policy is ContactPolicy.OLDEST:
        return await _first(site, any_address, OLDEST_FIRST)
    if policy is ContactPolicy.PRIMARY:
        # Usually the customer's address is some contact's primary one: one call settles it.
        primary = await _first(site, primary_address, NEWEST_FIRST)
        if primary:
            return primary
    return await _first(site, any_address, NEWEST_FIRST)


async def _create(site: WixSite, event: InboundEvent) -> str:
    try:
        contact = await site.create_contact(
            email=event.email,
            first_name=event.first_name,
            last_name=event.last_name,
            phone=event.phone,
        )
    except WixConflictError as exc:
        # Someone created the contact between our query and our create: use theirs.
        if exc.duplicate_contact_id:
            return exc.duplicate_contact_id
        raise
    return contact.id


def _who(event: InboundEvent) -> str:
    return f"the email {event.email}" if event.email else f"the phone {event.phone}"
