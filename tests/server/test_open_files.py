"""At serve start the process's soft limit of open files is raised to its hard limit: every held connection is
an open file, and a low soft limit (often 1024) would refuse connections long before ``max_connections``."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from inboxbridge.server.connections import raise_open_file_limit


@pytest.fixture
def low_soft_limit() -> Iterator[int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 256 if hard == resource.RLIM_INFINITY else min(256, hard - 1)
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        yield hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_soft_open_file_limit_is_raised_to_the_hard_one(low_soft_limit: int) -> None:
    if low_soft_limit == resource.RLIM_INFINITY:
        pytest.skip("no finite hard limit to raise the soft one to")
    assert raise_open_file_limit(max_connections=1000) == low_soft_limit
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (low_soft_limit, low_soft_limit)
