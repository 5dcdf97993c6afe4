"""Where the time goes: ``python bench/hotspots.py ingest|deliver [--seconds N]``.

Samples a real ``inboxbridge`` process with py-spy (``pip install py-spy``) while it works:

- ingest: an HTTP-only node (``serve --no-worker``) taking signed webhooks from wrk (32 connections);
- deliver: a worker process (``inboxbridge worker``) delivering a backlog of events to an instant sandbox, the
  customers' Wix ids already cached (the steady state: one Send Message per event).

Writes the samples (collapsed stacks) and a flame graph to ``bench/.cache/profile-<what>.txt`` / ``.svg`` and
prints where the samples fall: by library (the innermost frame of a known package) and through the main
functions of inboxbridge (inclusive).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import wrkload
from context import Context
from measure import wait_stored
from rig import CACHE, Process, ServiceSettings, start_service

# Innermost matching frame wins, so a sample is charged to the layer actually running.
LAYERS = (
    ("SQLite execution (aiosqlite thread)", ("aiosqlite/",)),
    ("SQLAlchemy: building and compiling statements", ("sqlalchemy/sql/",)),
    ("SQLAlchemy: engine, results, asyncio bridge", ("sqlalchemy/",)),
    ("pydantic models", ("pydantic",)),
    ("logging (structlog)", ("structlog/", "logging/")),
    ("Wix HTTP client (inboxbridge.wix, aiohttp)", ("aiohttp/", "inboxbridge/wix/", "multidict/", "yarl/")),
    ("HTTP server (uvicorn, httptools)", ("uvicorn/",)),
    ("FastAPI / Starlette", ("fastapi/", "starlette/")),
    ("JMESPath", ("jmespath/",)),
    ("inboxbridge's own code", ("inboxbridge/",)),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop")),
)
FUNCTIONS = (
    "serve_webhook",
    "GenericSource.verify",
    "GenericSource.parse",
    "Store.ingest",
    "refresh_for_events",
    "Store.claim",
    "Worker._handle",
    "Pipeline.deliver",
    "WixSite.send_message",
    "Store.get_cached_ids",
    "Store.ack",
    "Store.get_cached_contacts",
    "Store.get_cached_conversation",
    "InboundEvent.from_json",
    "InboundEvent.to_json",
    "BoundLoggerFilteringAtInfo.info",
)


def layer(frames: list[str]) -> str:
    """The layer a sample's innermost known frame belongs to."""
    for frame in reversed(frames):
        for name, markers in LAYERS:
            if any(marker in frame for marker in markers):
                return name
    return "other (interpreter, C extensions)"


def summarize(samples: Path, top: int = 25) -> str:
    """Shares of the samples by layer, through inboxbridge's main functions, and the hottest lines."""
    total = 0
    layers: collections.Counter[str] = collections.Counter()
    functions: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for line in samples.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        layers[layer(frames)] += count
        leaves[frames[-1]] += count
        names = {frame.split(" (", 1)[0] for frame in frames}
        for function in FUNCTIONS:
            if function in names:
                functions[function] += count
    if not total:
        return "no samples"
    out = [f"{total} samples", "", "by layer (innermost known frame):"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in layers.most_common()]
    out += ["", "through (inclusive):"]
    out += [f"  {functions[f] / total:6.1%}  {f}" for f in FUNCTIONS if functions[f]]
    out += ["", f"hottest frames (self, top {top}):"]
    out += [f"  {n / total:6.1%}  {frame}" for frame, n in leaves.most_common(top)]
    return "\n".join(out)


def record(process: Process, name: str) -> subprocess.Popen[bytes]:
    """Start py-spy on ``process`` (raw collapsed stacks, 200 samples a second, idle time left out)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    argv = [py_spy, "record", "--pid", str(process.pid), "--rate", "200", "--format", "raw"]
    argv += ["--output", str(CACHE / f"profile-{name}.txt")]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish(spy: subprocess.Popen[bytes]) -> None:
    """Stop py-spy; it writes its file on SIGINT."""
    spy.send_signal(signal.SIGINT)
    spy.wait(timeout=60)


def flamegraph(name: str) -> None:
    """An SVG flame graph from the samples, when ``flamegraph.pl`` or ``inferno-flamegraph`` is installed."""
    tool = shutil.which("inferno-flamegraph") or shutil.which("flamegraph.pl")
    if tool:
        with (CACHE / f"profile-{name}.svg").open("wb") as out:
            subprocess.run([tool, str(CACHE / f"profile-{name}.txt")], stdout=out, check=False)


def profile_ingest(ctx: Context, seconds: int) -> None:
    """Sample an HTTP-only node under wrk."""
    site = ctx.new_site()
    node = start_service(ctx.workdir, ctx.sandbox, site, ctx.store(site, warm=False), ServiceSettings(), command="http")
    try:
        batch = ctx.batch(200_000)
        spy = record(node, "ingest")
        time.sleep(1)
        result = wrkload.run(node.url, batch, max_seconds=seconds)
        finish(spy)
        print(f"ingest: {result.count(202) / result.seconds:,.0f} webhooks/s accepted while sampled")
    finally:
        node.stop()


def profile_deliver(ctx: Context, seconds: int) -> None:
    """Sample a worker delivering a backlog ingested beforehand."""
    site = ctx.new_site()
    store = ctx.store(site)
    node = start_service(ctx.workdir, ctx.sandbox, site, store, ServiceSettings(), command="http")
    try:
        batch = ctx.batch(200_000)
        accepted = wrkload.run(node.url, batch, max_seconds=seconds).count(202)
    finally:
        node.stop()
    worker = start_service(ctx.workdir, ctx.sandbox, site, store, ServiceSettings(), command="worker")
    try:
        time.sleep(0.5)
        spy = record(worker, "deliver")
        started = time.time()
        stored = wait_stored(ctx.sandbox, site, 0, batch.count, timeout=600, settle=10, expect=accepted)
        finish(spy)
        last = max(stored.values()) if stored else time.time()
        print(f"deliver: {len(stored) / (last - started):,.0f} events/s while sampled ({len(stored)} events)")
    finally:
        worker.stop()


def main() -> None:
    """Profile the chosen path and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["ingest", "deliver"])
    parser.add_argument("--seconds", type=int, default=15, help="how long the webhook load runs")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="inboxbridge-profile-"))
    ctx = Context(workdir, quick=True)
    try:
        (profile_ingest if args.what == "ingest" else profile_deliver)(ctx, args.seconds)
    finally:
        ctx.close()
        shutil.rmtree(workdir, ignore_errors=True)
    flamegraph(args.what)
    print(summarize(CACHE / f"profile-{args.what}.txt"))


if __name__ == "__main__":
    main()
