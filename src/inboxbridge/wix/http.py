"""The narrow HTTP interface the Wix client sends through, and the timeouts and pool limits that size it.

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

from inboxbridge.wix.errors import WixConnectionError, WixRetryableError, WixTimeoutError

__all__ = ["USER_AGENT", "HttpBackend", "Limits", "RawResponse", "Timeout", "no_answer_error"]

USER_AGENT = "inboxbridge"


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds one exchange may wait at each step; None: no limit.

    ``connect`` bounds the TCP connect and TLS handshake, ``pool`` the wait for a free pooled connection, and
    ``read`` each wait for the answer's bytes.
    """

    connect: float | None
    read: float | None
    pool: float | None

    def __post_init__(self) -> None:
        if any(seconds is not None and seconds < 0 for seconds in (self.connect, self.read, self.pool)):
            raise ValueError("a timeout must not be negative")

    @classmethod
    def uniform(cls, seconds: float | None) -> Timeout:
        """The same limit for every step."""
        return cls(connect=seconds, read=seconds, pool=seconds)


@dataclass(frozen=True, slots=True)
class Limits:
    """The connection pool's size: at most ``max_connections`` (None: no cap) open at once.

    With ``keep_alive`` a connection stays open for the next request until it has been idle for
    ``keepalive_expiry`` seconds (None: until Wix closes it); without, each request opens its own.
    """

    max_connections: int | None = 100
    keep_alive: bool = True
    keepalive_expiry: float | None = 5.0

    def __post_init__(self) -> None:
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError("max_connections must be at least 1, or None for no cap")
        if self.keepalive_expiry is not None and self.keepalive_expiry < 0:
            raise ValueError("keepalive_expiry must not be negative")


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
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> RawResponse:
        """Send one request to ``path`` under the base URL, with ``body`` and ``headers`` as given."""
        ...

    async def aclose(self) -> None:
        """Close the pool's connections; later exchanges raise RuntimeError."""
        ...


def no_answer_error(
    failure: str, *, timed_out: bool, request_sent: bool, method: str, path: str
) -> WixRetryableError:
    """The typed error for an exchange that got no HTTP answer; ``failure`` names what went wrong.

    ``request_sent`` False means not a byte of the request left (no connection, or none in time): Wix certainly
    did not see it.
    """
    if timed_out:
        what = "no answer in time" if request_sent else "no connection in time"
        return WixTimeoutError(f"{failure}: {what}", outcome_unknown=request_sent, method=method, path=path)
    what = "the connection broke before an answer came" if request_sent else "could not connect"
    return WixConnectionError(f"{failure}: {what}", outcome_unknown=request_sent, method=method, path=path)
