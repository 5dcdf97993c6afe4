"""The sandbox against a client nobody here wrote: Wix's official JavaScript SDK.

`drive_sandbox.mjs` runs the inboxbridge flow with `@wix/sdk`, `@wix/crm` and `@wix/inbox` (API key and
OAuth app instance) against a sandbox started here; the assertions read the sandbox's admin API, not only the
driver's own view, so a sandbox that merely echoes requests back cannot pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from inboxbridge.sandbox import (
    DEMO_API_KEY,
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_INSTANCE_ID,
    DEMO_SITE_ID,
    SandboxServer,
    default_config,
)

JS_DIR = Path(__file__).resolve().parent
DRIVER = JS_DIR / "drive_sandbox.mjs"
NODE = shutil.which("node")
DRIVER_TIMEOUT_SECONDS = 120
MODES = ("apiKey", "oauth")
ICON_URL = "https://static.example.com/icons/sms.png"
ACTIVITY_URL = "https://crm.example.com/tickets/4711"

pytestmark = pytest.mark.skipif(
    NODE is None,
    reason="Node.js is not installed (no `node` on PATH): cannot run Wix's official JavaScript SDK",
)


class SdkRun:
    """What the driver printed, plus the sandbox's own record of the same run."""

    def __init__(
        self,
        driver: dict[str, Any],
        contacts: list[dict[str, Any]],
        conversations: list[dict[str, Any]],
        requests: list[dict[str, Any]],
    ) -> None:
        self.driver = driver
        self.contacts = contacts
        self.conversations = conversations
        self.requests = requests

    def flow(self, mode: str) -> dict[str, Any]:
        """The driver's result for one auth mode."""
        result = self.driver[mode]
        assert result is not None, f"the driver did not run the {mode} flow"
        return dict(result)

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """The sandbox's stored conversation with that id."""
        found = [c for c in self.conversations if c["id"] == conversation_id]
        assert len(found) == 1, f"sandbox holds {len(found)} conversations with id {conversation_id}"
        return found[0]


def _run_driver(base_url: str) -> dict[str, Any]:
    if not (JS_DIR / "node_modules" / "@wix" / "sdk").is_dir():
        pytest.fail("tests/js/node_modules is missing: run npm ci --prefix tests/js")
    assert NODE is not None
    command = [
        NODE,
        str(DRIVER),
        "--base-url",
        base_url,
        "--site-id",
        DEMO_SITE_ID,
        "--api-key",
        DEMO_API_KEY,
        "--app-id",
        DEMO_APP_ID,
        "--app-secret",
        DEMO_APP_SECRET,
        "--instance-id",
        DEMO_INSTANCE_ID,
    ]
    try:
        done = subprocess.run(
            command, cwd=JS_DIR, capture_output=True, text=True, timeout=DRIVER_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"the SDK driver did not finish within {DRIVER_TIMEOUT_SECONDS} s; stderr:\n{expired.stderr}")
    if done.returncode != 0:
        pytest.fail(f"Wix's official SDK failed against the sandbox (exit {done.returncode}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def sdk_run() -> Iterator[SdkRun]:
    """Start a sandbox, drive it once with the official SDK, and collect the sandbox's view of the run."""
    with (
        SandboxServer(default_config()) as sandbox,
        httpx2.Client(base_url=sandbox.url, timeout=10.0) as admin,
    ):
        driver = _run_driver(sandbox.url)
        contacts = admin.get(f"/_sandbox/sites/{DEMO_SITE_ID}/contacts")
        conversations = admin.get(f"/_sandbox/sites/{DEMO_SITE_ID}/conversations")
        requests = admin.get("/_sandbox/requests")
        for answer in (contacts, conversations, requests):
            assert answer.status_code == 200, f"{answer.request.url} answered {answer.status_code}: {answer.text}"
        yield SdkRun(
            driver=driver,
            contacts=contacts.json()["contacts"],
            conversations=conversations.json()["conversations"],
            requests=sorted(
                (r for r in requests.json()["requests"] if not r["path"].startswith("/_sandbox")),
                key=lambda r: int(r["seq"]),
            ),
        )


def _texts(message: dict[str, Any]) -> list[str]:
    content = message["content"]
    if "basic" in content:
        return [item["text"] for item in content["basic"]["items"]]
    return [content["minimal"]["text"]]


@pytest.mark.parametrize("mode", MODES)
def test_created_contact_is_stored_and_found_by_every_email_query(sdk_run: SdkRun, mode: str) -> None:
    flow = sdk_run.flow(mode)
    stored = [c for c in sdk_run.contacts if c["id"] == flow["contactId"]]
    assert len(stored) == 1, f"contact {flow['contactId']} is not in the sandbox's site {DEMO_SITE_ID}"
    assert [e["email"] for e in stored[0]["info"]["emails"]["items"]] == [flow["email"]]
    assert flow["createdEmails"] == [flow["email"]]
    assert flow["fetchedContactId"] == flow["contactId"]
    # Each form is a different filter on the wire: bare value, $hasSome, primaryInfo.email, explicit $eq.
    assert flow["queries"] == {
        "eqInfoEmails": [flow["contactId"]],
        "hasSomeInfoEmails": [flow["contactId"]],
        "eqPrimaryEmail": [flow["contactId"]],
        "typedEqInfoEmails": [flow["contactId"]],
    }


@pytest.mark.parametrize("mode", MODES)
def test_get_or_create_conversation_is_stable_for_the_contact(sdk_run: SdkRun, mode: str) -> None:
    flow = sdk_run.flow(mode)
    assert flow["newConversation"] is True
    assert flow["againConversationId"] == flow["conversationId"]
    assert flow["againNewConversation"] is False
    conversation = sdk_run.conversation(flow["conversationId"])
    assert conversation["participant"]["contactId"] == flow["contactId"]


@pytest.mark.parametrize("mode", MODES)
def test_conversation_holds_the_basic_and_minimal_messages(sdk_run: SdkRun, mode: str) -> None:
    flow = sdk_run.flow(mode)
    stored = sdk_run.conversation(flow["conversationId"])["messages"]
    assert [m["id"] for m in stored] == [flow["basic"]["id"], flow["minimal"]["id"]]
    basic, minimal = stored

    assert basic["direction"] == "PARTICIPANT_TO_BUSINESS"
    assert basic["visibility"] == "BUSINESS"
    assert _texts(basic) == [flow["basic"]["text"]]
    assert [(b["text"], b["iconUrl"]) for b in basic["badges"]] == [("SMS", ICON_URL)]

    assert minimal["direction"] == "PARTICIPANT_TO_BUSINESS"
    assert minimal["visibility"] == "BUSINESS"
    assert minimal["silent"] is True
    content = minimal["content"]["minimal"]
    assert (content["text"], content["iconUrl"], content["url"]) == (
        flow["minimal"]["text"],
        ICON_URL,
        ACTIVITY_URL,
    )

    assert int(basic["sequence"]) < int(minimal["sequence"])
    assert (basic["sequence"], minimal["sequence"]) == (
        flow["basic"]["sequence"],
        flow["minimal"]["sequence"],
    )
    for sent in (flow["basic"], flow["minimal"]):
        assert (sent["direction"], sent["visibility"]) == ("PARTICIPANT_TO_BUSINESS", "BUSINESS")


@pytest.mark.parametrize("mode", MODES)
def test_list_messages_newest_first_in_flat_and_dot_r_forms(sdk_run: SdkRun, mode: str) -> None:
    flow = sdk_run.flow(mode)
    newest_first = [flow["minimal"]["id"], flow["basic"]["id"]]
    assert flow["listed"]["ids"] == newest_first
    assert flow["listed"]["texts"] == [[flow["minimal"]["text"]], [flow["basic"]["text"]]]

    assert flow["firstPage"]["ids"] == newest_first[:1]
    assert flow["firstPage"]["nextCursor"], "a page of 1 out of 2 messages must carry pagingMetadata.cursors.next"
    assert flow["secondPage"] is not None
    assert flow["secondPage"]["ids"] == newest_first[1:]

    # The paged calls must really have gone out as `.r`, or this test would not cover that form.
    flat, first_page, second_page = flow["listRequests"]
    assert flat["query"] == {"conversationId": flow["conversationId"], "visibility": "BUSINESS"}
    assert set(first_page["query"]) == {".r"}
    assert first_page["decoded"]["paging"] == {"limit": 1}
    assert set(second_page["query"]) == {".r"}
    assert second_page["decoded"]["paging"] == {"limit": 1, "cursor": flow["firstPage"]["nextCursor"]}


def test_every_sdk_request_was_logged_and_answered_2xx(sdk_run: SdkRun) -> None:
    sent = [r for mode in MODES for r in sdk_run.flow(mode)["requests"]]
    logged = sdk_run.requests
    assert [(r["method"], r["path"]) for r in logged] == [(r["method"], r["path"]) for r in sent], (
        "the sandbox's request log does not match what the SDK sent"
    )
    failed = [(r["method"], r["path"], r["status"]) for r in logged if not 200 <= int(r["status"]) < 300]
    assert failed == []
    assert all(r["wixRequestId"] for r in logged), "every answer needs an x-wix-request-id header"
    assert [r["wixRequestId"] for r in logged] == [r["requestId"] for r in sent]


@pytest.mark.parametrize("mode", MODES)
def test_sdk_requests_are_attributed_to_the_site_and_credentials(sdk_run: SdkRun, mode: str) -> None:
    start = 0 if mode == "apiKey" else len(sdk_run.flow("apiKey")["requests"])
    flow = sdk_run.flow(mode)
    logged = sdk_run.requests[start : start + len(flow["requests"])]
    tokens = [r for r in logged if r["path"] == "/oauth2/token"]
    api_calls = [r for r in logged if r["path"] != "/oauth2/token"]

    # The SDK caches its token for `expires_in`; a second token call would mean the answer lacked it.
    assert len(tokens) == (1 if mode == "oauth" else 0)
    assert {r["authKind"] for r in api_calls} == {mode}
    assert {r["siteId"] for r in api_calls} == {DEMO_SITE_ID}
    if mode == "oauth":
        assert {r["tokenSubject"] for r in api_calls} == {DEMO_INSTANCE_ID}
    message_calls = [r for r in api_calls if r["path"] == "/inbox/v2/messages"]
    assert len(message_calls) == 5
    assert {r["conversationId"] for r in message_calls} == {flow["conversationId"]}
