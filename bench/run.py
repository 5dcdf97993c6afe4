"""Run inboxbridge's benchmarks and print the table: ``python bench/run.py [--quick] [--only ingest,latency]``.

Every figure starts its own processes on 127.0.0.1 (a Wix sandbox, ``inboxbridge serve`` with a generated
config, the baseline servers, the load clients) and measures its baselines in the same run. See
docs/performance.md for what each figure means and the last run's results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import fig_http
import fig_rate
import fig_store
from context import Context, Row
from rich.console import Console
from rich.table import Table
from rig import CACHE, proc_kib

FIGURES: dict[str, Callable[[Context], None]] = {
    "ingest": fig_http.ingest,
    "calls": fig_rate.calls,
    "per-minute": fig_rate.per_minute,
    "latency": fig_http.latency,
    "throughput": fig_http.throughput,
    "share": fig_rate.share,
    "rss": fig_store.rss,
    "growth": fig_store.growth,
}


def machine() -> str:
    """Cores, memory and Python of this machine, in one line."""
    memory = proc_kib("/proc/meminfo", "MemTotal") / 2**20
    return (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), {memory:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def table(rows: list[Row]) -> Table:
    """The results as a rich table."""
    out = Table(title="inboxbridge benchmarks", show_lines=True)
    for column in ("figure", "inboxbridge", "baselines (same run)", "ratio", "target", "met"):
        out.add_column(column)
    for row in rows:
        met = "-" if row.met is None else "yes" if row.met else "NO"
        out.add_row(row.figure, row.value, row.baselines, row.ratio, row.target, met)
    return out


def markdown(rows: list[Row]) -> str:
    """The results as a Markdown table, notes below it."""
    lines = [
        "| figure | inboxbridge | baselines (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = "-" if row.met is None else "yes" if row.met else "**no**"
        lines.append(f"| {row.figure} | {row.value} | {row.baselines} | {row.ratio} | {row.target} | {met} |")
    lines.append("")
    lines += [f"- {row.figure}: {row.note}" for row in rows if row.note]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Parse the arguments, run the chosen figures, print (and keep) the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller loads and shorter windows (a smoke run)")
    parser.add_argument("--only", default="", help=f"comma-separated figures among: {', '.join(FIGURES)}")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, configs, stores)")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(FIGURES)
    unknown = [name for name in chosen if name not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose among {', '.join(FIGURES)}")
    console = Console()
    CACHE.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="inboxbridge-bench-"))
    ctx = Context(workdir, quick=args.quick)
    failed: list[str] = []
    console.print(f"{machine()}\nrun folder: {workdir}")
    try:
        for name in chosen:
            started = time.monotonic()
            console.print(f"[bold]{name}[/bold] ...")
            try:
                FIGURES[name](ctx)
            except Exception:
                failed.append(name)
                console.print(f"[red]{name} failed[/red]\n{traceback.format_exc()}")
            console.print(f"  {name}: {time.monotonic() - started:.0f} s")
    finally:
        ctx.close()
    console.print(table(ctx.rows))
    for row in ctx.rows:
        if row.note:
            console.print(f"- {row.figure}: {row.note}", highlight=False)
    result = {"machine": machine(), "quick": args.quick, "rows": [asdict(row) for row in ctx.rows]}
    (CACHE / "last-run.json").write_text(json.dumps(result, indent=2))
    (CACHE / "last-run.md").write_text(f"Machine: {machine()}\n\n" + markdown(ctx.rows))
    console.print(f"table kept in {CACHE / 'last-run.md'}")
    if args.keep:
        console.print(f"run folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
