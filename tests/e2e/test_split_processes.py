"""An HTTP-only process and a worker process on one SQLite file: the set-up for more than one core."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from inboxbridge.sandbox import SandboxServer

from .harness import (
    Inbox,
    ServiceProcess,
    chat,
    free_port,
    site_id,
    stamp,
    texts,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.slow


def test_a_worker_process_delivers_what_another_process_stored_without_waiting_for_its_poll(
    shop_sandbox: SandboxServer, tmp_path: Path
) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "inboxbridge.toml", shop_sandbox.url, {"shop": {}}, port=port, database=tmp_path / "ib.db"
    )
    # A poll far longer than the waits below: only the worker's watch on the store can explain each delivery.
    config.write_text(config.read_text().replace("poll_interval_seconds = 0.05", "poll_interval_seconds = 600"))
    http = ServiceProcess(config, port, tmp_path / "http.log", command=("serve", "--no-worker")).start()
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "inboxbridge", "worker", "--log-level", "info"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "INBOXBRIDGE_CONFIG": str(config)},
            cwd=tmp_path,
        )
    box = Inbox(shop_sandbox.url, site_id(0))
    try:
        wait_until(lambda: b"worker started" in log.read_bytes(), what="the worker to start")
        for n in range(3):
            http.post("shop", "chat", chat(f"split-{n}", f"c{n}@example.com", f"message {n}", at=stamp(n)))
            wait_until(lambda n=n: len(box.all_messages()) == n + 1, what=f"message {n}", timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text()[-3000:]
        http.stop()
    assert sorted(texts(m) for m in box.all_messages()) == ["message 0", "message 1", "message 2"]
