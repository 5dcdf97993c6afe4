"""Shared by the sandbox tests: request builders, error readers and a webhook receiver."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2

from inboxbridge.sandbox import DEMO_API_KEY, DEMO_SITE_ID

API_HEADERS = {"Authorization": DEMO_API_KEY, "wix-site-id": DEMO_SITE_ID}


class Receiver:
    """A tiny webhook receiver on 127.0.0.1 that keeps every POST body it gets."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append((self.headers.get("Content-Type", ""), self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/wix-events"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def create_contact(wix: httpx2.Client, email: str, **info: Any) -> str:
    body = {"info": {"emails": {"items": [{"tag": "MAIN", "email": email}]}, **info}, "allowDuplicates": True}
    answer = wix.post("/contacts/v4/contacts", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["contact"]["id"])


def open_conversation(wix: httpx2.Client, contact_id: str) -> str:
    answer = wix.post("/inbox/v2/conversations", json={"participantId": {"contactId": contact_id}})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["conversation"]["id"])


def text_message(conversation_id: str, text: str, **message: Any) -> dict[str, Any]:
    return {
        "conversationId": conversation_id,
        "message": {
            "direction": "PARTICIPANT_TO_BUSINESS",
            "visibility": "BUSINESS",
            "content": {"basic": {"items": [{"text": text}]}},
            **message,
        },
    }


def application_error(answer: httpx2.Response) -> dict[str, Any]:
    details: dict[str, Any] = answer.json()["details"]["applicationError"]
    return details


def violations(answer: httpx2.Response) -> list[str]:
    assert answer.status_code == 400, answer.text
    return [v["field"] for v in answer.json()["details"]["validationError"]["fieldViolations"]]
