"""Fixtures of the pipeline tests: an empty fake Wix site and an empty id cache. No socket may be opened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pytest_socket

from inboxbridge.pipeline import MemoryIdCache

from .fake_wix import FakeSite


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    # The event loop's own wake-up pipe is a Unix socket pair; anything else is a test reaching out.
    pytest_socket.disable_socket(allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()


@pytest.fixture
def site() -> FakeSite:
    return FakeSite()


@pytest.fixture
def cache() -> MemoryIdCache:
    # A clock that stands still: nothing expires during a test.
    return MemoryIdCache(clock=lambda: 0.0)
