"""Step 1 of the flow: which Wix contact(s) an event's customer is.

Query Contacts asks only for ``id``. An event that names an email is that email's customer: it is looked up by
the email alone, since a phone is often shared (a household, a company's switchboard) and taking whoever has it
would put the customer's words in another person's conversation. Only an event without an email is looked up by
phone number: Wix keeps a phone as typed ("(415) 555-0142") with a country code and derives its E.164 form, on
which the documented filter ``info.phones.e164Phone`` matches; a contact whose number has no E.164 form (no or a
wrong country code) is found on the forms the number may have been typed in. The contact policy decides between
several contacts sharing an email or phone, and the missing-contact policy what happens when there are none (a
created contact gets the email, and the phone in E.164 with its country code). Answers are cached per customer.

An event that names its customer only by the provider's id has them looked up through its source first (see
``customers.py``); a customer the provider knows no email or phone of (a chat visitor who left none) gets a
contact created by name, which only the cache can find again: it is kept for a long time.
"""

from __future__ import annotations

from inboxbridge.config import ContactPolicy, MissingContactPolicy, PolicySettings
from inboxbridge.events import InboundEvent
from inboxbridge.phones import normalize_phone, region_of
from inboxbridge.pipeline.customers import Customer, identify
from inboxbridge.pipeline.errors import NoContactError
from inboxbridge.pipeline.id_cache import IdCache
from inboxbridge.providers.base import Source
from inboxbridge.wix import Sort, WixConflictError, WixSite

__all__ = ["customer_phone", "resolve_contacts"]

ID_ONLY = ["id"]
NEWEST_FIRST = Sort(field_name="createdDate", order="DESC")
OLDEST_FIRST = Sort(field_name="createdDate", order="ASC")
NAME_ONLY_TTL_SECONDS = 400 * 86_400
"""How long the contact of a customer known by name only is remembered: nothing else can find it again."""


async def resolve_contacts(
    site: WixSite, cache: IdCache, event: InboundEvent, policy: PolicySettings, *, source: Source | None = None
) -> list[str]:
    """The contact ids the event is delivered to (one, or several under the ``all`` policy). ``source`` is the
    event's source, which looks up a customer the event names only by the provider's id."""
    cached = await cache.get_cached_contacts(event.tenant, event.customer_key)
    if cached:
        return cached
    customer = await identify(event, source)
    phone = customer_phone(customer.phone, policy)
    ids: list[str] = []
    if customer.email is not None:
        ids = await _choose_by_email(site, customer.email, policy.contacts)
    elif phone is not None and customer.phone is not None:
        ids = await _choose_by_phone(site, phone, _typed_forms(customer.phone, phone), policy.contacts)
    if not ids:
        if policy.missing_contact is MissingContactPolicy.SKIP:
            raise NoContactError(f"no Wix contact has {_who(customer, phone)} and the missing-contact policy is 'skip'")
        if customer.by_name_only and not (customer.first_name or customer.last_name):
            raise NoContactError(
                f"nothing is known of the customer {customer.ref} to create a Wix contact from: no email, phone or name"
            )
        ids = [await _create(site, customer, phone)]
    ttl = policy.cache_ttl_seconds
    if customer.by_name_only:
        ttl = max(ttl, NAME_ONLY_TTL_SECONDS)
    await cache.put_cached_contacts(event.tenant, event.customer_key, ids, ttl)
    return ids


def customer_phone(raw: str | None, policy: PolicySettings) -> str | None:
    """The phone ``raw`` in E.164 (national numbers read in ``policy.default_phone_region``).

    A number the library cannot read is used as the source wrote it: a contact may have been saved that way.
    """
    if raw is None:
        return None
    try:
        return normalize_phone(raw, policy.default_phone_region)
    except ValueError:
        return raw.strip()


async def _first(site: WixSite, filter: dict[str, object], sort: Sort) -> list[str]:
    page = await site.query_contacts(filter=filter, fields=ID_ONLY, sort=sort, limit=1)
    return [contact.id for contact in page.contacts[:1]]


async def _choose_by_email(site: WixSite, email: str, policy: ContactPolicy) -> list[str]:
    """The contact(s) having ``email``, as ``policy`` picks them."""
    if policy is ContactPolicy.ALL:
        return [contact.id for contact in await site.find_contacts_by_email(email, fields=ID_ONLY)]
    return await _pick(site, {"primaryInfo.email": {"$eq": email}}, [{"info.emails.email": {"$eq": email}}], policy)


async def _choose_by_phone(site: WixSite, phone: str, typed: list[str], policy: ContactPolicy) -> list[str]:
    """The contact(s) having the number ``phone`` (E.164, or as written when it could not be read) on its E.164
    form or, failing that, as typed in one of the forms ``typed``, as ``policy`` picks them."""
    e164 = phone if phone.startswith("+") else None
    if policy is ContactPolicy.ALL:
        found = await site.find_contacts_by_phone(e164, fields=ID_ONLY) if e164 is not None else []
        if not found:
            found = await site.find_contacts_by_typed_phone(typed, fields=ID_ONLY)
        return [contact.id for contact in found]
    anywhere: list[dict[str, object]] = [{"info.phones.e164Phone": {"$eq": e164}}] if e164 is not None else []
    anywhere.append({"info.phones.phone": {"$in": typed}})
    return await _pick(site, {"primaryInfo.phone": {"$in": typed}}, anywhere, policy)


async def _pick(
    site: WixSite, primary: dict[str, object], anywhere: list[dict[str, object]], policy: ContactPolicy
) -> list[str]:
    """One contact by ``policy``: under ``primary``, first the newest whose primary address matches ``primary``;
    then the newest (or, under ``oldest``, the oldest) matching the first of the ``anywhere`` filters that finds
    one."""
    if policy is ContactPolicy.PRIMARY:
        # Usually the customer's address is some contact's primary one: one call settles it.
        found = await _first(site, primary, NEWEST_FIRST)
        if found:
            return found
    order = OLDEST_FIRST if policy is ContactPolicy.OLDEST else NEWEST_FIRST
    for filter in anywhere:
        found = await _first(site, filter, order)
        if found:
            return found
    return []


def _typed_forms(raw: str, phone: str) -> list[str]:
    """The forms a contact's phone may have been typed in for this number: as the source wrote it, and E.164."""
    return list(dict.fromkeys(form for form in (raw.strip(), phone) if form))


async def _create(site: WixSite, customer: Customer, phone: str | None) -> str:
    try:
        contact = await site.create_contact(
            email=customer.email,
            first_name=customer.first_name,
            last_name=customer.last_name,
            phone=phone,
            phone_country=region_of(phone) if phone is not None and phone.startswith("+") else None,
        )
    except WixConflictError as exc:
        # Someone created the contact between our query and our create: use theirs.
        if exc.duplicate_contact_id:
            return exc.duplicate_contact_id
        raise
    return contact.id


def _who(customer: Customer, phone: str | None) -> str:
    if customer.email:
        return f"the email {customer.email}"
    if phone:
        return f"the phone {phone}"
    return f"the customer {customer.ref} (no email or phone is known)"
