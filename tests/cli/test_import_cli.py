"""The `inboxbridge import` command: options, exit codes, the summary, and `--wait` delivering in-process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from inboxbridge.cli import app

VISITS = """\
visit_id,visited_at,email,store,minutes
v1,2026-02-01T10:00:00Z,ana@example.com,Main St,25
v2,2026-02-02T11:00:00Z,bo@example.com,Harbour,40
v3,not a date,cy@example.com,Main St,10
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a config whose tenant uses the built-in sandbox, and a visits export."""
    (tmp_path / "inboxbridge.toml").write_text(
        f'database_url = "sqlite:///{tmp_path / "ib.db"}"\n'
        '[wix]\nbase_url = "sandbox"\n'
        "[worker]\npoll_interval_seconds = 0.05\n"
        "[tenants.acme]\n"
    )
    (tmp_path / "visits.csv").write_text(VISITS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["import", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


MAP = [
    "--map", "id=visit_id",
    "--map", "occurred_at=visited_at",
    "--map", "email=email",
    "--map", "text_template=Visited {store} ({minutes} min)",
    "--map", "default_kind=activity",
    "--map", "default_channel=Store",
]  # fmt: skip


def stored_rows(workdir: Path) -> list[tuple[str, str, bytes]]:
    with sqlite3.connect(workdir / "ib.db") as db:
        return list(db.execute("SELECT source, status, payload FROM events ORDER BY id"))


def test_import_stores_rows_reports_rejects_and_reruns_harmlessly(workdir: Path) -> None:
    code, out, _ = invoke("visits.csv", "-t", "acme", *MAP, "--rejects", "rejects.csv")
    assert code == 1  # a rejected row is worth a non-zero exit, the rest is imported all the same
    assert "visits.csv → acme/import: 3 rows read, 2 stored, 0 already stored, 0 ignored, 1 rejected" in out
    assert "line 4: column \"visited_at\" (occurred_at) holds 'not a date'" in out
    assert "(copied to rejects.csv)" in out
    assert "a running worker (inboxbridge serve or worker) delivers them" in out
    assert (workdir / "rejects.csv").read_text().splitlines()[1].startswith("v3,not a date,")
    rows = stored_rows(workdir)
    assert [(source, status) for source, status, _ in rows] == [("import", "pending")] * 2
    assert all(orjson.loads(payload)["silent"] is True for _, _, payload in rows)
    code, out, _ = invoke("visits.csv", "-t", "acme", *MAP, "--source", "import")
    assert "2 already stored" in out
    assert len(stored_rows(workdir)) == 2


def test_mapping_errors_exit_2_before_anything_is_stored(workdir: Path) -> None:
    code, _, err = invoke("visits.csv", "-t", "acme", "--map", "occurred_at=visited_at", "--map", "text=store")
    assert code == 2
    assert 'map "email" or "phone"' in err
    code, _, err = invoke("visits.csv", "-t", "acme", *MAP, "--map", "phone=tel")
    assert code == 2
    assert "does not have: tel" in err
    code, _, err = invoke("visits.csv", "-t", "nobody", *MAP)
    assert (code, "unknown tenant 'nobody'" in err) == (2, True)
    code, _, err = invoke("visits.csv", "-t", "acme", "--map", "email")
    assert (code, "write it as FIELD=COLUMN" in err) == (2, True)
    code, _, err = invoke("visits.csv", "-t", "acme", *MAP, "--source", "bad name!")
    assert code == 2
    assert not (workdir / "ib.db").exists() or stored_rows(workdir) == []


def test_wait_delivers_in_this_process(workdir: Path) -> None:
    (workdir / "visits.csv").write_text(VISITS.rsplit("v3", 1)[0])
    code, out, err = invoke("visits.csv", "-t", "acme", *MAP, "--wait", "--timeout", "60")
    assert code == 0, out + err
    assert "delivered 2 of 2" in out
    assert [status for _, status, _ in stored_rows(workdir)] == ["delivered", "delivered"]
