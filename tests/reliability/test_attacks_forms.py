"""Security suite, form bombs: forms that cost far more to read than to send, posted by someone without the
tenant's secrets, at once and beside a genuine webhook of every source of another tenant.

- 18,000 empty parts in one multipart form, to Mailgun (whose signature is a field of the form) and to SendGrid
  (with its URL token, and without);
- one part nested 1,000 multipart levels deep, to Mailgun;
- 250,000 fields in one URL-encoded form, to Twilio SMS and Voice (whose signature covers every field).

Each bomb is refused (401 unsigned, 400 naming the limit) before any part of it is read, and every genuine webhook
sent meanwhile is stored (202).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inboxbridge.providers.helpers import forms
from inboxbridge.providers.helpers.forms import MAX_FORM_FIELDS, MAX_FORM_PARTS
from inboxbridge.sandbox import SandboxConfig, SandboxServer

from .connectors import CONNECTORS, Req
from .inprocess import TENANTS, app_client, post, tenant_secret
from .report import Figure, Figures

BOUNDARY = "9d3c1f7a2b6e4d8c"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
URLENCODED = {"content-type": "application/x-www-form-urlencoded"}
ROUNDS = 3
"""Each bomb is sent this many times at once."""


def many_parts() -> bytes:
    """18,000 empty parts: about 0.4 MiB, under the default body limit."""
    empty = f"--{BOUNDARY}\r\n\r\n\r\n".encode()
    named = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="x"\r\n\r\n\r\n'.encode()
    return named + empty * 17_999 + f"--{BOUNDARY}--\r\n".encode()


def deeply_nested(depth: int = 1000) -> bytes:
    """One part whose content is multipart, ``depth`` levels down, each under a boundary of its own."""
    inner = b'Content-Disposition: form-data; name="leaf"\r\n\r\nbottom'
    for level in range(depth, 0, -1):
        boundary = b"level-%d" % level
        head = b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n"
        inner = head + inner + b"\r\n--" + boundary + b"--"
    outer = BOUNDARY.encode()
    return b"--" + outer + b'\r\nContent-Disposition: form-data; name="deep"\r\n' + inner + b"\r\n--" + outer + b"--"


def many_fields() -> bytes:
    """250,000 fields: one MiB."""
    return b"a=1&" * 250_000


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(sites=[], requests_per_minute=1_000_000)) as server:
        yield server


@pytest.fixture
def parts_read(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every form part the reader looks into."""
    seen: list[bytes] = []
    real = forms._read_part

    def counting(raw: bytes) -> Any:
        seen.append(raw)
        return real(raw)

    monkeypatch.setattr(forms, "_read_part", counting)
    return seen


async def test_form_bombs_beside_genuine_webhooks(
    sandbox: SandboxServer, tmp_path: Path, parts_read: list[bytes], figures: Figures
) -> None:
    attacked, other = TENANTS
    sendgrid = next(c for c in CONNECTORS if c.name == "sendgrid")
    bombs: list[tuple[str, str, Req, int, str]] = [
        ("18,000 parts", "mailgun", Req(many_parts(), MULTIPART), 401, f"more than {MAX_FORM_PARTS} parts"),
        ("18,000 parts", "sendgrid", Req(many_parts(), MULTIPART), 401, "token"),
        (
            "18,000 parts, with the token",
            "sendgrid",
            Req(many_parts(), MULTIPART, {"token": tenant_secret(sendgrid, attacked)}),
            400,
            f"more than {MAX_FORM_PARTS} parts",
        ),
        ("1,000 deep", "mailgun", Req(deeply_nested(), MULTIPART), 401, '"timestamp" field is missing'),
        ("250,000 fields", "sms", Req(many_fields(), URLENCODED), 400, f"more than {MAX_FORM_FIELDS} fields"),
        ("250,000 fields", "calls", Req(many_fields(), URLENCODED), 400, f"more than {MAX_FORM_FIELDS} fields"),
    ]
    now = int(time.time())
    genuine = [
        (c.name, c.valid(n, f"/hooks/{other}/{c.name}", secret=tenant_secret(c, other), now=now))
        for n, c in enumerate(CONNECTORS)
    ]
    async with app_client(sandbox, tmp_path / "ib.db") as client:
        attacks = [post(client, attacked, source, req) for _ in range(ROUNDS) for _, source, req, _, _ in bombs]
        genuine_posts = [post(client, other, source, req) for source, req in genuine]
        answers = await asyncio.gather(*attacks, *genuine_posts)
    refused, accepted = answers[: len(attacks)], answers[len(attacks) :]

    expected = [(status, reason) for _ in range(ROUNDS) for _, _, _, status, reason in bombs]
    for (status, reason), answer in zip(expected, refused, strict=True):
        assert answer.status_code == status, answer.text
        assert reason in answer.json()["error"], answer.text
    assert [a.status_code for a in accepted] == [202] * len(genuine), [a.text for a in accepted]
    # Only the nested bomb's one outer part was read (its thousand levels are its value); no other bomb's parts.
    assert len(parts_read) == ROUNDS
    assert all(raw.startswith(b'Content-Disposition: form-data; name="deep"') for raw in parts_read)
    server_errors = sum(a.status_code >= 500 for a in answers)
    assert server_errors == 0
    figures.record(
        Figure(
            "security",
            "form bombs",
            "multipart forms of 18,000 empty parts (Mailgun; SendGrid with and without its URL token) and of one "
            "part nested 1,000 levels deep (Mailgun), URL-encoded forms of 250,000 fields (Twilio SMS and Voice), "
            f"each sent {ROUNDS} times at once beside a genuine webhook of each of the {len(genuine)} sources of "
            "another tenant",
            len(answers),
            f"{len(attacks)} form bombs",
            sum(a.status_code != 202 for a in accepted),
            None,
            None,
            server_errors,
            f"every bomb refused (401 unsigned, 400 naming the limit of {MAX_FORM_PARTS} parts or "
            f"{MAX_FORM_FIELDS} fields) before its parts were read (of the nested one, its outer part only); every "
            "genuine webhook stored (202)",
        )
    )
