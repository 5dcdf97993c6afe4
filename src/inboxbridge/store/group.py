"""Group commit: the writes of concurrent callers joined into one transaction.

A transaction's fixed costs (taking the write lock, ``BEGIN``, the commit's fsync, the round trips) dominate a
small write. Callers hand their work to a :class:`GroupCommit` and wait; one drain task at a time takes every
queued item, runs them together through ``run`` (one transaction), and answers each caller after the commit.
Callers arriving meanwhile queue up for the next group, so the group grows with the load and a lone caller waits
for nothing but its own transaction.

``run`` answers each item with its result or its own exception (an item that fails alone, such as a batch of an
unknown tenant, does not fail the group). When the group's transaction itself fails, the items are run again one
by one, each in a transaction of its own, so one caller's bad data cannot fail the others, unless the failure
says the database is out of reach for everyone (``shared_failure``), which every caller then gets at once instead
of each waiting out the same failure in turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Joins concurrent :meth:`submit` calls into groups run by ``run``, at most ``max_weight`` per group."""

    def __init__(
        self,
        run: Callable[[Sequence[Item]], Awaitable[Sequence[Result | Exception]]],
        *,
        shared_failure: Callable[[Exception], bool],
        weight: Callable[[Item], int],
        max_weight: int,
    ) -> None:
        self._run = run
        self._shared_failure = shared_failure
        self._weight = weight
        self._max_weight = max_weight
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Run ``item`` in the next group; returns its result once that group committed, or raises its error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.append((item, future))
        if self._drainer is None:
            # Started as a task of its own, so a caller cancelled while waiting leaves the others' group running.
            self._drainer = loop.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                group = [(item, future) for item, future in self._take() if not future.done()]
                if group:
                    await self._answer(group)
        except BaseException as exc:
            # Cancelled (the loop is closing): nobody will run what is queued, so no caller may wait forever.
            for _, future in self._queue:
                if not future.done():
                    future.set_exception(exc)
            self._queue.clear()
            raise
        finally:
            self._drainer = None

    def _take(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        """The oldest queued items, up to ``max_weight`` (always at least one)."""
        total = 0
        count = 0
        for item, _ in self._queue:
            total += self._weight(item)
            if count and total > self._max_weight:
                break
            count += 1
        taken = self._queue[:count]
        del self._queue[:count]
        return taken

    async def _answer(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        items = [item for item, _ in group]
        try:
            outcomes = await self._outcomes(items)
        except BaseException as exc:
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            raise
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def _outcomes(self, items: list[Item]) -> list[Result | Exception]:
        try:
            return list(await self._run(items))
        except Exception as exc:
            if len(items) == 1 or self._shared_failure(exc):
                return [exc] * len(items)
        # The group failed as a whole: each item on its own, so only the one at fault fails.
        outcomes: list[Result | Exception] = []
        for item in items:
            try:
                outcomes.extend(await self._run([item]))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes
