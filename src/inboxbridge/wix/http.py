"""The narrow HTTP interface the Wix client sends through, whichever library carries the bytes.

An :class:`HttpBackend` makes one exchange with Wix and gives back a :class:`RawResponse` for any HTTP answer,
whatever its status. When no answer comes, it raises :class:`~inboxbridge.wix.WixTimeoutError` or
:class:`~inboxbridge.wix.WixConnectionError`, with ``outcome_unknown`` False when the request certainly never
reached Wix (connect failure, no free connection in time) and True once it may have (read timeout, connection
broken after sending).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx2

from inboxbridge.wix.errors import WixConnectionError, WixRetryableError, WixTimeoutError

__all__ = ["DEFAULT_LIMITS", "USER_AGENT", "HttpBackend", "RawResponse", "no_answer_error"]

USER_AGENT = "inboxbridge"
DEFAULT_LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20)


@dataclass(frozen=True, slots=True)
class RawResponse:
    """One HTTP answer: status, reason phrase, headers (case-insensitive lookup) and the whole body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_success(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300


class HttpBackend(Protocol):
    """One connection pool to the Wix base URL."""

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        json_body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> RawResponse:
        """Send one request to the base URL's ``path``; ``json_body`` goes out as ``application/json``."""
        ...

    async def aclose(self) -> None:
        """Close the pool's connections; later exchanges raise RuntimeError."""
        ...


def no_answer_error(
    failure: str, *, timed_out: bool, request_sent: bool, method: str, path: str
) -> WixRetryableError:
    """The typed error for an exchange that got no HTTP answer; ``failure`` names the library's exception.

    ``request_sent`` False means not a byte of the request left (no connection, or none in time): Wix certainly
    did not see it.
    """
    if timed_out:
        what = "no answer in time" if request_sent else "no connection in time"
        return WixTimeoutError(f"{failure}: {what}", outcome_unknown=request_sent, method=method, path=path)
    what = "the connection broke before an answer came" if request_sent else "could not connect"
    return WixConnectionError(f"{failure}: {what}", outcome_unknown=request_sent, method=method, path=path)
