"""The baseline servers, run as ``python bench/baselines.py ceiling|naive --port P``.

Both are served like ``inboxbridge serve`` serves its app: ``uvicorn.run`` with uvicorn's defaults (uvloop and
httptools when installed), ``log_level="warning"``, no access log.

- ceiling: a bare ASGI endpoint that reads the request and answers 200, nothing else;
- naive: the use case written the obvious way: a synchronous handler (run in the server's thread pool, as a
  plain ``def`` endpoint is) that checks the signature and makes the three Wix calls inline, Query Contacts,
  Get or Create Conversation, Send Message, then answers. No store: when a call fails the webhook gets a 502
  and the message is lost unless the provider retries.
"""

from __future__ import annotations

import argparse
import hmac
import os
from typing import Any

import httpx2
import orjson
import uvicorn
from payloads import SECRET, sign
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send


async def ceiling(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer 200 to every request, after reading its body."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


class NaiveBridge:
    """One webhook in, three Wix calls out, inline."""

    def __init__(self, wix_url: str, site: str, key: str) -> None:
        self.http = httpx2.Client(base_url=wix_url, headers={"Authorization": key, "wix-site-id": site}, timeout=10)

    def handle(self, body: bytes, signature: str) -> Response:
        if not hmac.compare_digest(sign(body, SECRET), signature):
            return Response(status_code=401)
        hook = orjson.loads(body)
        try:
            contact = self._contact(hook["customer"]["email"], hook["customer"].get("name", ""))
            answer = self._call("/inbox/v2/conversations", {"participantId": {"contactId": contact}})
            conversation = answer["conversation"]["id"]
            direction = "PARTICIPANT_TO_BUSINESS" if hook["author"] == "customer" else "BUSINESS_TO_PARTICIPANT"
            message = {
                "content": {"basic": {"items": [{"text": hook["text"]}]}},
                "direction": direction,
                "visibility": "BUSINESS",
                "badges": [{"text": "Chat"}],
            }
            self._call("/inbox/v2/messages", {"conversationId": conversation, "message": message})
        except httpx2.HTTPError:
            return Response(status_code=502)
        return Response(status_code=200)

    def _contact(self, email: str, name: str) -> str:
        query = {"query": {"filter": {"info.emails.email": {"$eq": email}}, "fields": ["id"], "paging": {"limit": 1}}}
        found = self._call("/contacts/v4/contacts/query", query)["contacts"]
        if found:
            return str(found[0]["id"])
        info = {"name": {"first": name}, "emails": {"items": [{"tag": "MAIN", "email": email}]}}
        return str(self._call("/contacts/v4/contacts", {"info": info})["contact"]["id"])

    def _call(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()


def naive_app() -> Starlette:
    """The naive bridge as an app; Wix location and credentials from BENCH_WIX_URL, BENCH_SITE, BENCH_API_KEY."""
    bridge = NaiveBridge(os.environ["BENCH_WIX_URL"], os.environ["BENCH_SITE"], os.environ["BENCH_API_KEY"])

    async def hook(request: Request) -> Response:
        body = await request.body()
        return await run_in_threadpool(bridge.handle, body, request.headers.get("x-signature", ""))

    async def ready(request: Request) -> Response:
        return Response(status_code=200)

    return Starlette(
        routes=[Route("/hooks/{tenant}/{source}", hook, methods=["POST"]), Route("/ready", ready, methods=["GET"])]
    )


def main() -> None:
    """Serve the chosen baseline on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["ceiling", "naive"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app: Any = ceiling if args.kind == "ceiling" else naive_app()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
