"""What the admin API answers and accepts (its OpenAPI schemas); the dashboard renders the same objects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, Field

__all__ = [
    "MAX_ID",
    "Attempt",
    "DeadLetterAction",
    "Dropped",
    "EventDetail",
    "EventSummary",
    "IdPath",
    "Link",
    "Offset",
    "QuarantinedRequest",
    "Reingested",
    "Replayed",
    "TenantOverview",
]

MAX_ID = 2**63 - 1
"""The largest row id or offset the databases hold (64-bit signed); a larger number is refused with 422, not
passed to the database to fail there."""
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


class TenantOverview(BaseModel):
    """One tenant's events by state, backlog age and latest error."""

    tenant: str
    status: str = Field(description="active, or stopped (its Wix app was removed)")
    instance_id: str | None = None
    accepted: int = Field(description="every stored event")
    delivered: int
    pending: int
    in_flight: int
    retrying: int = Field(description="pending events that failed at least once")
    retrying_exact: bool = Field(description="false when the backlog was too long to count fully")
    dead: int
    parked: int
    oldest_pending_age_seconds: float | None
    last_error: str | None
    last_error_event_id: int | None


class EventSummary(BaseModel):
    """An event in a list."""

    id: int
    tenant: str
    source: str
    kind: str
    status: str
    customer: str = Field(description='"email:<address>" or "phone:<number>"')
    occurred_at: datetime
    received_at: datetime
    attempts: int
    last_error: str | None
    conversation_id: str | None
    wix_message_id: str | None
    delivered_at: datetime | None
    preview: str


class Attempt(BaseModel):
    """One delivery try with Wix's answer."""

    started_at: datetime
    finished_at: datetime
    outcome: str
    wix_status: int | None
    wix_code: str | None
    wix_message: str | None
    wix_request_id: str | None
    conversation_id: str | None
    message_id: str | None
    detail: str | None


class Link(BaseModel):
    """A place to look at the event's conversation."""

    label: str
    url: str


class EventDetail(EventSummary):
    """An event with its payload (secrets masked), the Wix message it becomes, and every try."""

    next_attempt_at: datetime
    send_state: str
    payload: Any = Field(description="the provider's JSON as received, secret-looking fields masked")
    event: dict[str, Any] = Field(description="the normalized event")
    rendered: dict[str, Any] | None = Field(description="the Send Message body built from the event")
    render_error: str | None
    attempt_history: list[Attempt]
    links: list[Link]


class QuarantinedRequest(BaseModel):
    """A webhook kept as received (credentials masked): one row per distinct body of a tenant, source and kind."""

    id: int
    tenant: str | None
    source: str | None
    kind: str = Field(
        description="unreadable (answered 400), refused (401: bad signature) or skipped (valid, nothing to post)"
    )
    reason: str
    method: str
    url: str = Field(
        description="the URL called, its credentials shown as ***: the query parameter the source reads its token "
        "from, secret-looking parameters, user:password@"
    )
    received_at: datetime = Field(description="when this body first arrived")
    hits: int = Field(description="how many times this body arrived (provider retries included)")
    last_seen_at: datetime = Field(description="when this body last arrived")
    headers: dict[str, Any] = Field(
        description="the request's headers, credentials shown as ***: secret-looking names, Basic or Bearer values, "
        "tokens in URLs"
    )
    body: str = Field(description="the body as text (invalid UTF-8 replaced)")
    body_bytes: int


class DeadLetterAction(BaseModel):
    """Which dead letters to act on: ``ids``, or ``all`` of them (of a tenant, of a source)."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list)
    all: bool = False
    tenant: str | None = None
    source: str | None = None


class Replayed(BaseModel):
    """How many dead events went back to the queue."""

    replayed: int


class Dropped(BaseModel):
    """How many dead events were deleted."""

    dropped: int


class Reingested(BaseModel):
    """The outcome of parsing a quarantined request again."""

    accepted: int
    duplicates: int
    event_ids: list[int]
    ignored: bool = Field(description="the source does not sync this request's events; it was deleted")
