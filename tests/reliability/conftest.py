"""Options of the reliability suites: ``--chaos-long`` for the long runs, ``--report FILE`` to write the figures.

Both also come from the environment (``INBOXBRIDGE_CHAOS_LONG=1``, ``INBOXBRIDGE_RELIABILITY_REPORT=FILE``), for a
pytest run started from the repository root, where this folder's options are not known yet.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .report import Figures, render
from .support import CREATED

_FIGURES = pytest.StashKey[Figures]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reliability")
    group.addoption("--chaos-long", action="store_true", help="run the long versions of the reliability suites")
    group.addoption("--report", metavar="FILE", help="write the reliability figures of this run to FILE")


def _option(config: pytest.Config, name: str) -> object:
    try:
        return config.getoption(name)
    except ValueError:
        return None


def _long(config: pytest.Config) -> bool:
    return bool(_option(config, "--chaos-long")) or os.environ.get("INBOXBRIDGE_CHAOS_LONG", "") not in ("", "0")


def _report_path(config: pytest.Config) -> Path | None:
    value = _option(config, "--report") or os.environ.get("INBOXBRIDGE_RELIABILITY_REPORT")
    return Path(str(value)) if value else None


@pytest.fixture(autouse=True)
def _no_service_left_running() -> Iterator[None]:
    """A test that fails half-way leaves no service process behind."""
    yield
    while CREATED:
        service = CREATED.pop()
        if service.proc is not None and service.proc.poll() is None:
            service.kill()


@pytest.fixture(scope="session")
def chaos_long(pytestconfig: pytest.Config) -> bool:
    """Whether the long versions were asked for."""
    return _long(pytestconfig)


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> Figures:
    """The session's figures; written to the report file at the end of the session when one was asked for."""
    if _FIGURES not in pytestconfig.stash:
        pytestconfig.stash[_FIGURES] = Figures(long=_long(pytestconfig))
    return pytestconfig.stash[_FIGURES]


@pytest.fixture(autouse=True)
def _figures_know_the_test(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> None:
    """Each figure recorded names the test that measured it."""
    collected = pytestconfig.stash.get(_FIGURES, None)
    if collected is not None:
        collected.current_test = request.node.nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = _report_path(session.config)
    collected = session.config.stash.get(_FIGURES, None)
    if path is None or collected is None:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    failed = len(reporter.stats.get("failed", [])) + len(reporter.stats.get("error", [])) if reporter else 0
    path.write_text(render(collected, failed=failed))
