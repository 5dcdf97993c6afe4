"""Store-faults suite: the database on a full disk, and PostgreSQL unreachable mid-run. Ingest answers 503 with
Retry-After (so providers retry), recovers by itself, and nothing accepted is lost, duplicated or reordered.

The disk is real: a 128 MiB tmpfs mounted for the test (room for SQLite's write-ahead log, which grows to about
4 MiB between checkpoints, once the filler is gone) (root only; as root, chmod stops no writes), filled with a
file until the kernel says ENOSPC. (A filesystem cannot be made read-only under a running service: the kernel
refuses to remount it while the database files are open for writing; and the service refuses to start on a
read-only database.) PostgreSQL is reached through a TCP proxy that the
test cuts and restores, since the shared server must not be restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from e2e.cluster import migrate, postgres_schema, server_url
from e2e.harness import site_id, start_sandbox, wait_until
from inboxbridge.sandbox import SandboxServer

from .proxy import TcpProxy
from .report import Figure, Figures
from .support import Stream, service_process, tally, wait_all_delivered

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(["shop"])
    yield server
    server.stop()


@contextlib.contextmanager
def small_disk(folder: Path) -> Iterator[Path]:
    """A 128 MiB tmpfs at ``folder``, unmounted at the end (room for the store's write-ahead log to grow between
    checkpoints under a stream, so that only the filler fills it)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(disk: Path) -> Path:
    """A file taking every free byte of ``disk``."""
    filler = disk / "filler"
    free = os.statvfs(disk)
    # Once seen in a full run: the disk already full before the filler; say what took the space.
    assert free.f_bavail > 0, "the disk filled up before the filler: " + ", ".join(
        f"{entry.name} {entry.stat().st_size} bytes" for entry in disk.iterdir()
    )
    for _ in range(20):
        try:
            out = filler.open("wb")
            break
        except OSError as exc:
            # Seen under a full suite: the tmpfs refuses even a new file while the store's log holds its space
            # between checkpoints; the log shrinks at the next checkpoint.
            if exc.errno != errno.ENOSPC:
                raise
            time.sleep(0.25)
    else:
        pytest.skip("the tmpfs stayed too full to create the filler file (the store's log held the space)")
    with out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


def wait_for_answers(stream: Stream, status: int, more_than: int, what: str) -> None:
    wait_until(lambda: stream.statuses[status] > more_than, what=what, timeout=60)


def test_full_disk(sandbox: SandboxServer, tmp_path: Path, figures: Figures, chaos_long: bool) -> None:
    with small_disk(tmp_path / "disk") as disk:
        service = service_process(sandbox.url, tmp_path, database=f"sqlite:///{disk / 'ib.db'}", lease_seconds=3)
        service.start()
        stream = Stream(service.url, customers=4).start()
        rounds = 3 if chaos_long else 1
        for _ in range(rounds):
            wait_for_answers(stream, 202, stream.statuses[202] + 20, "webhooks accepted")
            filler = fill(disk)
            wait_for_answers(stream, 503, stream.statuses[503] + 5, "503 while the disk is full")
            filler.unlink()
            wait_for_answers(stream, 202, stream.statuses[202] + 20, "webhooks accepted after space came back")
        stream.stop()
        try:
            wait_all_delivered(disk / "ib.db", stream.total)
        finally:
            service.stop()
    result = tally(sandbox.url, site_id(0), stream.by_customer)
    other = sum(n for s, n in stream.statuses.items() if s >= 500 and s != 503)
    figures.record(
        Figure(
            "store faults",
            "SQLite: full disk",
            f"the database on a 128 MiB tmpfs, filled until ENOSPC and freed again, {rounds} time(s), under a "
            "steady stream",
            result.expected,
            f"{rounds} disk-full periods; {stream.statuses[503]} webhooks answered 503",
            result.lost,
            result.duplicated,
            result.out_of_order,
            other,
            "every 503 retried by the sender and accepted after recovery",
        )
    )
    assert other == 0, stream.statuses
    result.assert_clean()


async def _delivered(url: str) -> tuple[int, int]:
    parsed = make_url(url)
    schema = parsed.query["search_path"]
    connection = await asyncpg.connect(server_url(), timeout=5)
    try:
        row = await connection.fetchrow(
            f"SELECT count(*) AS n, count(*) FILTER (WHERE status = 'delivered') AS d FROM \"{schema}\".events"
        )
    finally:
        await connection.close()
    return int(row["n"]), int(row["d"])


def test_postgres_unreachable_mid_run(
    sandbox: SandboxServer, tmp_path: Path, figures: Figures, chaos_long: bool
) -> None:
    target = make_url(server_url())
    with postgres_schema() as direct, TcpProxy(target.port or 5432, target.host or "127.0.0.1") as proxy:
        proxied = direct.replace(f"{target.host}:{target.port or 5432}", f"127.0.0.1:{proxy.port}", 1)
        assert proxied != direct
        service = service_process(sandbox.url, tmp_path, database=proxied, lease_seconds=3)
        migrate(service.config)
        service.start()
        stream = Stream(service.url, customers=4).start()
        outages = 3 if chaos_long else 1
        for _ in range(outages):
            wait_for_answers(stream, 202, stream.statuses[202] + 20, "webhooks accepted")
            proxy.cut()
            wait_for_answers(stream, 503, stream.statuses[503] + 5, "503 while PostgreSQL is unreachable")
            time.sleep(1)
            proxy.restore()
            wait_for_answers(stream, 202, stream.statuses[202] + 20, "webhooks accepted after PostgreSQL came back")
        stream.stop()
        wait_until(
            lambda: asyncio.run(_delivered(direct)) == (stream.total, stream.total),
            what="every event delivered",
            timeout=120,
        )
        service.stop()
    result = tally(sandbox.url, site_id(0), stream.by_customer)
    other = sum(n for s, n in stream.statuses.items() if s >= 500 and s != 503)
    figures.record(
        Figure(
            "store faults",
            "PostgreSQL unreachable",
            "the node reaches PostgreSQL through a TCP proxy; every connection is cut and new ones refused for "
            f"a while, {outages} time(s), under a steady stream",
            result.expected,
            f"{outages} outages; {stream.statuses[503]} webhooks answered 503",
            result.lost,
            result.duplicated,
            result.out_of_order,
            other,
            "every 503 retried by the sender and accepted after recovery",
        )
    )
    assert other == 0, stream.statuses
    result.assert_clean()
