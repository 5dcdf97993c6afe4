"""Reading a request body as JSON, with one set of reasons for every provider that posts JSON."""

from __future__ import annotations

from typing import Any

import orjson

from inboxbridge.providers.base import PayloadError

__all__ = ["read_json", "read_json_object"]


def read_json(body: bytes) -> Any:
    """The JSON value in ``body``; :class:`PayloadError` saying why it cannot be read otherwise.

    A UTF-8 byte order mark is tolerated: some senders write one, and it says nothing about the content.
    """
    if not body.strip():
        raise PayloadError("body is not valid JSON: the body is empty")
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        reason = f"body is not valid JSON: it is not UTF-8 text (bad byte at {error.start})"
        raise PayloadError(reason) from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise PayloadError(f"body is not valid JSON: {error}") from None


def read_json_object(body: bytes, *, expected: str | None = None) -> dict[str, Any]:
    """The body as a JSON object; ``expected`` names what the object should be, for the refusal of anything else."""
    data = read_json(body)
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object" + (f": expected {expected}" if expected else ""))
    return data
