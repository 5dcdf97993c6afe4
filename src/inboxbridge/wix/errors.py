"""Typed exceptions for Wix API failures, and the parsing of Wix's error bodies and Retry-After headers.

Every failure a caller can see is a :class:`WixError`. The split that matters to callers is
:class:`WixRetryableError` (try again later) versus :class:`WixPermanentError` (fix the request or give up),
plus ``outcome_unknown``, which says whether Wix may have applied the request although it failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "FieldViolation",
    "WixBadRequestError",
    "WixConflictError",
    "WixConnectionError",
    "WixError",
    "WixForbiddenError",
    "WixNotFoundError",
    "WixPermanentError",
    "WixPreconditionError",
    "WixRateLimitedError",
    "WixRetryableError",
    "WixServerError",
    "WixTimeoutError",
    "WixUnauthorizedError",
    "error_for_status",
    "parse_retry_after",
]

_MAX_BODY_IN_MESSAGE = 200


@dataclass(frozen=True)
class FieldViolation:
    """One entry of Wix's ``validationError.fieldViolations``: which field broke which rule."""

    field: str | None
    description: str | None
    violated_rule: str | None


class WixError(Exception):
    """Any failure of a Wix API call.

    ``status`` is the HTTP status (None when no answer came back), ``message`` Wix's message, ``code`` the
    ``applicationError`` code, ``description`` and ``data`` its other fields, ``field_violations`` the
    validation errors and ``request_id`` the ``x-wix-request-id`` header, for Wix support.
    ``retry_after`` (seconds) and ``outcome_unknown`` are only ever set on :class:`WixRetryableError`; they
    are defined here so that a caller can read them on any error.
    """

    retry_after: float | None = None
    outcome_unknown: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        description: str | None = None,
        data: dict[str, Any] | None = None,
        field_violations: list[FieldViolation] | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.description = description
        self.data: dict[str, Any] = data or {}
        self.field_violations: list[FieldViolation] = field_violations or []
        self.request_id = request_id
        self.method = method
        self.path = path

    def __str__(self) -> str:
        parts = [str(self.status) if self.status is not None else type(self).__name__]
        if self.code:
            parts.append(self.code)
        text = " ".join(parts) + f": {self.message}"
        if self.field_violations:
            text += " [" + "; ".join(
                f"{v.field}: {v.description or v.violated_rule}" for v in self.field_violations
            ) + "]"
        if self.method and self.path:
            text += f" ({self.method} {self.path})"
        if self.request_id:
            text += f" (x-wix-request-id {self.request_id})"
        return text


class WixRetryableError(WixError):
    """A failure that may go away by itself: throttling, Wix-side errors, timeouts, network trouble.

    ``retry_after`` is Wix's Retry-After in seconds when it sent one. ``outcome_unknown`` is True when the
    request may have reached Wix and been applied (read timeout, connection dropped after sending, 5xx answer
    to a write), False when it certainly was not (connect error, pool timeout, 429).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
        **fields: Any,
    ) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown


class WixRateLimitedError(WixRetryableError):
    """429: Wix throttled the request before acting on it."""


class WixServerError(WixRetryableError):
    """5xx: something failed on Wix's side."""


class WixTimeoutError(WixRetryableError):
    """No complete answer in time (connect, pool, write or read timeout)."""


class WixConnectionError(WixRetryableError):
    """The connection could not be made, or broke before an answer came."""


class WixPermanentError(WixError):
    """A failure that repeating the same request will not fix."""


class WixBadRequestError(WixPermanentError):
    """400: the request is invalid; ``field_violations`` usually says why."""


class WixUnauthorizedError(WixPermanentError):
    """401: the API key or access token was refused (for an app instance: even after one token refresh)."""


class WixForbiddenError(WixPermanentError):
    """403: the key or app lacks the permission, or the site does not allow the call."""


class WixNotFoundError(WixPermanentError):
    """404: the addressed contact, conversation, ... does not exist (e.g. code ``CONVERSATION_NOT_FOUND``)."""


class WixConflictError(WixPermanentError):
    """409: conflicts with the current state (e.g. ``DUPLICATE_CONTACT_EXISTS``)."""

    @property
    def duplicate_contact_id(self) -> str | None:
        """For ``DUPLICATE_CONTACT_EXISTS``: the id of the contact that already has the email."""
        value = self.data.get("duplicateContactId")
        return value if isinstance(value, str) else None


class WixPreconditionError(WixPermanentError):
    """428: a precondition of the call failed."""


_PERMANENT_BY_STATUS: dict[int, type[WixPermanentError]] = {
    400: WixBadRequestError,
    401: WixUnauthorizedError,
    403: WixForbiddenError,
    404: WixNotFoundError,
    409: WixConflictError,
    428: WixPreconditionError,
}


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or invalid."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max((when - reference).total_seconds(), 0.0)


def _parse_body(body: bytes, json_body: Any) -> tuple[str | None, dict[str, Any]]:
    """Wix's message and ``details`` from an error body, tolerating empty and non-JSON bodies."""
    if isinstance(json_body, dict):
        message = json_body.get("message")
        details = json_body.get("details")
        return (
            message if isinstance(message, str) and message else None,
            details if isinstance(details, dict) else {},
        )
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None, {}
    if len(text) > _MAX_BODY_IN_MESSAGE:
        text = text[:_MAX_BODY_IN_MESSAGE] + "..."
    return text, {}


def _violations(details: dict[str, Any]) -> list[FieldViolation]:
    validation = details.get("validationError")
    if not isinstance(validation, dict):
        return []
    raw = validation.get("fieldViolations")
    if not isinstance(raw, list):
        return []
    return [
        FieldViolation(
            field=_str_or_none(item.get("field")),
            description=_str_or_none(item.get("description")),
            violated_rule=_str_or_none(item.get("violatedRule")),
        )
        for item in raw
        if isinstance(item, dict)
    ]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def error_for_status(
    status: int,
    *,
    reason: str,
    body: bytes,
    json_body: Any,
    request_id: str | None,
    retry_after: str | None,
    writes: bool,
    method: str | None = None,
    path: str | None = None,
) -> WixError:
    """The typed exception for a non-2xx answer.

    ``json_body`` is the decoded body or None when it is not JSON; ``writes`` says whether the call changes
    state on Wix, which decides ``outcome_unknown`` for a 5xx answer.
    """
    message, details = _parse_body(body, json_body)
    application = details.get("applicationError")
    application = application if isinstance(application, dict) else {}
    data = application.get("data")
    fields: dict[str, Any] = {
        "status": status,
        "code": _str_or_none(application.get("code")),
        "description": _str_or_none(application.get("description")),
        "data": data if isinstance(data, dict) else {},
        "field_violations": _violations(details),
        "request_id": request_id,
        "method": method,
        "path": path,
    }
    text = message or reason or f"HTTP {status}"
    if status == 429:
        return WixRateLimitedError(text, retry_after=parse_retry_after(retry_after), **fields)
    if status >= 500:
        return WixServerError(
            text, retry_after=parse_retry_after(retry_after), outcome_unknown=writes, **fields
        )
    cls = _PERMANENT_BY_STATUS.get(status, WixPermanentError)
    return cls(text, **fields)
