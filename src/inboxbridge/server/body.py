"""Reading a request body with a size limit: uvicorn itself accepts bodies of any size."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

__all__ = ["BodyTooLarge", "read_body", "receive_body"]


class BodyTooLarge(Exception):
    """The request body is over the configured limit (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than the limit of {limit} bytes")
        self.limit = limit


def _refuse_declared(declared: str | None, limit: int) -> None:
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused as soon as it is known to exceed ``limit`` bytes (before reading it all)."""
    _refuse_declared(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def receive_body(receive: Receive, content_length: str | None, limit: int) -> bytes:
    """:func:`read_body` straight from the ASGI ``receive`` channel, for handlers that build no ``Request``.

    ``content_length`` is the request's first Content-Length header, if any. A client that disconnects
    mid-body raises Starlette's ``ClientDisconnect``, as ``Request.stream`` does.
    """
    _refuse_declared(content_length, limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(limit)
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
