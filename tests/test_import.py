"""`inboxbridge import`: CSV and JSONL exports into a real SQLite store, bad rows, reruns and resumed runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inboxbridge.config import DeliverySettings
from inboxbridge.events import Direction, EventKind, InboundEvent
from inboxbridge.import_files import ImportFile
from inboxbridge.import_mapping import ImportMapping, MappingError, load_mapping
from inboxbridge.importer import ImportOptions, ImportReport, run_import
from inboxbridge.pipeline.render import render
from inboxbridge.store import Store

CALLS = """\
call_id,started_at,caller,email,direction,duration,notes
c1,2026-03-01 10:00,+15550100,ana@example.com,in,120,Asked about opening hours
c2,2026-03-01 11:30,+15550101,,out,45,"Called back about the order,
then about the invoice"
c3,yesterday,+15550102,,in,10,Missed
c4,2026-03-02 09:00,,,in,30,No number
c5,2026-03-02 09:30,+15550104,,in,5
c6,1772445600,+15550105,,sideways,5,Odd direction
"""

CALL_MAPPING = {
    "id": "call_id",
    "occurred_at": "started_at",
    "timezone": "America/New_York",
    "phone": "caller",
    "email": "email",
    "direction": "direction",
    "direction_map": {"in": "inbound", "out": "outbound"},
    "text_template": "Call · {duration} s: {notes}",
    "default_kind": "activity",
    "default_channel": "Call",
}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'ib.db'}")
    await opened.ledger.upsert_tenant("acme")
    yield opened
    await opened.close()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def mapping(**settings: Any) -> ImportMapping:
    return ImportMapping.model_validate(settings)


async def stored(store: Store, source: str = "import") -> list[InboundEvent]:
    rows = await store.ledger.list_events(tenant="acme", source=source, limit=1000)
    return sorted((row.event for row in rows), key=lambda e: e.occurred_at)


async def run(store: Store, path: Path, rules: ImportMapping, *, progress: Any = None, **options: Any) -> ImportReport:
    file = ImportFile(path)
    file.check(rules)
    return await run_import(store, file, rules, ImportOptions(tenant="acme", **options), progress)


async def test_csv_call_log(store: Store, tmp_path: Path) -> None:
    report = await run(store, write(tmp_path / "calls.csv", CALLS), mapping(**CALL_MAPPING))
    assert (report.records, report.stored, report.duplicates, report.rejected) == (6, 2, 0, 4)
    assert [(r.line, r.reason) for r in report.first_rejects] == [
        (
            5,
            "column \"started_at\" (occurred_at) holds 'yesterday', which is not a time "
            "(ISO 8601, or unix seconds or milliseconds; see occurred_at_format)",
        ),
        (6, 'columns "email" and "caller" are empty: the row names no customer'),
        (7, "has 6 values where the header has 7 columns"),
        (
            8,
            'column "direction" holds "sideways", which is not "inbound" or "outbound" and not in its map '
            '(it lists "in", "out")',
        ),
    ]
    first, second = await stored(store)
    assert first.kind is EventKind.ACTIVITY
    assert first.silent is True
    assert first.text == "Call · 120 s: Asked about opening hours"
    assert first.occurred_at == datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 in New York
    assert (first.emails, first.phone, first.channel, first.external_id) == (
        ("ana@example.com",),
        "+15550100",
        "Call",
        "c1",
    )
    assert second.direction is Direction.OUTBOUND
    assert second.text == "Call · 45 s: Called back about the order,\nthen about the invoice"
    assert second.raw["caller"] == "+15550101"


async def test_jsonl_chat_history_with_nested_fields(store: Store, tmp_path: Path) -> None:
    lines = [
        {
            "id": 1,
            "at": "2025-06-01T09:00:00+02:00",
            "customer": {"email": "bo@example.com", "name": "Bo Chen"},
            "type": "chat",
            "from": "customer",
            "body": "Is the shop open on Sunday?",
        },
        {
            "id": 2,
            "at": 1748768400000,
            "customer": {"email": "bo@example.com"},
            "type": "chat",
            "from": "agent",
            "body": "Yes, 10 to 4.",
            "link": "https://crm.example.com/c/2",
        },
        {"id": 3, "at": "2025-06-01T09:10:00Z", "customer": {"email": "bo@example.com"}, "type": "typing"},
        "not an object",
        {
            "id": 4,
            "at": "2025-06-02T09:00:00Z",
            "customer": {"email": ["bo@example.com", "bo@work.example"]},
            "type": "visit",
            "body": "Visited the Main St store",
        },
        {
            "id": 5,
            "at": "2025-06-02T10:00:00Z",
            "customer": {"email": "bo@example.com"},
            "type": "visit",
            "body": {"nested": True},
        },
    ]
    text = (
        "\n".join(json.dumps(line) for line in lines[:3])
        + "\n\n{broken json\n"
        + "\n".join(json.dumps(line) for line in lines[3:])
    )
    path = write(tmp_path / "history.jsonl", text + "\n")
    rules = mapping(
        id="id",
        occurred_at="at",
        email="customer.email",
        name="customer.name",
        text="body",
        kind="type",
        kind_map={"chat": "message", "visit": "activity", "typing": "ignore"},
        direction="from",
        direction_map={"customer": "inbound", "agent": "outbound"},
        activity_url="link",
        default_channel="Chat",
    )
    rejects = tmp_path / "rejects.jsonl"
    report = await run(store, path, rules, rejects=rejects)
    assert (report.stored, report.ignored, report.rejected) == (3, 1, 3)
    assert [r.line for r in report.first_rejects] == [5, 6, 8]
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(w["line"], w["error"].split(" (")[0]) for w in written] == [
        (5, "is not valid JSON"),
        (6, "is not a JSON object"),
        (8, 'column "body" holds dict, not text'),
    ]
    asked, answered, visit = await stored(store)
    assert (asked.first_name, asked.last_name, asked.kind) == ("Bo", "Chen", EventKind.MESSAGE)
    assert asked.occurred_at == datetime(2025, 6, 1, 7, 0, tzinfo=UTC)
    assert answered.direction is Direction.OUTBOUND
    assert answered.activity_url == "https://crm.example.com/c/2"
    assert visit.kind is EventKind.ACTIVITY
    assert visit.emails == ("bo@example.com", "bo@work.example")
    assert all(event.silent and event.channel == "Chat" for event in (asked, answered, visit))


async def test_rerunning_the_same_file_stores_nothing_twice(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv", CALLS)
    rules = mapping(**CALL_MAPPING)
    first = await run(store, path, rules, checkpoint=tmp_path / "progress")
    assert not (tmp_path / "progress").exists()  # a finished run leaves no checkpoint
    again = await run(store, path, rules, checkpoint=tmp_path / "progress")
    assert (again.stored, again.duplicates, again.resumed_after) == (0, first.stored, 0)
    assert again.event_ids == first.event_ids
    assert len(await stored(store)) == 2


async def test_rows_without_an_id_are_known_by_their_content(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "visits.csv",
        "email,when,store\nana@example.com,2026-01-05T10:00:00Z,Main St\n"
        "ana@example.com,2026-01-05T10:00:00Z,Main St\nana@example.com,2026-01-06T10:00:00Z,Main St\n",
    )
    rules = mapping(email="email", occurred_at="when", text_template="Visited {store}", default_kind="activity")
    report = await run(store, path, rules)
    assert (report.stored, report.duplicates) == (2, 1)
    assert (await run(store, path, rules)).stored == 0


class Interrupted(Exception):
    pass


async def test_an_interrupted_run_continues_where_it_stopped(store: Store, tmp_path: Path) -> None:
    rows = "\n".join(f"v{i},2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z,c{i}@example.com,visit {i}" for i in range(50))
    path = write(tmp_path / "visits.csv", "id,at,email,note\n" + rows + "\n")
    rules = mapping(id="id", occurred_at="at", email="email", text="note")
    checkpoint = tmp_path / "visits.progress"
    batches: list[int] = []

    def stop_after_two_batches(report: ImportReport, position: int) -> None:
        batches.append(report.stored)
        if len(batches) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        await run(store, path, rules, progress=stop_after_two_batches, batch_size=8, checkpoint=checkpoint)
    assert checkpoint.exists()
    assert len(await stored(store)) == 16
    resumed = await run(store, path, rules, batch_size=8, checkpoint=checkpoint)
    assert (resumed.resumed_after, resumed.records, resumed.stored, resumed.duplicates) == (16, 34, 34, 0)
    assert len(await stored(store)) == 50
    assert not checkpoint.exists()


async def test_a_checkpoint_is_ignored_for_a_changed_file_or_mapping(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "id,at,email,note\n1,2026-01-01T00:00:00Z,a@example.com,one\n")
    rules = mapping(id="id", occurred_at="at", email="email", text="note")
    checkpoint = tmp_path / "a.progress"
    file = ImportFile(path)
    file.check(rules)
    identity = {
        "file": str(path.resolve()),
        "size": path.stat().st_size,
        "mtime_ns": path.stat().st_mtime_ns,
        "tenant": "acme",
        "source": "import",
        "mapping": "another mapping",
    }
    checkpoint.write_text(json.dumps({"identity": identity, "records_done": 1}))
    report = await run(store, path, rules, checkpoint=checkpoint)
    assert (report.resumed_after, report.stored) == (0, 1)
    checkpoint.write_text(json.dumps({"identity": {**identity, "mapping": rules.fingerprint()}, "records_done": 1}))
    assert (await run(store, path, rules, checkpoint=checkpoint, restart=True)).resumed_after == 0


async def test_rejects_file_keeps_the_csv_shape_and_bad_bytes_are_rejected(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(
        b"id,at,email,note\n1,2026-01-01T00:00:00Z,a@example.com,ok\n2,2026-01-01T00:00:00Z,b@example.com,caf\xe9\n"
    )
    rejects = tmp_path / "rejects.csv"
    report = await run(store, path, mapping(id="id", occurred_at="at", email="email", text="note"), rejects=rejects)
    assert (report.stored, report.rejected) == (1, 1)
    header, row = rejects.read_bytes().splitlines()
    assert header == b"id,at,email,note,error,line"
    # The row's bytes are written back as they were, for whoever fixes the file.
    assert row == b"2,2026-01-01T00:00:00Z,b@example.com,caf\xe9,is not utf-8-sig text (pass --encoding),3"
    latin = ImportFile(path, encoding="latin-1")
    rules = mapping(id="id", occurred_at="at", email="email", text="note")
    latin.check(rules)
    again = await run_import(store, latin, rules, ImportOptions(tenant="acme"))
    assert (again.stored, again.duplicates) == (1, 1)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"occurred_at": "at", "text": "note"}, 'map "email" or "phone"'),
        ({"occurred_at": "at", "email": "e"}, 'exactly one of "text"'),
        ({"occurred_at": "at", "email": "e", "text": "n", "text_template": "{n}"}, 'exactly one of "text"'),
        ({"occurred_at": "at", "email": "e", "text_template": "Hi {name"}, "unmatched brace"),
        ({"occurred_at": "at", "email": "e", "text_template": "Hi {}"}, "empty {} placeholder"),
        ({"occurred_at": "at", "email": "e", "text": "n", "timezone": "Mars/Olympus"}, "not a time zone"),
        ({"occurred_at": "at", "email": "e", "text": "n", "colour": "x"}, "colour: is not a mapping setting"),
        ({"email": "e", "text": "n"}, "occurred_at: Field required"),
        ({"occurred_at": "at", "email": " ", "text": "n"}, "must name a column"),
    ],
)
def test_mapping_mistakes_are_explained(settings: dict[str, str], message: str) -> None:
    with pytest.raises(MappingError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_mapping(None, settings)


def test_mapping_file_with_options_on_top(tmp_path: Path) -> None:
    toml = write(
        tmp_path / "map.toml", 'occurred_at = "at"\nemail = "mail"\ntext = "body"\ndefault_kind = "activity"\n'
    )
    rules = load_mapping(toml, {"email": "Email", "default_channel": "Visit"})
    assert (rules.email, rules.default_kind, rules.default_channel) == ("Email", EventKind.ACTIVITY, "Visit")
    as_json = write(tmp_path / "map.json", json.dumps({"occurred_at": "at", "phone": "tel", "text": "body"}))
    assert load_mapping(as_json, {}).phone == "tel"
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping(write(tmp_path / "bad.toml", "email = \n"), {})
    with pytest.raises(MappingError, match="cannot read the mapping file"):
        load_mapping(tmp_path / "missing.toml", {})


def test_columns_the_file_does_not_have_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "calls.csv", CALLS)
    file = ImportFile(path)
    with pytest.raises(MappingError, match="does not have: agent, customer_email") as caught:
        file.check(mapping(occurred_at="started_at", email="customer_email", text_template="{agent}: {notes}"))
    assert "its columns are: call_id, started_at" in str(caught.value)
    with pytest.raises(MappingError, match="no header line"):
        ImportFile(write(tmp_path / "empty.csv", "")).check(mapping(occurred_at="a", email="b", text="c"))
    with pytest.raises(MappingError, match="more than once: a"):
        ImportFile(write(tmp_path / "twice.csv", "a,a,b\n")).check(mapping(occurred_at="a", email="b", text="b"))
    with pytest.raises(MappingError, match="pass --format"):
        ImportFile(tmp_path / "calls.xlsx")
    with pytest.raises(MappingError, match="not a known text encoding"):
        ImportFile(path, encoding="utf-99")


async def test_custom_time_format_and_tsv(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "visits.tsv", "when\tmail\tnote\n05/01/2026 14:30\tana@example.com\tVisit\n31/02/2026 x\ta@b.co\tx\n"
    )
    rules = mapping(
        occurred_at="when", occurred_at_format="%d/%m/%Y %H:%M", timezone="Europe/Paris", email="mail", text="note"
    )
    report = await run(store, path, rules)
    assert report.stored == 1
    assert report.first_rejects[0].reason.endswith("which does not match '%d/%m/%Y %H:%M'")
    (event,) = await stored(store)
    assert event.occurred_at == datetime(2026, 1, 5, 13, 30, tzinfo=UTC)


def test_silent_events_are_sent_silent_whatever_the_source_delivery_says() -> None:
    event = InboundEvent(
        tenant="acme",
        source="import",
        kind=EventKind.MESSAGE,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        emails=("ana@example.com",),
        text="old chat",
        silent=True,
    )
    assert render(event, DeliverySettings()).silent is True
    assert render(event.model_copy(update={"silent": False}), DeliverySettings()).silent is None
    assert render(event.model_copy(update={"silent": False}), DeliverySettings(silent=True)).silent is True
    # Whether to notify is not what happened: the content key of an event without an id ignores it.
    assert event.idempotency_key() == event.model_copy(update={"silent": False}).idempotency_key()
