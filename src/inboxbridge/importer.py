"""Importing exported history (call logs, store visits, old chats) into the store, to be delivered silently.

The file is read record by record and stored in batches, each batch in one transaction: a run that stops (Ctrl-C,
a crash, the store going away) loses at most the batch in hand. Every row has an idempotency key (its id column, or
a hash of the row), so running the same file again stores nothing twice. A checkpoint file, rewritten after each
batch, lets the next run skip the records already stored instead of reading them into the store again; it is
deleted when the file is done.

Rows that cannot be read are counted, reported with their line numbers (and copied to a rejects file when asked),
and the rest is imported.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from inboxbridge.events import InboundEvent
from inboxbridge.import_files import ImportFile, Record
from inboxbridge.import_mapping import ImportMapping, RowError, row_event
from inboxbridge.store import Store

__all__ = ["ImportOptions", "ImportReport", "Rejected", "run_import"]

FIRST_REJECTS_KEPT = 50
"""How many rejected rows the report keeps in memory (all of them go to the rejects file)."""


@dataclass(frozen=True)
class ImportOptions:
    """Where the rows go and how the run is kept."""

    tenant: str
    source: str = "import"
    batch_size: int = 500
    rejects: Path | None = None
    """Copy rejected rows here (same format as the input, with the reason and line number)."""
    checkpoint: Path | None = None
    """Where progress is kept between runs; ``None`` keeps none."""
    restart: bool = False
    """Ignore an existing checkpoint and read the file from the start."""


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported: the line it starts on and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What a run did."""

    records: int = 0
    """Records read in this run (after any skipped thanks to the checkpoint)."""
    stored: int = 0
    parked: int = 0
    """Of the rows stored, those set aside because the tenant is stopped (its Wix app was removed from the site):
    they are delivered once the app is installed again."""
    duplicates: int = 0
    """Rows whose event was already stored (an earlier run, or a repeated row)."""
    ignored: int = 0
    """Rows whose kind maps to ``ignore``."""
    rejected: int = 0
    resumed_after: int = 0
    """Records skipped because a checkpoint showed an earlier run had stored them."""
    first_rejects: list[Rejected] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    """The ids of this run's events, new or already stored, in file order."""


Progress = Callable[[ImportReport, int], None]
"""Called after each batch with the report so far and the number of bytes of the file read."""


class _Checkpoint:
    """The count of records done, valid only for the same file (size and time), tenant, source and mapping."""

    def __init__(self, path: Path, identity: dict[str, Any]) -> None:
        self.path = path
        self.identity = identity
        self.usable = True

    def load(self) -> int:
        try:
            data = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return 0
        if not isinstance(data, dict) or data.get("identity") != self.identity:
            return 0
        done = data.get("records_done")
        return done if isinstance(done, int) and done > 0 else 0

    def save(self, records_done: int) -> None:
        if not self.usable:
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            temporary.write_bytes(orjson.dumps({"identity": self.identity, "records_done": records_done}))
            os.replace(temporary, self.path)
        except OSError:
            # A place we cannot write to only costs the next run its shortcut: reruns stay safe without it.
            self.usable = False

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class _RejectsFile:
    """Rejected rows, written as they are confirmed: CSV rows with ``error`` and ``line`` columns, or JSON lines."""

    def __init__(self, path: Path, source: ImportFile, *, append: bool) -> None:
        exists = append and path.exists() and path.stat().st_size > 0
        # Bytes the input's encoding could not read are written back unchanged, for whoever fixes the file.
        self._handle: IO[str] = path.open(
            "a" if append else "w", encoding="utf-8", errors="surrogateescape", newline=""
        )
        self._csv = csv.writer(self._handle, delimiter=source.delimiter) if source.format == "csv" else None
        if self._csv is not None and not exists:
            self._csv.writerow([*(source.header or []), "error", "line"])

    def write(self, record: Record, reason: str) -> None:
        if self._csv is not None:
            values = record.original if isinstance(record.original, list) else [record.original]
            self._csv.writerow([*values, reason, record.line])
        else:
            line = {"line": record.line, "error": reason, "record": record.original}
            self._handle.write(orjson.dumps(line).decode() + "\n")

    def close(self) -> None:
        self._handle.close()


def _identity(file: ImportFile, mapping: ImportMapping, options: ImportOptions) -> dict[str, Any]:
    stat = file.path.stat()
    return {
        "file": str(file.path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "tenant": options.tenant,
        "source": options.source,
        "mapping": mapping.fingerprint(),
    }


class _Run:
    """One import run's state between batches."""

    def __init__(self, store: Store, file: ImportFile, mapping: ImportMapping, options: ImportOptions) -> None:
        self.store = store
        self.file = file
        self.mapping = mapping
        self.options = options
        self.report = ImportReport()
        self.batch: list[InboundEvent] = []
        self.batch_rejects: list[tuple[Record, str]] = []
        self.rejects: _RejectsFile | None = None
        self.checkpoint = (
            _Checkpoint(options.checkpoint, _identity(file, mapping, options)) if options.checkpoint else None
        )

    def take(self, record: Record) -> None:
        self.report.records += 1
        if record.row is None:
            self.reject(record, record.error or "cannot be read")
            return
        try:
            event = row_event(self.mapping, record.row, tenant=self.options.tenant, source=self.options.source)
        except RowError as error:
            self.reject(record, str(error))
            return
        if event is None:
            self.report.ignored += 1
        else:
            self.batch.append(event)

    def reject(self, record: Record, reason: str) -> None:
        self.report.rejected += 1
        if len(self.report.first_rejects) < FIRST_REJECTS_KEPT:
            self.report.first_rejects.append(Rejected(record.line, reason))
        self.batch_rejects.append((record, reason))

    async def commit(self, records_done: int) -> None:
        """Store the batch in hand, then record the rejects and the checkpoint that go with it."""
        if self.batch:
            results = await self.store.queue.ingest(self.batch)
            for result in results:
                if result.duplicate:
                    self.report.duplicates += 1
                else:
                    self.report.stored += 1
                    self.report.parked += result.parked
                self.report.event_ids.append(result.event_id)
        if self.rejects is not None:
            for record, reason in self.batch_rejects:
                self.rejects.write(record, reason)
        self.batch.clear()
        self.batch_rejects.clear()
        if self.checkpoint is not None:
            self.checkpoint.save(records_done)


async def run_import(
    store: Store,
    file: ImportFile,
    mapping: ImportMapping,
    options: ImportOptions,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``file`` into ``store`` for ``options.tenant`` (which the store must know); see the module doc.

    ``file.check(mapping)`` must have passed. Store errors propagate once the batches before them are committed.
    """
    if options.batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    run = _Run(store, file, mapping, options)
    skip = 0
    if run.checkpoint is not None and not options.restart:
        skip = run.checkpoint.load()
    run.report.resumed_after = skip
    if options.rejects is not None:
        run.rejects = _RejectsFile(options.rejects, file, append=skip > 0)
    position = [0]
    seen = 0
    try:
        for record in file.records(position):
            seen += 1
            if seen <= skip:
                if progress is not None and seen % options.batch_size == 0:
                    progress(run.report, position[0])
                continue
            run.take(record)
            if len(run.batch) >= options.batch_size or len(run.batch_rejects) >= options.batch_size:
                await run.commit(seen)
                if progress is not None:
                    progress(run.report, position[0])
        await run.commit(seen)
        if progress is not None:
            progress(run.report, position[0])
    finally:
        if run.rejects is not None:
            run.rejects.close()
    if run.checkpoint is not None:
        run.checkpoint.remove()
    return run.report
