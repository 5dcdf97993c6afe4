"""How long a client may take to send a request, how many connections are served at once, and how many files the
process may hold open for them.

uvicorn times a connection out only between requests (its keep-alive timeout starts after a response): a client
that opens a connection and sends nothing, half its headers, or half its body holds the connection, one file
descriptor of the process, for as long as it likes. :class:`TimedHttpProtocol` is uvicorn's httptools protocol with
two deadlines: the request's headers must all arrive within ``header_timeout_seconds`` of the connection opening
(or of the first byte of a keep-alive connection's next request; until that byte comes, uvicorn's keep-alive
timeout applies), and its body within ``body_timeout_seconds`` of the headers. A connection that misses one is
answered 408 when the request has begun and nothing was answered yet, and closed. ``max_connections`` becomes
uvicorn's ``limit_concurrency``: past it, requests are answered 503 rather than served.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable
from typing import Any, ClassVar, TypedDict

import structlog
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from inboxbridge.config import Settings

__all__ = ["ConnectionOptions", "TimedHttpProtocol", "connection_options", "raise_open_file_limit", "timed_protocol"]

log = structlog.get_logger("inboxbridge.connections")

_TIMED_OUT = b"request timed out: send the whole request sooner"
# Descriptors the process needs besides client connections: the store, Wix connections, logs, listening sockets.
_SPARE_FILES = 100


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for a request's headers and one for its body.

    Use :func:`timed_protocol` to get a subclass with the deadlines set; uvicorn builds one instance per connection.
    """

    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._request_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the header deadline: a connection that sends nothing is closed when it passes."""
        super().connection_made(transport)
        self._set_deadline(self.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline with the connection."""
        self._clear_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Bytes after a finished exchange start the next request's header deadline."""
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._set_deadline(self.header_timeout, self._headers_late)
        super().data_received(data)

    def on_message_begin(self) -> None:
        """A request begins (its deadline already runs, from the connection or its first byte)."""
        super().on_message_begin()
        self._request_begun = True
        if self._deadline is None:
            # A pipelined request, parsed while the one before it is still being answered.
            self._set_deadline(self.header_timeout, self._headers_late)

    def on_headers_complete(self) -> None:
        """Headers in time: the body's deadline starts."""
        self._set_deadline(self.body_timeout, self._body_late)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request is in: no deadline until the next one begins."""
        self._clear_deadline()
        self._request_begun = False
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        """The connection leaves HTTP for another protocol, and these deadlines with it."""
        self._clear_deadline()
        super().handle_websocket_upgrade()

    def _set_deadline(self, seconds: float, callback: Callable[[], None]) -> None:
        self._clear_deadline()
        self._deadline = self.loop.call_later(seconds, callback)

    def _clear_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        # A connection that never began a request gets no answer: a browser's spare connection must not read a
        # 408 as the answer to a request it sends later.
        self._time_out("headers", answer=self._request_begun)

    def _body_late(self) -> None:
        self._deadline = None
        if self.flow.read_paused:
            # Reading is paused because the app has not taken what arrived yet: the wait is ours, not the client's.
            self._set_deadline(self.body_timeout, self._body_late)
            return
        cycle = self.cycle
        answer = cycle is not None and not cycle.response_started
        if cycle is not None:
            # The app, if it is reading the body, sees the client gone (and answers no one).
            cycle.disconnected = True
            cycle.message_event.set()
        self._time_out("body", answer=answer)

    def _time_out(self, part: str, *, answer: bool) -> None:
        if self.transport.is_closing():
            return
        log.info("slow client disconnected", waiting_for=part, client=self.client)
        if answer:
            headers = b"".join(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
            self.transport.write(
                STATUS_LINE[408]
                + headers
                + b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
                + b"content-length: "
                + str(len(_TIMED_OUT)).encode()
                + b"\r\n\r\n"
                + _TIMED_OUT
            )
        self.transport.close()


def timed_protocol(header_timeout: float, body_timeout: float) -> type[TimedHttpProtocol]:
    """A :class:`TimedHttpProtocol` with these deadlines, in seconds, to pass as uvicorn's ``http``."""
    if header_timeout <= 0 or body_timeout <= 0:
        raise ValueError(f"timeouts must be above 0 seconds, got headers {header_timeout}, body {body_timeout}")
    headers, body = header_timeout, body_timeout

    class Timed(TimedHttpProtocol):
        header_timeout = headers
        body_timeout = body

    return Timed


class ConnectionOptions(TypedDict):
    """uvicorn's settings for client connections (``uvicorn.run(app, **options)``)."""

    http: type[asyncio.Protocol]
    limit_concurrency: int


def connection_options(settings: Settings) -> ConnectionOptions:
    """The request deadlines and the connection limit of ``settings``, as uvicorn's options."""
    return {
        "http": timed_protocol(settings.header_timeout_seconds, settings.body_timeout_seconds),
        "limit_concurrency": settings.max_connections,
    }


def raise_open_file_limit(max_connections: int) -> int:
    """Raise the process's soft limit of open files to its hard limit (each connection holds one) and log it;
    warn when the limit leaves too little room for ``max_connections``. Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = soft
    if hard != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            limit = hard
        except (ValueError, OSError) as exc:
            # An unlimited hard limit cannot always be taken as a soft one (macOS caps it lower).
            log.warning("open file limit not raised", soft=soft, hard=hard, error=str(exc))
    log.info("open file limit", was=soft, now=limit, hard=hard)
    if limit != resource.RLIM_INFINITY and limit < max_connections + _SPARE_FILES:
        log.warning(
            "max_connections is near the open file limit: raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) "
            "or lower max_connections",
            max_connections=max_connections,
            open_file_limit=limit,
        )
    return limit
