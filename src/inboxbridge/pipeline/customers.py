"""Who an event's customer is, as the contact lookup needs it: the event's own email, phone and name, or, for an
event that names its customer only by the provider's id (``customer_ref``), what the provider says of them.

The provider is asked through the event's source, at delivery (a webhook is answered before any of this runs).
Its failures keep their kind: one that retrying can fix makes the delivery retry, one it cannot dead-letters the
event with the provider's words.
"""

from __future__ import annotations

from dataclasses import dataclass

from inboxbridge.events import InboundEvent, looks_like_email, normalize_email
from inboxbridge.pipeline.errors import NoContactError
from inboxbridge.providers.base import CustomerLookup, Source

__all__ = ["Customer", "identify"]


@dataclass(frozen=True)
class Customer:
    """The customer's email (normalized), phone (as the source wrote it) and names, any of which may be unknown;
    ``ref`` is the provider's id of them, when the event gave one."""

    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    ref: str | None = None

    @property
    def by_name_only(self) -> bool:
        """Neither an email nor a phone is known: no contact can be found, only one created by name."""
        return self.email is None and self.phone is None


async def identify(event: InboundEvent, source: Source | None) -> Customer:
    """The customer of ``event``; for one known only by ``customer_ref``, as ``source`` finds them."""
    own = Customer(event.email, event.phone, event.first_name, event.last_name, event.customer_ref)
    ref = event.customer_ref
    if not own.by_name_only or ref is None:
        return own
    if not isinstance(source, CustomerLookup):
        raise NoContactError(
            f"the event names its customer only as {ref}, and its source {event.source!r} is not configured to "
            "look customers up any more"
        )
    found = await source.find_customer(ref)
    # A provider keeps what people typed: an address that is not one is no way to reach them.
    email = next((normalize_email(e) for e in found.emails if looks_like_email(e.strip())), None)
    phone = found.phone.strip() if found.phone and found.phone.strip() else None
    named = found.first_name or found.last_name
    return Customer(
        email,
        phone,
        found.first_name if named else event.first_name,
        found.last_name if named else event.last_name,
        ref,
    )
