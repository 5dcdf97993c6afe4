"""Email providers and `inboxbridge import` through the running service into the sandbox Inbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest

from inboxbridge.sandbox import SandboxServer

from .harness import Inbox, ServiceProcess, free_port, site_id, start_sandbox, wait_until

TENANT = "mailbox"
TOKEN = "e2e-url-token-0123456789abcdef"
SIGNING_KEY = "key-e2e-mailgun-signing"
FIXTURES = Path(__file__).parents[1] / "providers" / "fixtures" / "email"


def email_config(path: Path, sandbox_url: str, *, port: int, database: Path) -> Path:
    """A service with one tenant and its three email sources."""
    path.write_text(
        f'database_url = "sqlite:///{database}"\n'
        f"port = {port}\n"
        f'[wix]\nbase_url = "{sandbox_url}"\nrequests_per_minute = 1000000\nburst = 10\n'
        "[worker]\npoll_interval_seconds = 0.05\n"
        f'[tenants.{TENANT}.wix]\napi_key = "key-{TENANT}"\nsite_id = "{site_id(0)}"\n'
        f'[tenants.{TENANT}.sources.sendgrid]\ntype = "sendgrid"\ntoken = "{TOKEN}"\n'
        'business_addresses = ["@acme-shop.com", "@parse.acme-shop.com"]\n'
        f'[tenants.{TENANT}.sources.mailgun]\ntype = "mailgun"\nsigning_key = "{SIGNING_KEY}"\n'
        'business_addresses = ["@acme-salon.com", "@mg.acme-salon.com"]\n'
        f'[tenants.{TENANT}.sources.postmark]\ntype = "postmark"\nusername = "postmark"\npassword = "{TOKEN}"\n'
        'business_addresses = ["hello@acme.com"]\n'
    )
    return path


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox([TENANT])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    work = tmp_path_factory.mktemp("email")
    port = free_port()
    config = email_config(work / "inboxbridge.toml", sandbox.url, port=port, database=work / "ib.db")
    proc = ServiceProcess(config, port, work / "service.log").start()
    yield proc
    proc.stop()


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def unique(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.com"


def messages_for(box: Inbox, email: str) -> list[dict[str, Any]]:
    for contact in box.contacts():
        if email in [e["email"] for e in contact["info"]["emails"]["items"]]:
            return box.messages_of(contact["id"])
    return []


def _count_is(box: Inbox, email: str, count: int) -> Callable[[], bool]:
    return lambda: len(messages_for(box, email)) == count


def test_email_from_each_provider_lands_as_a_basic_message(service: ServiceProcess, sandbox: SandboxServer) -> None:
    hooks = f"{service.url}/hooks/{TENANT}"
    postmark_customer, sendgrid_customer, mailgun_customer = unique("pm"), unique("sg"), unique("mg")

    postmark = fixture("postmark_inbound")
    postmark["FromFull"] = {"Email": postmark_customer, "Name": "Pat Mark"}
    postmark["MessageID"] = str(uuid.uuid4())
    body = json.dumps(postmark).encode()
    answer = httpx2.post(f"{hooks}/postmark", content=body, auth=("postmark", TOKEN), timeout=10)
    assert answer.status_code == 202, answer.text
    assert httpx2.post(f"{hooks}/postmark", content=body, auth=("postmark", TOKEN), timeout=10).status_code == 200
    assert httpx2.post(f"{hooks}/postmark", content=body, auth=("postmark", "wrong"), timeout=10).status_code == 401

    fields = {**fixture("sendgrid_parse"), "from": f"Sam Lee <{sendgrid_customer}>"}
    fields["headers"] = fields["headers"].replace("CAKWdv", uuid.uuid4().hex)
    answer = httpx2.post(
        f"{hooks}/sendgrid",
        params={"token": TOKEN},
        data=fields,
        files={"attachment1": ("size-chart.png", b"\x89PNG" * 256, "image/png")},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text

    stamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(SIGNING_KEY.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    mailgun = {
        **fixture("mailgun_forward"),
        "from": f"Ana Diaz <{mailgun_customer}>",
        "Message-Id": f"<{uuid.uuid4().hex}@mail.example.com>",
        "timestamp": stamp,
        "token": token,
        "signature": signature,
    }
    urlencoded = {"content-type": "application/x-www-form-urlencoded"}
    answer = httpx2.post(f"{hooks}/mailgun", content=urlencode(mailgun).encode(), headers=urlencoded, timeout=10)
    assert answer.status_code == 202, answer.text
    forged = urlencode({**mailgun, "signature": "0" * 64}).encode()
    answer = httpx2.post(f"{hooks}/mailgun", content=forged, headers=urlencoded, timeout=10)
    assert answer.status_code == 401

    internal = {**postmark, "FromFull": {"Email": "hello@acme.com"}, "ToFull": [], "CcFull": []}
    internal.update({"To": "", "Cc": "", "MessageID": str(uuid.uuid4())})
    answer = httpx2.post(f"{hooks}/postmark", content=json.dumps(internal).encode(), auth=("postmark", TOKEN))
    assert (answer.status_code, answer.json().get("ignored")) == (200, True)
    nameless = {**postmark, "FromFull": None, "From": ""}
    answer = httpx2.post(f"{hooks}/postmark", content=json.dumps(nameless).encode(), auth=("postmark", TOKEN))
    # Postmark's "stop retrying": the request is kept in quarantine, retries would only add to it.
    assert answer.status_code == 403
    assert "quarantineId" in answer.json()
    token = uuid.uuid4().hex
    signature = hmac.new(SIGNING_KEY.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    senderless = {**mailgun, "from": "nobody", "sender": "nobody", "message-headers": "[]"}
    senderless.update({"Message-Id": f"<{uuid.uuid4().hex}@mail.example.com>", "token": token, "signature": signature})
    answer = httpx2.post(f"{hooks}/mailgun", content=urlencode(senderless).encode(), headers=urlencoded, timeout=10)
    # Mailgun's "do not retry" is 406.
    assert (answer.status_code, "quarantineId" in answer.json()) == (406, True), answer.text

    box = Inbox(sandbox.url, site_id(0))
    expected = {
        postmark_customer: ("Test subject", "This is the reply text\n\nAttached to the email: test.txt (45 B)"),
        sendgrid_customer: (
            "Re: Your order #1042",
            "Can I change the size to M?\n\nSam\n\nAttached to the email: size-chart.png (1 KB)",
        ),
        mailgun_customer: ("Re: Your appointment on Friday", "Friday at 10 works for me, see you then!"),
    }
    for email, (title, text) in expected.items():
        wait_until(_count_is(box, email, 1), what=f"the email from {email}")
        (message,) = messages_for(box, email)
        assert message["content"]["title"] == title
        assert message["content"]["basic"]["items"] == [{"text": text}]
        assert message["direction"] == "PARTICIPANT_TO_BUSINESS"
        assert message["badges"][0]["text"] == "Email"
        assert not message.get("silent")


def test_import_then_delivery_by_the_running_service(service: ServiceProcess, sandbox: SandboxServer) -> None:
    customer = unique("visit")
    export = service.config.parent / "visits.jsonl"
    export.write_text(
        "\n".join(
            json.dumps(
                {"id": f"{customer}-{i}", "at": f"2025-0{i}-01T10:00:00Z", "who": {"email": customer}, "note": n}
            )
            for i, n in ((1, "Visited the Main St store"), (2, "Bought a gift card"))
        )
        + "\n"
    )
    mapping = service.config.parent / "visits.toml"
    mapping.write_text(
        'id = "id"\noccurred_at = "at"\nemail = "who.email"\ntext = "note"\n'
        'default_kind = "activity"\ndefault_channel = "Store"\n'
    )
    command = [sys.executable, "-m", "inboxbridge", "import", str(export), "-t", TENANT, "-m", str(mapping)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "INBOXBRIDGE_CONFIG": str(service.config)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 rows read, 2 stored" in done.stdout
    box = Inbox(sandbox.url, site_id(0))
    wait_until(_count_is(box, customer, 2), what="the imported history")
    messages = messages_for(box, customer)
    assert [m["content"]["minimal"]["text"] for m in messages] == ["Visited the Main St store", "Bought a gift card"]
    assert all(m["silent"] is True for m in messages)
    assert all(m["badges"][0]["text"] == "Store" for m in messages)
    again = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "INBOXBRIDGE_CONFIG": str(service.config)},
    )
    assert "0 stored, 2 already stored" in again.stdout
    assert len(messages_for(box, customer)) == 2
