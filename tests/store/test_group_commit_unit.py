"""GroupCommit on its own: grouping, per-item outcomes, the one-by-one fallback, shared failures."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from inboxbridge.store.group import GroupCommit


class Outage(Exception):
    """A failure every caller shares."""


class Recorder:
    """A ``run`` that records its groups; a group containing ``poison`` fails as a whole."""

    def __init__(self, poison: int | None = None, outage: bool = False) -> None:
        self.groups: list[list[int]] = []
        self.poison = poison
        self.outage = outage

    async def __call__(self, items: Sequence[int]) -> list[int | Exception]:
        self.groups.append(list(items))
        if self.outage:
            raise Outage("down")
        if self.poison in items:
            raise RuntimeError(f"bad item {self.poison}")
        return [ValueError(f"odd {item}") if item % 2 else item * 10 for item in items]


def batcher(run: Recorder, max_weight: int = 100) -> GroupCommit[int, int]:
    return GroupCommit(
        run, shared_failure=lambda exc: isinstance(exc, Outage), weight=lambda _: 1, max_weight=max_weight
    )


async def test_concurrent_items_run_as_one_group_with_their_own_outcomes() -> None:
    run = Recorder()
    group = batcher(run)
    answers = await asyncio.gather(*(group.submit(i) for i in range(4)), return_exceptions=True)
    assert run.groups == [[0, 1, 2, 3]]
    assert answers[0] == 0 and answers[2] == 20
    assert isinstance(answers[1], ValueError) and isinstance(answers[3], ValueError)


async def test_groups_are_bounded_by_weight() -> None:
    run = Recorder()
    group = batcher(run, max_weight=3)
    await asyncio.gather(*(group.submit(i * 2) for i in range(7)))
    assert [len(g) for g in run.groups] == [3, 3, 1]


async def test_a_failing_group_is_run_again_item_by_item() -> None:
    run = Recorder(poison=4)
    group = batcher(run)
    answers = await asyncio.gather(*(group.submit(i) for i in (2, 4, 6)), return_exceptions=True)
    assert run.groups == [[2, 4, 6], [2], [4], [6]]
    assert answers[0] == 20 and answers[2] == 60
    assert isinstance(answers[1], RuntimeError)


async def test_a_shared_failure_reaches_every_caller_without_retries() -> None:
    run = Recorder(outage=True)
    group = batcher(run)
    answers = await asyncio.gather(*(group.submit(i) for i in range(3)), return_exceptions=True)
    assert run.groups == [[0, 1, 2]]
    assert all(isinstance(answer, Outage) for answer in answers)


async def test_later_callers_form_the_next_group() -> None:
    run = Recorder()
    group = batcher(run)
    assert await group.submit(2) == 20
    assert await asyncio.gather(group.submit(4), group.submit(6)) == [40, 60]
    assert run.groups == [[2], [4, 6]]


async def test_a_caller_cancelled_before_its_group_runs_is_left_out() -> None:
    run = Recorder()
    group = batcher(run)
    doomed = asyncio.ensure_future(group.submit(2))
    kept = asyncio.ensure_future(group.submit(4))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == 40
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert run.groups == [[4]]
