"""What every provider's source works with: the incoming request, the source protocol, and its errors; and, for
sources whose events may name a customer only by the provider's own id, the customer lookup done at delivery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from inboxbridge.events import InboundEvent

__all__ = [
    "CustomerLookup",
    "CustomerLookupError",
    "FoundCustomer",
    "OneTimeProof",
    "PayloadError",
    "SignatureError",
    "SkippedEvent",
    "Source",
    "SourceError",
    "WebhookRequest",
]


@dataclass(frozen=True)
class WebhookRequest:
    """One HTTP request from a provider, as the server received it.

    ``url`` is the full URL the provider called, rebuilt by the server from its public base URL (providers
    sign that URL, not whatever address a proxy forwarded to). Header names are lower-cased; ``received_at``
    is timezone-aware.
    """

    method: str
    url: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None or self.received_at.utcoffset() is None:
            raise ValueError("WebhookRequest.received_at must be timezone-aware")
        # Sources look headers up by lower-case name; normalizing here makes a caller's slip harmless, and the
        # read-only views keep the frozen request really unchangeable.
        object.__setattr__(
            self, "headers", MappingProxyType({name.lower(): value for name, value in self.headers.items()})
        )
        object.__setattr__(self, "query", MappingProxyType(dict(self.query)))


class SourceError(Exception):
    """A request the source refuses.

    ``status`` is the HTTP status to answer; ``reason`` a sentence for people, naming the field or header
    at fault.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, reason={self.reason!r})"


class SignatureError(SourceError):
    """The request is not proven to come from the provider (answered 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(401, reason)


class PayloadError(SourceError):
    """The request is authentic but cannot be turned into events (answered 400, and quarantined)."""

    def __init__(self, reason: str) -> None:
        super().__init__(400, reason)


class SkippedEvent(SourceError):
    """The request is authentic and readable but has nothing to post (answered 200 so the provider stops
    retrying; the request is kept with ``reason`` for the dashboard)."""

    def __init__(self, reason: str) -> None:
        super().__init__(200, reason)


@runtime_checkable
class Source(Protocol):
    """A configured webhook source: verifies a provider's requests and parses them into events. No I/O."""

    @property
    def name(self) -> str:
        """The source's name within its tenant, as in the webhook URL and each event's ``source``."""
        ...

    def verify(self, request: WebhookRequest) -> None:
        """Return when the request is authentic; raise :class:`SignatureError` otherwise."""
        ...

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """The events the request carries; raise :class:`PayloadError` when it cannot be read."""
        ...


@dataclass(frozen=True)
class FoundCustomer:
    """What a provider knows of one of its customers: addresses best first, phone, names. Empty when it knows
    nothing more than the event did."""

    emails: tuple[str, ...] = ()
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class CustomerLookupError(Exception):
    """A customer lookup that failed. ``retryable``: trying later may succeed (timeout, 429, 5xx); otherwise it
    cannot (a deleted customer, a refused key) and the event is dead-lettered with ``reason``, the provider's
    words included. ``retry_after``: seconds the provider asked to wait, if it said."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


@runtime_checkable
class CustomerLookup(Protocol):
    """A source that can find out who a customer reference (``InboundEvent.customer_ref``) is, through the
    provider's API. Called at delivery, never while a webhook is answered."""

    async def find_customer(self, ref: str) -> FoundCustomer:
        """The customer ``ref`` names; raises :class:`CustomerLookupError`."""
        ...


@dataclass(frozen=True)
class OneTimeProof:
    """A value a provider signs that no two genuine requests share (Mailgun's ``token``), with the time its
    signature stops being accepted anyway. When the signature does not cover the body, a captured request's proof
    could be reused with another body inside that window: the server accepts each proof once. A source whose
    requests carry one has a ``one_time_proof(request) -> OneTimeProof`` method, called once ``verify`` passed."""

    value: str
    valid_until: datetime

