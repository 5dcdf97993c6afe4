"""A minimal HTTP/1.1 server on 127.0.0.1 that records each request and lets the test script the answer."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import orjson


@dataclass(frozen=True)
class Received:
    """One request as it came in: the request line, headers (names lower-cased) and body."""

    line: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Received, asyncio.StreamWriter], Awaitable[None]]


def answer(
    status: int, body: bytes | object = None, *, reason: str = "", headers: dict[str, str] | None = None
) -> Handler:
    """A handler answering ``status`` with ``body`` (bytes sent as they are, anything else as JSON)."""
    content = body if isinstance(body, bytes) else orjson.dumps(body if body is not None else {})
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(content)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + content

    async def handle(_: Received, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()

    return handle


async def hang_up(_: Received, writer: asyncio.StreamWriter) -> None:
    """Close the connection without answering, once the whole request has been read."""
    writer.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class LoopbackServer:
    """``async with LoopbackServer(handler) as server:`` serves ``server.url``; ``received`` lists the requests.

    A handler that never answers is released when the server stops.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received: list[Received] = []
        self.connections = 0
        self.connections_closed_by_client = 0
        self.stopping = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stopping.set()
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def never_answer(self, _: Received, writer: asyncio.StreamWriter) -> None:
        """A handler that holds the request until the server stops."""
        await self.stopping.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while not writer.is_closing():
                head = await reader.readuntil(b"\r\n\r\n")
                line, *fields = head.decode("latin-1").rstrip("\r\n").split("\r\n")
                headers = {name.strip().lower(): value.strip() for name, value in (f.split(":", 1) for f in fields)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Received(line, headers, body)
                self.received.append(request)
                await self.handler(request, writer)
        if reader.at_eof() and not writer.is_closing():
            self.connections_closed_by_client += 1
        writer.close()
        self._writers.discard(writer)
