"""Security suite, against a running service (debug logging) with two tenants — an API key on one site, a Wix
app instance on another — and every connector each: no secret, key or token in the logs, the webhook answers,
the dashboard or the admin API; each tenant's webhooks land in its own site only; each site is called only with
its own tenant's credentials (the sandbox's request log says who called)."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from e2e.harness import ServiceProcess, free_port, wait_until
from inboxbridge.sandbox import AppConfig, SandboxConfig, SandboxServer, SiteConfig
from inboxbridge.sandbox.auth import key_id

from .connectors import CONNECTORS, PUBLIC, STANDARD_KEY
from .inprocess import tenant_secret
from .report import Figure, Figures
from .support import CREATED, outcome

pytestmark = pytest.mark.slow

SITE_A = "00000000-0000-4000-8000-0000000000a1"
SITE_B = "00000000-0000-4000-8000-0000000000b2"
API_KEY = "IST.alpha-api-key-0123456789abcdef"
APP_ID = "aaaaaaaa-0000-4000-8000-000000000001"
APP_SECRET = "beta-app-secret-0123456789abcdef"
INSTANCE = "bbbbbbbb-0000-4000-8000-000000000002"
ADMIN_USER, ADMIN_PASSWORD, ADMIN_TOKEN = "operator", "admin-password-0123456789", "admin-token-abcdef0123456789"
AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}


class DebugService(ServiceProcess):
    """The service with debug logging, its log captured."""

    def start(self) -> DebugService:
        env = {**os.environ, "INBOXBRIDGE_CONFIG": str(self.config)}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "inboxbridge", "serve", "--log-level", "debug"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.config.parent,
            )
        wait_until(self._ready, timeout=30, what="the service")
        return self


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\\\", "\\\\\\\\").replace('"', '\\\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _config(path: Path, sandbox_url: str, port: int) -> Path:
    lines = [
        f'database_url = "sqlite:///{path.parent / "ib.db"}"',
        f"port = {port}",
        f'public_base_url = "{PUBLIC}"',
        "[wix]",
        f'base_url = "{sandbox_url}"',
        "requests_per_minute = 1000000",
        "burst = 100",
        "[worker]",
        "poll_interval_seconds = 0.05",
        "[worker.retry]",
        "base_seconds = 0.1",
        "max_delay_seconds = 0.5",
        "[policy]",
        'default_phone_region = "US"',
        "[admin]",
        f'username = "{ADMIN_USER}"',
        f'password = "{ADMIN_PASSWORD}"',
        f'token = "{ADMIN_TOKEN}"',
        "[tenants.alpha.wix]",
        f'api_key = "{API_KEY}"',
        f'site_id = "{SITE_A}"',
        "[tenants.beta.wix]",
        f'app_id = "{APP_ID}"',
        f'app_secret = "{APP_SECRET}"',
        f'instance_id = "{INSTANCE}"',
    ]
    for tenant in ("alpha", "beta"):
        for connector in CONNECTORS:
            table = connector.config(tenant_secret(connector, tenant))
            lines.append(f"[tenants.{tenant}.sources.{connector.name}]")
            lines += [f"{k} = {_toml(v)}" for k, v in table.items() if not isinstance(v, dict)]
            for key, sub in ((k, v) for k, v in table.items() if isinstance(v, dict)):
                lines.append(f"[tenants.{tenant}.sources.{connector.name}.{key}]")
                lines += [f"{k} = {_toml(v)}" for k, v in sub.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    config = SandboxConfig(
        sites=[SiteConfig(site_id=SITE_A, name="alpha", api_keys=[API_KEY]), SiteConfig(site_id=SITE_B, name="beta")],
        apps=[AppConfig(app_id=APP_ID, app_secret=APP_SECRET, instances={INSTANCE: SITE_B})],
        requests_per_minute=1_000_000,
        database=str(tmp_path / "sandbox.db"),
    )
    with SandboxServer(config) as server:
        yield server


def _secrets(sandbox_db: Path) -> dict[str, str]:
    found = {
        "Wix API key": API_KEY,
        "Wix app secret": APP_SECRET,
        "admin password": ADMIN_PASSWORD,
        "admin token": ADMIN_TOKEN,
        "Standard Webhooks key": STANDARD_KEY.decode(),
    }
    for tenant in ("alpha", "beta"):
        for connector in CONNECTORS:
            secret = tenant_secret(connector, tenant)
            found[f"{tenant} {connector.name} secret"] = secret
            if connector.name == "postmark":
                basic = base64.b64encode(f"postmark:{secret}".encode()).decode()
                found[f"{tenant} postmark basic auth"] = basic
    with sqlite3.connect(sandbox_db) as db:
        for (token,) in db.execute("SELECT token FROM tokens"):
            found[f"OAuth token {token[:14]}…"] = token
    return found


def _pages(url: str) -> dict[str, str]:
    """Every admin API answer and dashboard page there is to see, by path."""
    pages: dict[str, str] = {}

    def get(path: str) -> httpx2.Response:
        answer = httpx2.get(url + path, headers=AUTH, timeout=30)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        pages[path] = answer.text
        return answer

    events = get("/admin/api/events?limit=500").json()
    quarantined = get("/admin/api/quarantine?limit=500").json()
    for path in (
        "/admin/api/tenants",
        "/admin/api/dead-letters",
        "/admin/",
        "/admin/events",
        "/admin/dead-letters",
        "/admin/quarantine",
        "/metrics",
        "/openapi.json",
    ):
        get(path)
    for event in events:
        get(f"/admin/api/events/{event['id']}")
        get(f"/admin/events/{event['id']}")
    for item in quarantined:
        get(f"/admin/api/quarantine/{item['id']}")
        get(f"/admin/quarantine/{item['id']}")
    return pages


def test_no_secret_anywhere_and_tenants_stay_in_their_sites(
    sandbox: SandboxServer, tmp_path: Path, figures: Figures
) -> None:
    port = free_port()
    service = DebugService(_config(tmp_path / "inboxbridge.toml", sandbox.url, port), port, tmp_path / "service.log")
    CREATED.append(service)
    service.start()
    answers: list[str] = []
    accepted = {"alpha": 0, "beta": 0}
    # Some Wix calls fail, so retries and Wix's errors are logged and shown too.
    faults = {"errorRates": {"500": 0.2, "429": 0.1}, "seed": 5}
    assert httpx2.put(f"{sandbox.url}/_sandbox/faults", json=faults, timeout=10).status_code == 200
    for tenant in ("alpha", "beta"):
        for n, connector in enumerate(CONNECTORS):
            path = f"/hooks/{tenant}/{connector.name}"
            secret = tenant_secret(connector, tenant)
            good = connector.valid(n, path, secret=secret)
            forged = connector.valid(n, path, secret=secret[::-1])
            broken = connector.request(
                b"{not json \\xff", good.headers.get("content-type", ""), secret=secret, path=path
            )
            for req in (good, forged, broken):
                answer = httpx2.post(service.url + path, content=req.body, headers=req.headers, params=req.query)
                answers.append(answer.text)
                assert answer.status_code < 500, answer.text
                if req is good:
                    assert answer.status_code == 202, (tenant, connector.name, answer.text)
                    accepted[tenant] += outcome(answer)["accepted"]
    with sqlite3.connect(tmp_path / "ib.db") as db:
        wait_until(
            lambda: (
                db.execute("SELECT count(*) FROM events WHERE status = 'delivered'").fetchone()[0]
                == sum(accepted.values())
            ),
            what="every event delivered",
            timeout=60,
        )
    pages = _pages(service.url)
    service.stop()
    log = (tmp_path / "service.log").read_text()
    secrets = _secrets(tmp_path / "sandbox.db")
    assert any(name.startswith("OAuth token") for name in secrets), "the app tenant never got a token"
    leaks = [
        f"{name} in {where}"
        for name, secret in secrets.items()
        for where, text in [("the service log", log), ("webhook answers", "\n".join(answers)), *pages.items()]
        if secret in text
    ]

    requests = httpx2.get(f"{sandbox.url}/_sandbox/requests", timeout=30).json()["requests"]
    allowed = {SITE_A: ("apiKey", key_id(API_KEY)), SITE_B: ("oauth", INSTANCE)}
    crossed = [r for r in requests if r["siteId"] and (r["authKind"], r["tokenSubject"]) != allowed[r["siteId"]]]
    landed = {}
    for tenant, site in (("alpha", SITE_A), ("beta", SITE_B)):
        conversations = httpx2.get(f"{sandbox.url}/_sandbox/sites/{site}/conversations", timeout=10).json()
        landed[tenant] = sum(len(c["messages"]) for c in conversations["conversations"])
    figures.record(
        Figure(
            "security",
            "secrets and tenant walls",
            "debug logs, webhook answers, every dashboard page and admin API answer, /metrics and /openapi.json "
            f"scanned for {len(secrets)} secrets (source secrets, API key, app secret, admin password and token, "
            "OAuth tokens the sandbox issued); every Wix call checked for the caller's site and credentials",
            sum(accepted.values()),
            f"{len(CONNECTORS) * 2 * 2} forged or broken webhooks, 30% Wix errors",
            None,
            None,
            None,
            0,
            f"{len(leaks)} leaks; {len(crossed)} of {len(requests)} Wix calls with another tenant's credentials",
        )
    )
    assert leaks == []
    assert crossed == []
    assert landed == accepted
