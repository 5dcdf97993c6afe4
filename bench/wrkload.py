"""Closed-loop load from ``wrk`` (Debian package ``wrk``): every pre-signed webhook of a batch sent once."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from payloads import SOURCE, TENANT, Batch
from rig import BENCH

SCRIPT = BENCH / "webhooks.lua"


@dataclass(frozen=True)
class WrkResult:
    """What wrk saw: answers by status, transport errors, wall time (first request to last answer, measured
    here), and per-request latency percentiles."""

    statuses: dict[int, int]
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    def count(self, *statuses: int) -> int:
        """Answers with any of ``statuses``."""
        return sum(self.statuses.get(s, 0) for s in statuses)

    @property
    def per_second(self) -> float:
        """Answers of any status per second."""
        return sum(self.statuses.values()) / self.seconds


def available() -> bool:
    """Whether wrk is installed (``apt-get install -y wrk``)."""
    return shutil.which("wrk") is not None


def run(base_url: str, batch: Batch, *, connections: int = 32, threads: int = 1, max_seconds: int = 120) -> WrkResult:
    """Send every webhook of ``batch`` to ``/hooks/bench/chat`` over ``connections`` keep-alive connections."""
    if not available():
        raise RuntimeError("wrk is not installed: apt-get update && apt-get install -y wrk")
    url = f"{base_url}/hooks/{TENANT}/{SOURCE}"
    with tempfile.TemporaryDirectory(prefix="wrk-") as folder:
        done = Path(folder) / "done-"
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max_seconds}s", "--timeout", "30s"]
        argv += ["--script", str(SCRIPT), url, "--", str(batch.path), str(threads), str(done)]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = started + max_seconds
        while len(list(Path(folder).glob("done-*"))) < threads and proc.poll() is None:
            if time.perf_counter() > deadline:
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - started
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    line = next((row for row in out.splitlines() if row.startswith("BENCH-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}\n{err}")
    data = orjson.loads(line.removeprefix("BENCH-RESULT "))
    return WrkResult(
        statuses={int(k): int(v) for k, v in data["statuses"].items()},
        errors=int(data["errors"]),
        seconds=seconds,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )
