"""The sandbox's /_sandbox routes refuse what a web page could send them (a cross-origin request, JSON disguised
as text/plain), and still take what tests and tools send."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx2
import pytest

from inboxbridge.sandbox import DEMO_APP_ID, DEMO_SITE_ID, SandboxServer

NEW_SITE = {"sites": [{"siteId": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918", "name": "Second", "apiKeys": ["IST.x"]}]}
INSTALL = f"/_sandbox/apps/{DEMO_APP_ID}/instances"


def _sites(anon: httpx2.Client) -> int:
    return len(anon.get("/_sandbox/sites").json()["sites"])


def _events(anon: httpx2.Client) -> int:
    return len(anon.get("/_sandbox/events").json()["events"])


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "https://evil.example"}, "Origin https://evil.example is not the sandbox's own"),
        ({"Origin": "null"}, "Origin null is not the sandbox's own"),
        ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site is cross-site"),
        ({"Sec-Fetch-Site": "same-site"}, "Sec-Fetch-Site is same-site"),
    ],
)
def test_a_request_from_another_origin_is_refused_and_changes_nothing(
    anon: httpx2.Client, headers: dict[str, str], why: str
) -> None:
    before = _sites(anon)
    for method, path, body in (
        ("POST", "/_sandbox/seed", NEW_SITE),
        ("POST", "/_sandbox/reset", None),
        ("POST", INSTALL, {"siteId": DEMO_SITE_ID}),
        ("PUT", "/_sandbox/faults", {"errorRates": {"503": 1.0}}),
        ("DELETE", "/_sandbox/requests", None),
    ):
        answer = anon.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, (method, path)
        assert why in answer.json()["message"]
        assert "not from web pages" in answer.json()["message"]
    assert _sites(anon) == before
    assert _events(anon) == 0
    assert anon.get("/_sandbox/faults").json() == {"faults": None}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"]
)
def test_a_body_that_is_not_sent_as_json_is_refused_with_415(anon: httpx2.Client, content_type: str) -> None:
    before = _sites(anon)
    for path, body in (("/_sandbox/seed", NEW_SITE), (INSTALL, {"siteId": DEMO_SITE_ID})):
        answer = anon.post(path, content=json.dumps(body).encode(), headers={"Content-Type": content_type})
        assert answer.status_code == 415
        assert answer.json()["message"] == (
            f"the body must be sent as Content-Type: application/json (got {content_type})"
        )
    assert _sites(anon) == before
    assert _events(anon) == 0


def test_a_rebound_name_is_not_the_sandbox_s_own_origin(server: SandboxServer, anon: httpx2.Client) -> None:
    # A page at evil.example:PORT whose name was pointed at 127.0.0.1 is same-origin with the sandbox as far as
    # the browser knows: it sends that origin, and that Host.
    port = urlsplit(server.url).port
    own = {"Origin": f"http://evil.example:{port}", "Host": f"evil.example:{port}"}
    answer = anon.post("/_sandbox/reset", headers=own)
    assert answer.status_code == 403
    assert "names a host by a name other than localhost" in answer.json()["message"]


def test_tests_tools_and_the_sandbox_s_own_origin_are_served(server: SandboxServer, anon: httpx2.Client) -> None:
    before = _sites(anon)
    tool_site = {"sites": [{"siteId": "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a", "apiKeys": ["IST.tool"]}]}
    assert anon.post("/_sandbox/seed", json=tool_site).status_code == 200  # a tool: no Origin
    assert _sites(anon) == before + 1
    same = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    assert anon.put("/_sandbox/faults", json={"errorRates": {}}, headers=same).status_code == 200
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    localhost = {"Origin": f"http://localhost:{port}", "Host": f"localhost:{port}"}
    assert host == "127.0.0.1"
    assert anon.delete("/_sandbox/faults", headers=localhost).status_code == 200
    assert anon.post("/_sandbox/reset", headers={"Sec-Fetch-Site": "none"}).status_code == 200  # typed by hand
    assert anon.post("/_sandbox/reset", content=b"", headers={"Content-Type": "text/plain"}).status_code == 200


def test_reads_and_the_inbox_page_stay_open_to_links(anon: httpx2.Client) -> None:
    # The dashboard links to the sandbox's Inbox page and its conversations as JSON, from another origin.
    link = {"Sec-Fetch-Site": "cross-site"}
    assert anon.get(f"/_sandbox/sites/{DEMO_SITE_ID}/conversations", headers=link).status_code == 200
    page = anon.get("/", params={"site": DEMO_SITE_ID}, headers=link)
    assert page.status_code == 200
    assert "Inbox" in page.text
