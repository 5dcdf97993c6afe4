"""Reading figures off a run: the load client's results, the sandbox's stored messages and request log."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from payloads import number_of
from rig import BENCH, Sandbox, python

SEND_PATH = "/inbox/v2/messages"


@dataclass(frozen=True)
class Load:
    """What the load client did: per request, when it was sent and answered (unix seconds) and its status
    (0: failed or never sent)."""

    sent: list[float]
    status: list[int]
    done: list[float]

    def count(self, *statuses: int) -> int:
        """Requests answered with any of ``statuses``."""
        wanted = set(statuses)
        return sum(1 for s in self.status if s in wanted)

    @property
    def started(self) -> float:
        """When the first request left."""
        return min(t for t in self.sent if t) if any(self.sent) else 0.0


def open_loop(
    mode: str,
    url: str,
    rate: float,
    *,
    batch: Path | None = None,
    floor: dict[str, Any] | None = None,
    connections: int = 64,
    max_seconds: float = 60,
    workdir: Path,
) -> Load:
    """Run ``bench/loadgen.py`` in its own process and collect its results."""
    argv = python(str(BENCH / "loadgen.py"), mode, "--url", url, "--rate", str(rate))
    argv += ["--connections", str(connections), "--max-seconds", str(max_seconds)]
    if batch is not None:
        argv += ["--batch", str(batch)]
    if floor is not None:
        spec = workdir / "floor.json"
        spec.write_bytes(orjson.dumps(floor))
        argv += ["--floor", str(spec)]
    out = subprocess.run(argv, capture_output=True, check=True, cwd=BENCH, timeout=max_seconds + 120).stdout
    data = orjson.loads(out)
    return Load(sent=data["sent"], status=data["status"], done=data["done"])


def unix(rfc3339: str) -> float:
    """Unix seconds of a Wix timestamp."""
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def message_text(message: dict[str, Any]) -> str:
    """The text of a BASIC or MINIMAL message."""
    content = message["content"]
    if "minimal" in content:
        return str(content["minimal"].get("text", ""))
    return " ".join(str(item.get("text", "")) for item in content["basic"]["items"])


def _in_range(messages: list[dict[str, Any]], first: int, count: int) -> dict[int, float]:
    out: dict[int, float] = {}
    for message in messages:
        number = number_of(message_text(message))
        if number is not None and first <= number < first + count:
            out.setdefault(number, unix(message["createdDate"]))
    return out


def stored(sandbox: Sandbox, site: str, first: int, count: int) -> dict[int, float]:
    """Webhook number → when its message was stored in the sandbox, for numbers ``first .. first+count-1``."""
    return _in_range(sandbox.messages(site), first, count)


def wait_stored(
    sandbox: Sandbox,
    site: str,
    first: int,
    count: int,
    timeout: float,
    *,
    settle: float = 0.0,
    expect: int | None = None,
) -> dict[int, float]:
    """Wait until ``expect`` (default: every) message of the range is in the sandbox, or ``timeout``; what was
    stored by then. With ``settle``, also return once nothing new arrived for that many seconds.

    While waiting only the site's message count is polled: listing every message four times a second would
    load the sandbox (and so slow what is measured) more than the deliveries themselves.
    """
    deadline = time.monotonic() + timeout
    known = sandbox.messages(site)
    wanted = (count if expect is None else expect) - len(_in_range(known, first, count))
    target = len(known) + wanted
    last_change, seen = time.monotonic(), -1
    while True:
        total = sandbox.message_count(site)
        if total >= target or time.monotonic() > deadline:
            break
        if total != seen:
            seen, last_change = total, time.monotonic()
        elif settle and time.monotonic() - last_change > settle:
            break
        time.sleep(0.1)
    return stored(sandbox, site, first, count)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def calls_in(rows: list[dict[str, Any]], start: float, end: float) -> list[dict[str, Any]]:
    """Logged requests that ended within ``[start, end)``."""
    return [r for r in rows if start <= r["endedAt"] < end]
