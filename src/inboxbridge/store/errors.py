"""Exceptions the store raises, so callers can answer without knowing the database underneath."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

__all__ = [
    "LeaseLost",
    "SchemaVersionError",
    "StoreError",
    "StoreUnavailable",
    "is_outage",
    "unavailable_on_failure",
]


class StoreError(Exception):
    """Base class of the store's own errors."""


class StoreUnavailable(StoreError):
    """The database could not do what was asked (locked too long, disk full, read-only, connection lost).

    Nothing of the failed call was stored; the HTTP layer answers 503 so the sender retries later.
    """


class LeaseLost(StoreError):
    """The caller's lease on an event is gone: it expired and another worker took the event over, or ended."""

    @classmethod
    def of_event(cls, event_id: int) -> LeaseLost:
        """The error for ``event_id``, worded alike by every queue."""
        return cls(
            f"event {event_id} is no longer leased with this token: the lease expired and another worker "
            "claimed it, or the event was already finished"
        )


class SchemaVersionError(StoreError):
    """The database schema is missing, behind, or of a version this inboxbridge does not know."""


@contextmanager
def unavailable_on_failure(what: str) -> Iterator[None]:
    """Turn a database failure inside the block into :class:`StoreUnavailable` naming ``what`` failed.

    Integrity errors are left alone: they mean a bug in a query, not an unavailable database.
    """
    try:
        yield
    except IntegrityError:
        raise
    except (DBAPIError, SQLAlchemyTimeoutError, OSError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise StoreUnavailable(f"{what} failed: {detail}") from exc


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is out of reach for any caller (locked, read-only, disk full,
    connection lost, no free connection), rather than that one statement's data was refused."""
    cause = exc.__cause__ if isinstance(exc, StoreUnavailable) else None
    return isinstance(cause, OperationalError | InterfaceError | SQLAlchemyTimeoutError | OSError)
