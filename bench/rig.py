"""The processes a figure runs against: a Wix sandbox, inboxbridge, the baseline servers, all on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import orjson
from payloads import TENANT, contact_seeds, service_source_toml

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
HOST = "127.0.0.1"
UNLIMITED_RPM = 10_000_000
CUSTOMERS = 1000


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def site_id(n: int) -> str:
    """The sandbox site number ``n``."""
    return f"00000000-0000-4000-8000-{n:012d}"


def api_key(site: str) -> str:
    """The API key the sandbox accepts for ``site``."""
    return f"IST.bench-{site[-4:]}"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``predicate`` until true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")


class Process:
    """A child process serving HTTP on loopback, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, argv: Sequence[str], port: int, log: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log = log
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.proc is not None
        return self.proc.pid

    def start(self, ready_path: str, timeout: float = 60) -> Process:
        """Start and wait until ``ready_path`` answers below 500."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=BENCH)

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{tail}")
            try:
                return httpx2.get(self.url + ready_path, timeout=1).status_code < 500
            except httpx2.TransportError:
                return False

        wait_until(ready, timeout, f"{self.name} to answer {ready_path} (log: {self.log})")
        return self

    def rss_mb(self) -> float:
        """Resident memory of the process (MiB)."""
        return proc_kib(f"/proc/{self.pid}/status", "VmRSS") / 1024

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def proc_kib(path: str, field: str) -> float:
    """A ``kB`` field of a /proc file (``VmRSS`` of /proc/<pid>/status, ``MemTotal`` of /proc/meminfo)."""
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return float(value.split()[0])
    raise KeyError(f"{field} not in {path}")


def python(*args: str) -> list[str]:
    """A command line running this interpreter."""
    return [sys.executable, *args]


@dataclass
class Sandbox:
    """The Wix sandbox in its own process, with ``sites`` sites of ``CUSTOMERS`` known contacts each."""

    workdir: Path
    sites: int = 3
    process: Process | None = None
    _client: httpx2.Client = field(default_factory=lambda: httpx2.Client(timeout=60))

    @property
    def url(self) -> str:
        """The sandbox's base URL."""
        assert self.process is not None
        return self.process.url

    def start(self) -> Sandbox:
        """Write the sandbox config (sites, keys, seeded contacts) and start serving it."""
        config = {
            "requestsPerMinute": UNLIMITED_RPM,
            "sites": [
                {
                    "siteId": site_id(n),
                    "name": f"Bench site {n}",
                    "apiKeys": [api_key(site_id(n))],
                    "contacts": contact_seeds(site_id(n), CUSTOMERS),
                }
                for n in range(self.sites)
            ],
        }
        path = self.workdir / "sandbox.json"
        path.write_bytes(orjson.dumps(config))
        port = free_port()
        argv = python("-m", "inboxbridge", "sandbox", "--host", HOST, "--port", str(port), "--config", str(path))
        self.process = Process("sandbox", argv, port, self.workdir / "sandbox.log").start("/_sandbox/health")
        return self

    def stop(self) -> None:
        """Stop the sandbox process."""
        if self.process is not None:
            self.process.stop()
        self._client.close()

    def admin(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """One call to the sandbox's admin API; the decoded answer."""
        response = self._client.request(method, f"{self.url}/_sandbox{path}", json=body, params=params or None)
        response.raise_for_status()
        return response.json()

    def rate_limit(self, per_minute: float, site: str | None = None) -> None:
        """Requests per minute for one site (or every site)."""
        self.admin("PUT", "/rate-limit", {"requestsPerMinute": int(per_minute), "siteId": site})

    def latency(self, ms: int) -> None:
        """A fixed latency before every Wix call is handled (0: none)."""
        if ms:
            self.admin("PUT", "/faults", {"latencyMs": ms})
        else:
            self.admin("DELETE", "/faults")

    def requests(self, site: str, path_prefix: str | None = None) -> list[dict[str, Any]]:
        """The request log of a site."""
        params: dict[str, Any] = {"siteId": site}
        if path_prefix:
            params["pathPrefix"] = path_prefix
        rows: list[dict[str, Any]] = self.admin("GET", "/requests", **params)["requests"]
        return rows

    def clear_requests(self) -> None:
        """Empty the request log."""
        self.admin("DELETE", "/requests")

    def messages(self, site: str) -> list[dict[str, Any]]:
        """Every message of every conversation of a site."""
        conversations = self.admin("GET", f"/sites/{site}/conversations")["conversations"]
        return [m for c in conversations for m in c["messages"]]

    def message_count(self, site: str) -> int:
        """How many messages the site holds (cheap: polled while a load runs)."""
        return int(self.admin("GET", f"/sites/{site}/message-count")["messages"])

    def drain_bucket(self, site: str) -> None:
        """Empty the site's rate-limit bucket (it starts with a minute's worth of burst), so a figure measures
        the steady rate from its first second."""
        headers = {"Authorization": api_key(site), "wix-site-id": site}
        probe = f"{self.url}/contacts/v4/contacts/00000000-0000-4000-8000-000000000000"
        with httpx2.Client(timeout=10, limits=httpx2.Limits(max_connections=1)) as client:
            for _ in range(UNLIMITED_RPM):
                if client.get(probe, headers=headers).status_code == 429:
                    return

    def conversation_ids(self, site: str) -> dict[str, str]:
        """Contact id → conversation id on a site."""
        conversations = self.admin("GET", f"/sites/{site}/conversations")["conversations"]
        return {c["participant"]["contactId"]: c["id"] for c in conversations}


@dataclass(frozen=True)
class ServiceSettings:
    """What a figure changes in inboxbridge's config."""

    requests_per_minute: float = UNLIMITED_RPM
    burst: int = 5
    concurrency: int = 64
    poll_interval: float = 0.5
    log_level: str = "info"


def write_service_config(
    path: Path, sandbox_url: str, site: str, port: int, database: Path, s: ServiceSettings
) -> Path:
    """The TOML config of ``inboxbridge serve`` for the bench tenant on ``site``."""
    lines = [
        f'database_url = "sqlite:///{database}"',
        f'host = "{HOST}"',
        f"port = {port}",
        "[wix]",
        f'base_url = "{sandbox_url}"',
        f"requests_per_minute = {s.requests_per_minute}",
        f"burst = {s.burst}",
        # The generated history is dated 2025: kept, so that no figure measures a prune of it under way.
        "[retention]",
        "delivered_days = 36500",
        "[worker]",
        f"concurrency = {s.concurrency}",
        f"poll_interval_seconds = {s.poll_interval}",
        f"[tenants.{TENANT}.wix]",
        f'api_key = "{api_key(site)}"',
        f'site_id = "{site}"',
        *service_source_toml(),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_service(
    workdir: Path,
    sandbox: Sandbox,
    site: str,
    database: Path,
    settings: ServiceSettings,
    *,
    command: str = "serve",
    name: str = "inboxbridge",
) -> Process:
    """``inboxbridge serve`` (or ``serve --no-worker``, or ``worker``) as a child process."""
    port = free_port()
    config = write_service_config(workdir / f"{name}.toml", sandbox.url, site, port, database, settings)
    args = {"serve": ["serve"], "http": ["serve", "--no-worker"], "worker": ["worker"]}[command]
    argv = python("-m", "inboxbridge", *args, "--config", str(config), "--log-level", settings.log_level)
    process = Process(name, argv, port, workdir / f"{name}.log")
    if command == "worker":
        # A worker serves no HTTP: started once its store is open (the schema migrated by an earlier run).
        with process.log.open("ab") as out:
            process.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=process.env, cwd=BENCH)
        return process
    return process.start("/readyz")


def start_baseline(workdir: Path, kind: str, sandbox: Sandbox | None = None, site: str | None = None) -> Process:
    """The ceiling (bare ASGI) or naive (three inline Wix calls) server, under inboxbridge's uvicorn settings."""
    port = free_port()
    env: dict[str, str] = {}
    if sandbox is not None and site is not None:
        env = {"BENCH_WIX_URL": sandbox.url, "BENCH_SITE": site, "BENCH_API_KEY": api_key(site)}
    argv = python(str(BENCH / "baselines.py"), kind, "--port", str(port))
    return Process(kind, argv, port, workdir / f"{kind}.log", env).start("/ready")


def copy_store(source: Path, target: Path) -> Path:
    """A private copy of a store file (with its WAL, if any)."""
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(source) + suffix)
        if src.exists():
            shutil.copyfile(src, Path(str(target) + suffix))
    return target
