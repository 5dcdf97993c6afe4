"""An open-loop load client, run in its own process: ``python bench/loadgen.py hooks|floor ...``.

``hooks`` posts the pre-signed webhooks of a batch file at a fixed rate; ``floor`` is the floor baseline: it
posts each message straight to the sandbox's Send Message (one Wix call per message), at a fixed rate, with the
conversation ids looked up beforehand. Requests start on schedule (``rate`` a second) over at most
``connections`` keep-alive connections; it stops after the batch or ``max_seconds``. It prints one JSON object:
per request, the wall-clock time it was sent, its status and when its answer came, so the caller can match it
with what the sandbox stored.

The HTTP/1.1 client is a few lines on asyncio streams: no client library's overhead in the measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from payloads import SOURCE, TENANT, chat_body


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def post(self, request: bytes) -> int:
        """Send a whole request; the answer's status (its body is read and dropped). Raises ``EOFError`` when
        the server had closed the connection before answering."""
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise EOFError("connection closed")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        """Drop the connection."""
        self.writer.close()


def request_bytes(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """A POST request with a JSON body."""
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


async def drive(
    url: str, requests: list[bytes], rate: float, connections: int, max_seconds: float
) -> list[tuple[float, int, float]]:
    """Send ``requests`` on schedule; (send time, status, answer time) of each, status 0 for those never sent
    or failed."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    # Last in, first out: at low rates the same few connections stay warm, below the server's keep-alive
    # timeout; ``connections`` bounds how many are open at once.
    idle: list[Connection] = []
    slots = asyncio.Semaphore(connections)
    results: list[tuple[float, int, float]] = [(0.0, 0, 0.0)] * len(requests)
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + max_seconds

    async def one(index: int) -> None:
        async with slots:
            conn = idle.pop() if idle else await Connection.open(host, port)
            sent = time.time()
            try:
                try:
                    status = await conn.post(requests[index])
                except EOFError:
                    # The server closed the idle connection before reading this request: send it anew.
                    conn.close()
                    conn = await Connection.open(host, port)
                    status = await conn.post(requests[index])
            except (OSError, EOFError, asyncio.IncompleteReadError, ValueError, IndexError):
                conn.close()
                results[index] = (sent, 0, time.time())
                return
            results[index] = (sent, status, time.time())
            idle.append(conn)

    tasks: list[asyncio.Task[None]] = []
    for index in range(len(requests)):
        due = start + index / rate
        if due > deadline:
            break
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        tasks.append(asyncio.create_task(one(index)))
    if tasks:
        await asyncio.wait(tasks, timeout=max(1.0, deadline - loop.time() + 30))
    return results


def hooks_requests(url: str, batch: Path) -> list[bytes]:
    """The webhooks of a batch file as raw requests to ``/hooks/bench/chat``."""
    host = urlsplit(url).netloc
    path = f"/hooks/{TENANT}/{SOURCE}"
    out: list[bytes] = []
    for line in batch.read_bytes().splitlines():
        signature, _, body = line.partition(b"\t")
        out.append(request_bytes(host, path, body, {"X-Signature": signature.decode()}))
    return out


def floor_requests(
    url: str, site: str, key: str, conversations: dict[str, str], first: int, count: int, customers: int
) -> list[bytes]:
    """Send Message requests carrying the same texts the webhooks would, into the known conversations."""
    host = urlsplit(url).netloc
    contacts = list(conversations.values())
    out: list[bytes] = []
    for number in range(first, first + count):
        hook = orjson.loads(chat_body(number, customers, "floor"))
        message = {
            "content": {"basic": {"items": [{"text": hook["text"]}]}},
            "direction": "PARTICIPANT_TO_BUSINESS",
            "visibility": "BUSINESS",
        }
        body = orjson.dumps({"conversationId": contacts[number % len(contacts)], "message": message})
        out.append(request_bytes(host, "/inbox/v2/messages", body, {"Authorization": key, "wix-site-id": site}))
    return out


def main() -> None:
    """Parse arguments, run, print the results as JSON on stdout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["hooks", "floor"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests started per second")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--batch", type=Path, help="hooks: the batch file of signed webhooks")
    parser.add_argument("--floor", type=Path, help="floor: JSON {site, key, conversations, first, count, customers}")
    args = parser.parse_args()
    if args.mode == "hooks":
        requests = hooks_requests(args.url, args.batch)
    else:
        spec: dict[str, Any] = orjson.loads(args.floor.read_bytes())
        requests = floor_requests(args.url, **spec)
    run: Callable[..., Any] = asyncio.run
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        pass
    results = run(drive(args.url, requests, args.rate, args.connections, args.max_seconds))
    sys.stdout.buffer.write(
        orjson.dumps(
            {"sent": [r[0] for r in results], "status": [r[1] for r in results], "done": [r[2] for r in results]}
        )
    )


if __name__ == "__main__":
    main()
