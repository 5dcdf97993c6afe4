"""The service's app on a real uvicorn server with the connection options ``inboxbridge serve`` uses (request
deadlines, connection limit), optionally wrapped, and raw sockets to it."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inboxbridge.config import Settings
from inboxbridge.server import create_app
from inboxbridge.server.connections import connection_options
from inboxbridge.service import Service

__all__ = ["BodyCounter", "ServedApp", "read_until_closed"]


class BodyCounter:
    """ASGI wrapper counting the body bytes the app below it pulled from ``receive``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pulled = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.pulled += len(message.get("body", b""))
            return message

        await self.app(scope, counting if scope["type"] == "http" else receive, send)


class ServedApp:
    """``with ServedApp(settings) as served:`` serves the app at ``served.host``/``served.port`` on 127.0.0.1;
    ``served.counter.pulled`` counts the body bytes the app read."""

    def __init__(self, settings: Settings) -> None:
        self.service = Service(settings)
        self.counter = BodyCounter(create_app(self.service))
        config = uvicorn.Config(
            self.counter,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            log_config=None,
            lifespan="on",
            **connection_options(settings),
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="served-app", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)

    def connect(self, first_bytes: bytes = b"") -> socket.socket:
        """A client socket to the server (10 s receive timeout), having sent ``first_bytes``."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        if first_bytes:
            sock.sendall(first_bytes)
        return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed); raises
    ``TimeoutError`` if it is still open after the socket's timeout."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return received
