"""How the rows of an exported file become events: which column (CSV) or field (JSONL) fills each event field.

A mapping is a small TOML or JSON file, or ``--map key=value`` options, or both (options win)::

    id = "call_id"                 # the row's own id: makes re-running the import harmless
    occurred_at = "started_at"     # ISO 8601, unix seconds / milliseconds, or occurred_at_format
    phone = "caller"
    text_template = "Call with {agent} · {duration} s"
    default_kind = "activity"
    default_channel = "Call"

Every row is read on its own: a row that cannot be read raises :class:`RowError` with the reason, and the rest of
the file is imported.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from inboxbridge.events import MAX_TEXT, Direction, EventKind, InboundEvent
from inboxbridge.providers.helpers.values import as_time, as_url, split_name, truncate

__all__ = ["ImportMapping", "MappingError", "RowError", "load_mapping", "row_event"]

KindChoice = Literal["message", "activity", "ignore"]
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_LIST_SEPARATOR = re.compile(r"[;,]")
# The fields whose value names a column (the rest are constants or tables).
COLUMN_FIELDS = (
    "id",
    "occurred_at",
    "email",
    "phone",
    "name",
    "first_name",
    "last_name",
    "text",
    "title",
    "kind",
    "direction",
    "activity_url",
    "channel",
)


class MappingError(ValueError):
    """The mapping cannot be used (nothing is imported)."""


class RowError(ValueError):
    """One row cannot be imported; the message says why."""


def _placeholders(template: str) -> list[str]:
    return [match.group(1) for match in _PLACEHOLDER.finditer(template) if match.group(1) is not None]


class ImportMapping(BaseModel):
    """Where each event field is found in a row, and the values to use when a row has none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    """The column with the row's own id; without one, a hash of the whole row identifies it."""
    occurred_at: str
    occurred_at_format: str | None = None
    """A ``strptime`` format (``%d/%m/%Y %H:%M``) for times that are not ISO 8601 or unix times."""
    timezone: str = "UTC"
    """The zone of times written without an offset."""
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    text: str | None = None
    text_template: str | None = None
    """The text made of several columns: ``"Visit to {store}: {notes}"`` (``{{`` and ``}}`` for braces)."""
    title: str | None = None
    kind: str | None = None
    kind_map: dict[str, KindChoice] = Field(default_factory=dict)
    default_kind: EventKind = EventKind.MESSAGE
    direction: str | None = None
    direction_map: dict[str, Direction] = Field(default_factory=dict)
    default_direction: Direction = Direction.INBOUND
    activity_url: str | None = None
    channel: str | None = None
    default_channel: str | None = Field(default=None, max_length=64)

    @field_validator(*COLUMN_FIELDS, "text_template")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must name a column, not be empty")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name such as Europe/Paris or UTC") from None
        return value

    @field_validator("text_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            leftover = _PLACEHOLDER.sub("", value)
            if "{" in leftover or "}" in leftover:
                raise ValueError("has an unmatched brace: write {{ or }} for a brace of its own")
            if any(not name.strip() for name in _placeholders(value)):
                raise ValueError("has an empty {} placeholder: write the column name inside the braces")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.email is None and self.phone is None:
            raise ValueError('map "email" or "phone": every row must name the customer it is about')
        if (self.text is None) == (self.text_template is None):
            raise ValueError('map exactly one of "text" (a column) and "text_template" (columns in a sentence)')
        return self

    def columns(self) -> set[str]:
        """Every column the mapping reads."""
        names = {value for field in COLUMN_FIELDS if (value := getattr(self, field)) is not None}
        if self.text_template is not None:
            names.update(_placeholders(self.text_template))
        return names

    def fingerprint(self) -> str:
        """A hash of the mapping: a checkpoint is only reused with the mapping it was made with."""
        return hashlib.sha256(orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MappingError(f"cannot read the mapping file {path}: {error.strerror or error}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise MappingError(
            f"the mapping file {path} is not valid {path.suffix.lstrip('.').upper() or 'TOML'}: {error}"
        ) from None
    if not isinstance(data, dict):
        raise MappingError(f"the mapping file {path} must hold a table of settings")
    return data


def _explain(error: ValidationError) -> str:
    lines = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "is not a mapping setting"
        lines.append(f"{where}: {message}" if where else message)
    return "the mapping is not usable:\n  " + "\n  ".join(lines)


def load_mapping(path: Path | None, options: Mapping[str, str]) -> ImportMapping:
    """The mapping in ``path`` (TOML, or JSON by extension) with ``options`` (``--map key=value``) on top."""
    data: dict[str, Any] = _read_file(path) if path is not None else {}
    data.update(options)
    try:
        return ImportMapping.model_validate(data)
    except ValidationError as error:
        raise MappingError(_explain(error)) from None


# Rows


def _lookup(row: Mapping[str, Any], column: str) -> Any:
    """The value of ``column``: the key itself, else a dotted path into nested JSON objects."""
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _text(row: Mapping[str, Any], column: str | None) -> str | None:
    if column is None:
        return None
    value = _lookup(row, column)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise RowError(f'column "{column}" holds {type(value).__name__}, not text')


def _emails(row: Mapping[str, Any], column: str | None) -> tuple[str, ...]:
    if column is None:
        return ()
    value = _lookup(row, column)
    items = value if isinstance(value, list) else _LIST_SEPARATOR.split(value) if isinstance(value, str) else [value]
    found = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, str):
            raise RowError(f'column "{column}" holds {type(item).__name__}, not an email address')
        if item.strip():
            found.append(item.strip())
    return tuple(found)


def _render(template: str, row: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]
        return _text(row, match.group(1)) or ""

    return _PLACEHOLDER.sub(replace, template).strip()


def _choice(
    row: Mapping[str, Any], column: str | None, table: Mapping[str, Any], allowed: tuple[str, ...]
) -> str | None:
    value = _text(row, column)
    if value is None:
        return None
    if value in table:
        return str(table[value])
    if value.lower() in allowed:
        return value.lower()
    listed = ", ".join(f'"{key}"' for key in table) or "nothing"
    raise RowError(
        f'column "{column}" holds "{value}", which is not '
        + " or ".join(f'"{a}"' for a in allowed)
        + f" and not in its map (it lists {listed})"
    )


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _time(mapping: ImportMapping, row: Mapping[str, Any], zone: tzinfo) -> datetime:
    raw = _lookup(row, mapping.occurred_at)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise RowError(f'column "{mapping.occurred_at}" (occurred_at) is empty: every row needs its time')
    parsed: datetime | None
    try:
        if mapping.occurred_at_format is not None:
            parsed = datetime.strptime(str(raw).strip(), mapping.occurred_at_format)
        elif isinstance(raw, str) and not _NUMBER.fullmatch(raw.strip()):
            # Read here rather than by as_time, which takes a time without offset as UTC: the mapping's zone applies.
            parsed = datetime.fromisoformat(raw.strip())
        else:
            parsed = as_time(raw)  # unix seconds or milliseconds
    except ValueError as error:
        expected = (
            f"which does not match {mapping.occurred_at_format!r}"
            if mapping.occurred_at_format is not None
            else "which is not a time (ISO 8601, or unix seconds or milliseconds; see occurred_at_format)"
            if isinstance(raw, str)
            else str(error)
        )
        raise RowError(f'column "{mapping.occurred_at}" (occurred_at) holds {raw!r}, {expected}') from None
    assert parsed is not None  # as_time gives None only for None, refused above
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def row_key(row: Mapping[str, Any]) -> str:
    """A row's identity when the mapping names no id column: a hash of all its values."""
    canonical = orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return "row-sha256:" + hashlib.sha256(canonical).hexdigest()


def row_event(mapping: ImportMapping, row: Mapping[str, Any], *, tenant: str, source: str) -> InboundEvent | None:
    """The event one row becomes, ``None`` when its kind maps to ``ignore``; raises :class:`RowError`."""
    kind_name = _choice(row, mapping.kind, mapping.kind_map, ("message", "activity")) or mapping.default_kind
    if kind_name == "ignore":
        return None
    direction = _choice(row, mapping.direction, mapping.direction_map, ("inbound", "outbound"))
    emails = _emails(row, mapping.email)
    phone = _text(row, mapping.phone)
    if not emails and not phone:
        named = [f'"{c}"' for c in (mapping.email, mapping.phone) if c is not None]
        which = f"column {named[0]} is" if len(named) == 1 else f"columns {' and '.join(named)} are"
        raise RowError(f"{which} empty: the row names no customer")
    text = _text(row, mapping.text) if mapping.text_template is None else _render(mapping.text_template, row)
    if not text:
        what = f'column "{mapping.text}"' if mapping.text is not None else "text_template"
        raise RowError(f"{what} gives no text: nothing to show in the Inbox")
    first, last = _text(row, mapping.first_name), _text(row, mapping.last_name)
    name_first, name_last = split_name(_text(row, mapping.name))
    identity = _text(row, mapping.id)
    if mapping.id is not None and identity is None:
        raise RowError(f'column "{mapping.id}" (id) is empty: every row needs its id')
    try:
        url = as_url(_text(row, mapping.activity_url))
    except ValueError as error:
        raise RowError(f'column "{mapping.activity_url}" (activity_url) {error}') from None
    try:
        return InboundEvent(
            tenant=tenant,
            source=source,
            kind=EventKind(kind_name),
            occurred_at=_time(mapping, row, ZoneInfo(mapping.timezone)),
            external_id=identity[:500] if identity else row_key(row),
            direction=Direction(direction or mapping.default_direction),
            emails=emails,
            phone=phone,
            first_name=truncate(first or name_first, 256),
            last_name=truncate(last or name_last, 256),
            text=truncate(text, MAX_TEXT),
            title=truncate(_text(row, mapping.title), 256),
            activity_url=url,
            channel=_text(row, mapping.channel) or mapping.default_channel,
            silent=True,
            raw=dict(row),
        )
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise RowError(f"{where}: {message}" if where else message) from None
