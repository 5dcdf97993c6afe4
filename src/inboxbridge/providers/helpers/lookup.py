"""What the customer lookups of providers share: one GET of a provider's JSON API under our own timeouts, its
outcome sorted into an answer, a failure worth retrying or a failure for good, and a cache of the answers.

Lookups run at delivery, for the few events that name a customer only by the provider's id, and most of them are
answered from the cache or never made (the pipeline caches the customer's Wix contact). So each request opens its
own short-lived connection: no session outlives the call, whatever event loop runs it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

import aiohttp
import orjson

from inboxbridge.providers.base import CustomerLookupError

__all__ = ["TtlCache", "get_json", "scrub"]

MAX_ANSWER_BYTES = 1 << 20
"""A customer record is a few kilobytes; anything past this is not one."""

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Values by key for ``ttl_seconds`` each, at most ``max_entries`` (the oldest go first). In memory, per
    source: a restart or another node asks the provider again, which is only a little slower."""

    def __init__(
        self, ttl_seconds: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()

    def get(self, key: str) -> V | None:
        """The value kept for ``key``, unless none is or it has expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock():
            del self._entries[key]
            return None
        return entry[0]

    def put(self, key: str, value: V) -> None:
        """Keep ``value`` for ``key`` from now on."""
        self._entries.pop(key, None)
        self._entries[key] = (value, self._clock() + self._ttl)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` blotted out, for messages that quote a provider's words."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= 86_400 else None


def _json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


async def get_json(
    url: str,
    *,
    provider: str,
    headers: Mapping[str, str],
    timeout_seconds: float,
    words: Callable[[Any], str | None],
    secrets: Iterable[str] = (),
) -> Any:
    """GET ``url`` from ``provider``'s API (the name, for messages) and return the JSON of its 2xx answer.

    Anything else raises :class:`CustomerLookupError`: retryable for a timeout, a connection failure, 429 or 5xx
    (with the ``Retry-After`` seconds, if given), for good for other statuses. ``words(body)`` picks the
    provider's own explanation out of an error answer; ``secrets`` never appear in a message.
    """
    hidden = tuple(secrets)
    timeout = aiohttp.ClientTimeout(total=timeout_seconds, sock_connect=timeout_seconds)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=dict(headers), allow_redirects=False) as response,
        ):
            raw = await response.content.read(MAX_ANSWER_BYTES + 1)
            status, retry_after = response.status, response.headers.get("Retry-After")
    except TimeoutError:
        raise CustomerLookupError(
            f"{provider} did not answer the customer lookup within {timeout_seconds:g} s", retryable=True
        ) from None
    except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError) as error:
        reason = scrub(f"cannot reach {provider} for the customer lookup: {type(error).__name__}: {error}", hidden)
        raise CustomerLookupError(reason, retryable=True) from None
    body = _json(raw) if len(raw) <= MAX_ANSWER_BYTES else None
    if 200 <= status < 300:
        if body is None:
            raise CustomerLookupError(f"{provider} answered {status} without a JSON body", retryable=True)
        return body
    said = words(body) if body is not None else None
    reason = scrub(f"{provider} {status}" + (f": {said}" if said else ""), hidden)
    if status == 429 or status >= 500:
        raise CustomerLookupError(reason, retryable=True, retry_after=_retry_after(retry_after))
    raise CustomerLookupError(reason, retryable=False)
