"""`inboxbridge import FILE`: bring exported history (CSV or JSONL) into the store, to be delivered silently."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from inboxbridge.cli.common import ConfigOption, console, err, load, sandbox_db
from inboxbridge.config import Settings
from inboxbridge.import_files import FileFormat, ImportFile
from inboxbridge.import_mapping import ImportMapping, MappingError, load_mapping
from inboxbridge.importer import ImportOptions, ImportReport, run_import
from inboxbridge.logs import configure_logging
from inboxbridge.service import Service
from inboxbridge.store import EventStatus, Store, StoreError

_SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_WAIT_WINDOW = 200
"""How many of the run's events each delivery poll looks at (they finish roughly in file order)."""
_REJECTS_SHOWN = 20


def _map_options(values: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for value in values:
        key, equals, column = value.partition("=")
        if not equals or not key.strip():
            err.print(f"--map {value!r}: write it as FIELD=COLUMN, e.g. --map email=Email")
            raise typer.Exit(2)
        options[key.strip()] = column.strip()
    return options


def import_command(
    file: Annotated[Path, typer.Argument(help="The CSV or JSONL export.", exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant (Wix site) the history belongs to.")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="TOML (or .json) mapping file.", exists=True, dir_okay=False)
    ] = None,
    map_option: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN (or a setting, e.g. default_kind=activity); repeatable."),
    ] = None,
    source: Annotated[str, typer.Option(help="Source name the events are stored under.")] = "import",
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the extension).")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default , or tab for .tsv).")] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of a CSV file.")] = "utf-8-sig",
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows stored per transaction.")] = 500,
    rejects: Annotated[
        Path | None, typer.Option(help="Write rows that cannot be imported here, with the reason.", dir_okay=False)
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="Progress file (default: FILE.import-progress).", dir_okay=False)
    ] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore the progress of an earlier run.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Deliver in this process and report the outcome.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=1, help="With --wait: seconds to wait for delivery.")] = 600,
    config: ConfigOption = None,
) -> None:
    """Import exported history (call logs, store visits, old chats) into the Inbox, silently.

    Re-running the same file stores nothing twice; an interrupted run continues where it stopped.
    """
    configure_logging("warning")
    settings = load(config)
    if tenant not in settings.tenants:
        err.print(f"unknown tenant {tenant!r}; configured: {', '.join(settings.tenants) or 'none'}")
        raise typer.Exit(2)
    if not _SOURCE_NAME.fullmatch(source):
        err.print(f"--source {source!r}: use letters, digits, '-', '_' or '.' (at most 128)")
        raise typer.Exit(2)
    if file_format not in (None, "csv", "jsonl"):
        err.print(f"--format {file_format!r}: choose csv or jsonl")
        raise typer.Exit(2)
    try:
        chosen: FileFormat | None = "csv" if file_format == "csv" else "jsonl" if file_format == "jsonl" else None
        source_file = ImportFile(file, chosen, delimiter=delimiter, encoding=encoding)
        rules = load_mapping(mapping, _map_options(map_option or []))
        source_file.check(rules)
    except MappingError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    options = ImportOptions(
        tenant=tenant,
        source=source,
        batch_size=batch_size,
        rejects=rejects,
        checkpoint=checkpoint or file.with_name(file.name + ".import-progress"),
        restart=restart,
    )
    try:
        report, delivery = asyncio.run(_import(settings, source_file, rules, options, wait, timeout))
    except KeyboardInterrupt:
        err.print("interrupted: the batches stored so far are kept; run the same command again to continue")
        raise typer.Exit(130) from None
    except StoreError as exc:
        err.print(f"the store failed: {exc}; the batches stored so far are kept, run the command again to continue")
        raise typer.Exit(1) from None
    _summary(file, options, report, rejects, delivery)
    if report.rejected:
        raise typer.Exit(1)


async def _import(
    settings: Settings,
    file: ImportFile,
    mapping: ImportMapping,
    options: ImportOptions,
    wait: bool,
    wait_seconds: float,
) -> tuple[ImportReport, str | None]:
    if not wait:
        store = await Store.open(settings.database_url)
        try:
            # Registered if new; a tenant stopped by App Removed stays stopped, and the rows are stored parked.
            if await store.ledger.get_tenant(options.tenant) is None:
                await store.ledger.upsert_tenant(options.tenant)
            return await _with_progress(store, file, mapping, options, None), None
        finally:
            await store.close()
    service = Service(settings, run_worker=True, sandbox_database=sandbox_db(settings))
    await service.start()
    try:
        report = await _with_progress(service.store, file, mapping, options, service)
        return report, await _deliver(service, report.event_ids, wait_seconds)
    finally:
        await service.stop()


async def _with_progress(
    store: Store, file: ImportFile, mapping: ImportMapping, options: ImportOptions, service: Service | None
) -> ImportReport:
    columns = (
        TextColumn("importing {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(file.path.name, total=file.size(), rows=0)

        def advance(report: ImportReport, position: int) -> None:
            progress.update(task, completed=position, rows=report.resumed_after + report.records)
            if service is not None:
                service.wake_worker()

        return await run_import(store, file, mapping, options, advance)


async def _deliver(service: Service, event_ids: list[int], wait_seconds: float) -> str:
    """Wait until the run's events are delivered or dead-lettered; a sentence saying how it went."""
    waiting = list(dict.fromkeys(event_ids))
    total, delivered, dead, parked = len(waiting), 0, 0, 0
    deadline = time.monotonic() + wait_seconds
    with Progress(
        TextColumn("delivering"), BarColumn(), TextColumn("{task.completed}/{task.total}"), console=err
    ) as bar:
        task: TaskID = bar.add_task("deliver", total=total)
        while waiting and time.monotonic() < deadline:
            window, waiting = waiting[:_WAIT_WINDOW], waiting[_WAIT_WINDOW:]
            unfinished = []
            for event_id in window:
                row = await service.store.ledger.get_event(event_id)
                if row is None or row.status is EventStatus.DELIVERED:
                    delivered += 1
                elif row.status is EventStatus.DEAD:
                    dead += 1
                elif row.status is EventStatus.PARKED:
                    parked += 1
                else:
                    unfinished.append(event_id)
            waiting = unfinished + waiting
            bar.update(task, completed=delivered + dead + parked)
            if len(unfinished) == len(window):
                await asyncio.sleep(0.1)
    outcome = f"delivered {delivered} of {total}"
    if dead:
        outcome += f", {dead} dead-lettered (see inboxbridge status)"
    if parked:
        outcome += f", {parked} parked (the tenant's Wix app was removed; delivered once it is installed again)"
    if waiting:
        outcome += f", {len(waiting)} still pending after {wait_seconds:g} s (they stay stored for the worker)"
    return outcome


def _summary(
    file: Path, options: ImportOptions, report: ImportReport, rejects: Path | None, delivery: str | None
) -> None:
    console.print(
        f"{file.name} → {options.tenant}/{options.source}: {report.records} rows read, {report.stored} stored, "
        f"{report.duplicates} already stored, {report.ignored} ignored, {report.rejected} rejected"
    )
    if report.parked:
        console.print(
            f"{report.parked} of them parked: the Wix app of {options.tenant} was removed from its site; they are "
            "delivered once it is installed again"
        )
    if report.resumed_after:
        console.print(f"continued after {report.resumed_after} rows stored by an earlier run")
    if report.first_rejects:
        console.print("rows not imported:")
        for rejected in report.first_rejects[:_REJECTS_SHOWN]:
            console.print(f"  line {rejected.line}: {rejected.reason}")
        more = report.rejected - min(len(report.first_rejects), _REJECTS_SHOWN)
        if more:
            console.print(f"  … and {more} more" + (f" (all in {rejects})" if rejects else " (use --rejects FILE)"))
        elif rejects:
            console.print(f"  (copied to {rejects})")
    if delivery is not None:
        console.print(delivery)
    elif report.stored:
        console.print("stored silently: a running worker (inboxbridge serve or worker) delivers them")
