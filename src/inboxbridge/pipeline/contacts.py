"""Step 1 of the flow: which Wix contact(s) an event's customer is.

Query Contacts asks only for ``id``. An event that names an email is that email's customer: it is looked up by
the email alone, since a phone is often shared (a household, a company's switchboard) and taking whoever has it
would put the customer's words in another person's conversation. Only an event without an email is looked up by
phone number, in E.164 (a national number is read with the policy's default region). The contact policy decides
between several contacts sharing an email or phone, and the missing-contact policy what happens when there are
none (a created contact gets the email and the phone). Answers are cached per customer.
"""

from __future__ import annotations

from inboxbridge.config import ContactPolicy, MissingContactPolicy, PolicySettings
from inboxbridge.events import InboundEvent
from inboxbridge.phones import normalize_phone
from inboxbridge.pipeline.errors import NoContactError
from inboxbridge.pipeline.id_cache import IdCache
from inboxbridge.wix import Sort, WixConflictError, WixSite

__all__ = ["customer_phone", "resolve_contacts"]

ID_ONLY = ["id"]
NEWEST_FIRST = Sort(field_name="createdDate", order="DESC")
OLDEST_FIRST = Sort(field_name="createdDate", order="ASC")


async def resolve_contacts(site: WixSite, cache: IdCache, event: InboundEvent, policy: PolicySettings) -> list[str]:
    """The contact ids the event is delivered to (one, or several under the ``all`` policy)."""
    cached = await cache.get_cached_contacts(event.tenant, event.customer_key)
    if cached:
        return cached
    phone = customer_phone(event, policy)
    ids: list[str] = []
    if event.email is not None:
        ids = await _choose(site, "email", event.email, policy.contacts)
    elif phone is not None:
        ids = await _choose(site, "phone", phone, policy.contacts)
    if not ids:
        if policy.missing_contact is MissingContactPolicy.SKIP:
            raise NoContactError(f"no Wix contact has {_who(event, phone)} and the missing-contact policy is 'skip'")
        ids = [await _create(site, event, phone)]
    await cache.put_cached_contacts(event.tenant, event.customer_key, ids, policy.cache_ttl_seconds)
    return ids


def customer_phone(event: InboundEvent, policy: PolicySettings) -> str | None:
    """The event's phone in E.164 (national numbers read in ``policy.default_phone_region``).

    A number the library cannot read is used as the source wrote it: a contact may have been saved that way.
    """
    if event.phone is None:
        return None
    try:
        return normalize_phone(event.phone, policy.default_phone_region)
    except ValueError:
        return event.phone.strip()


async def _first(site: WixSite, filter: dict[str, object], sort: Sort) -> list[str]:
    page = await site.query_contacts(filter=filter, fields=ID_ONLY, sort=sort, limit=1)
    return [contact.id for contact in page.contacts[:1]]


async def _choose(site: WixSite, kind: str, value: str, policy: ContactPolicy) -> list[str]:
    """The contact(s) with ``value`` as an email or phone (``kind``), as ``policy`` picks them."""
    if policy is ContactPolicy.ALL:
        if kind == "email":
            found = await site.find_contacts_by_email(value, fields=ID_ONLY)
        else:
            found = await site.find_contacts_by_phone(value, fields=ID_ONLY)
        return [contact.id for contact in found]
    any_address: dict[str, object] = {f"info.{kind}s.{kind}": {"$eq": value}}
    if policy is ContactPolicy.OLDEST:
        return await _first(site, any_address, OLDEST_FIRST)
    if policy is ContactPolicy.PRIMARY:
        # Usually the customer's address is some contact's primary one: one call settles it.
        primary = await _first(site, {f"primaryInfo.{kind}": {"$eq": value}}, NEWEST_FIRST)
        if primary:
            return primary
    return await _first(site, any_address, NEWEST_FIRST)


async def _create(site: WixSite, event: InboundEvent, phone: str | None) -> str:
    try:
        contact = await site.create_contact(
            email=event.email,
            first_name=event.first_name,
            last_name=event.last_name,
            phone=phone,
        )
    except WixConflictError as exc:
        # Someone created the contact between our query and our create: use theirs.
        if exc.duplicate_contact_id:
            return exc.duplicate_contact_id
        raise
    return contact.id


def _who(event: InboundEvent, phone: str | None) -> str:
    return f"the email {event.email}" if event.email else f"the phone {phone}"
