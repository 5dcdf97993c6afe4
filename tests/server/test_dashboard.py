"""The dashboard's pages over HTTP: escaping, form tokens, same-origin checks, notices."""

from __future__ import annotations

import re

import httpx2

from e2e.harness import wait_until

from .conftest import Post, chat_body
from .live import LiveService


def _token(client: httpx2.Client) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/admin/dead-letters").text)
    assert match is not None
    return match.group(1)


def test_customer_text_is_escaped(live: LiveService, post: Post) -> None:
    assert post("shop", chat_body("x1", "eve@example.com", "<script>alert(1)</script>")).status_code == 202
    admin = live.admin()
    wait_until(lambda: admin.get("/admin/api/events/1").json()["status"] == "delivered", what="the delivery")
    for path in ("/admin/events?customer=eve", "/admin/events/1"):
        page = admin.get(path).text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_forms_need_the_token_and_the_same_origin(live: LiveService) -> None:
    admin = live.admin()
    form = {"all": "1", "tenant": "shop"}
    assert admin.post("/admin/dead-letters/replay", data=form).status_code == 403
    assert admin.post("/admin/dead-letters/replay", data={**form, "csrf": "0" * 64}).status_code == 403
    token = _token(admin)
    evil = admin.post(
        "/admin/dead-letters/replay", data={**form, "csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    done = admin.post("/admin/dead-letters/replay", data={**form, "csrf": token}, headers={"Origin": live.url})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/dead-letters?tenant=shop&done=replayed&n=0"
    assert "Replayed 0 event(s)" in admin.get(done.headers["location"]).text


def test_pages_are_not_cached_or_framed(live: LiveService) -> None:
    answer = live.admin().get("/admin/")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    assert live.admin().get("/admin", follow_redirects=False).headers["location"] == "/admin/"
