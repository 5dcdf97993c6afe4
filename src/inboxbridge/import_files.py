"""Reading exported files record by record: CSV with a header line, or JSONL (one JSON object per line).

Each record comes with the line it starts on, so a row that cannot be read is reported where a person can find
it. A record that cannot be read (bad bytes, a wrong number of values, broken JSON) is yielded with its error and
the reading goes on.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from inboxbridge.import_mapping import ImportMapping, MappingError

__all__ = ["FileFormat", "ImportFile", "Record", "guess_format"]

FileFormat = Literal["csv", "jsonl"]
_FORMATS: dict[str, FileFormat] = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class Record:
    """One data record: where it starts, its values by column (``None`` when unreadable), and why not."""

    line: int
    row: dict[str, Any] | None
    original: list[str] | str
    """The record as written: the CSV values, or the JSONL line."""
    error: str | None = None


def guess_format(path: Path) -> FileFormat:
    """The format a file's extension names; raises :class:`MappingError` for others."""
    found = _FORMATS.get(path.suffix.lower())
    if found is None:
        raise MappingError(f"cannot tell the format of {path.name} from its extension: pass --format csv or jsonl")
    return found


def _unreadable(values: list[str]) -> bool:
    """Whether undecodable bytes (kept as escapes by the reader) are in ``values``."""
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class ImportFile:
    """A CSV or JSONL file to import, opened afresh by each :meth:`records` call."""

    def __init__(
        self,
        path: Path,
        file_format: FileFormat | None = None,
        *,
        delimiter: str | None = None,
        encoding: str = "utf-8-sig",
    ) -> None:
        self.path = path
        self.format: FileFormat = file_format or guess_format(path)
        self.delimiter = delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise MappingError(f"{encoding!r} is not a known text encoding (utf-8, latin-1, cp1252...)") from None
        self.encoding = encoding
        self.header: list[str] | None = None

    def size(self) -> int:
        """The file's size in bytes."""
        return self.path.stat().st_size

    def check(self, mapping: ImportMapping) -> None:
        """Read the CSV header and check that every mapped column is in it; raises :class:`MappingError`."""
        if self.format != "csv":
            return
        with self._text() as (_, text):
            header = next(csv.reader(text, delimiter=self.delimiter), None)
        if not header or not any(name.strip() for name in header):
            raise MappingError(f"{self.path.name} has no header line: the first line must name the columns")
        if _unreadable(header):
            raise MappingError(f"the header of {self.path.name} is not {self.encoding} text: pass --encoding")
        names = [name.strip() for name in header]
        repeated = sorted({name for name in names if names.count(name) > 1 and name})
        if repeated:
            raise MappingError(f"the header names these columns more than once: {', '.join(repeated)}")
        missing = sorted(mapping.columns() - set(names))
        if missing:
            raise MappingError(
                f"the mapping names columns that {self.path.name} does not have: {', '.join(missing)}\n"
                f"  its columns are: {', '.join(names)}"
            )
        self.header = names

    def _text(self) -> _TextFile:
        return _TextFile(self.path, self.encoding)

    def records(self, position: list[int]) -> Iterator[Record]:
        """The data records in file order; ``position[0]`` follows how many bytes have been read."""
        if self.format == "csv":
            yield from self._csv_records(position)
        else:
            yield from self._jsonl_records(position)

    def _csv_records(self, position: list[int]) -> Iterator[Record]:
        if self.header is None:
            raise MappingError("check the mapping against the header before reading records")
        header = self.header
        with self._text() as (binary, text):
            reader = csv.reader(text, delimiter=self.delimiter)
            try:
                next(reader)
                last_line = reader.line_num
                for values in reader:
                    start, last_line = last_line + 1, reader.line_num
                    position[0] = binary.tell()
                    if not values or (len(values) == 1 and not values[0].strip()):
                        continue
                    if _unreadable(values):
                        yield Record(start, None, values, f"is not {self.encoding} text (pass --encoding)")
                    elif len(values) != len(header):
                        problem = f"has {len(values)} values where the header has {len(header)} columns"
                        yield Record(start, None, values, problem)
                    else:
                        yield Record(start, dict(zip(header, values, strict=True)), values)
            except csv.Error as error:
                # A broken quote swallows the rest of the file: nothing after it can be told apart.
                line = reader.line_num
                yield Record(line, None, [], f"cannot be read as CSV from here on ({error})")
            position[0] = binary.tell()

    def _jsonl_records(self, position: list[int]) -> Iterator[Record]:
        with self.path.open("rb") as binary:
            for number, raw in enumerate(binary, start=1):
                position[0] = binary.tell()
                line = raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw
                if not line.strip():
                    continue
                text = line.decode("utf-8", errors="replace").rstrip("\r\n")
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    yield Record(number, None, text, f"is not valid JSON ({error})")
                    continue
                if not isinstance(value, dict):
                    yield Record(number, None, text, "is not a JSON object")
                    continue
                yield Record(number, value, text)


class _TextFile:
    """The file as text (undecodable bytes kept as escapes, for the caller to find), and its binary position."""

    def __init__(self, path: Path, encoding: str) -> None:
        self._path = path
        self._encoding = encoding
        self._binary: IO[bytes] | None = None

    def __enter__(self) -> tuple[IO[bytes], io.TextIOWrapper]:
        binary = self._path.open("rb")
        self._binary = binary
        # csv wants newline="" so that line breaks inside quoted values stay part of the value.
        return binary, io.TextIOWrapper(binary, encoding=self._encoding, errors="surrogateescape", newline="")

    def __exit__(self, *exc: object) -> None:
        if self._binary is not None:
            self._binary.close()
