"""Fixtures of the command tests: commands run in-process leave the logging set-up as they found it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from inboxbridge import logs
from inboxbridge.cli import importer


@pytest.fixture(autouse=True)
def _logging_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A command run by CliRunner points the logs at the runner's stderr, closed once it returns: no logger may keep
    # it (no caching while the command runs), and later tests get the set-up they had.
    saved = structlog.get_config()

    def configure(level: str = "info", *, json: bool | None = None) -> None:
        logs.configure_logging(level, json=json)
        structlog.configure(cache_logger_on_first_use=False)

    monkeypatch.setattr(importer, "configure_logging", configure)
    yield
    structlog.configure(**saved)
