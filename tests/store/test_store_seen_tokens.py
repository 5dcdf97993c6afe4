"""Seen tokens: each token is accepted once until it expires, at once on many connections too, and pruned after."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from conftest import START, ManualClock

from inboxbridge.config import RetentionSettings
from inboxbridge.retention import Retention
from inboxbridge.store import Store

LATER = START + timedelta(hours=1)


def scope() -> str:
    # A scope of the test's own: the PostgreSQL schema is shared by the tests of a run.
    return f"test-{uuid.uuid4().hex}"


async def test_a_token_is_accepted_once_per_scope(store: Store) -> None:
    mine, other = scope(), scope()
    assert await store.ledger.remember_token(mine, "event-1", LATER) is True
    assert await store.ledger.remember_token(mine, "event-1", LATER) is False
    assert await store.ledger.remember_token(mine, "event-2", LATER) is True
    assert await store.ledger.remember_token(other, "event-1", LATER) is True


async def test_an_expired_token_is_accepted_again_before_it_is_pruned(store: Store, clock: ManualClock) -> None:
    mine = scope()
    assert await store.ledger.remember_token(mine, "event-1", LATER) is True
    clock.advance(3599)
    assert await store.ledger.remember_token(mine, "event-1", LATER + timedelta(hours=1)) is False
    clock.advance(1)
    assert await store.ledger.remember_token(mine, "event-1", LATER + timedelta(hours=1)) is True
    clock.advance(3599)
    # Remembered anew until its new expiry.
    assert await store.ledger.remember_token(mine, "event-1", LATER + timedelta(hours=2)) is False


async def test_a_forgotten_token_is_accepted_again(store: Store) -> None:
    mine = scope()
    assert await store.ledger.remember_token(mine, "event-1", LATER) is True
    await store.ledger.forget_token(mine, "event-1")
    assert await store.ledger.remember_token(mine, "event-1", LATER) is True


async def test_of_many_callers_presenting_one_token_at_once_exactly_one_is_told_it_is_new(
    migrated_url: str, clock: ManualClock
) -> None:
    mine = scope()
    stores = [await Store.open(migrated_url, clock=clock) for _ in range(4)]
    try:
        answers = await asyncio.gather(
            *(s.ledger.remember_token(mine, f"event-{n % 5}", LATER) for n in range(40) for s in stores)
        )
    finally:
        for opened in stores:
            await opened.close()
    assert sum(answers) == 5


async def test_retention_prunes_expired_tokens_only(store: Store, clock: ManualClock) -> None:
    mine = scope()
    for n in range(5):
        await store.ledger.remember_token(mine, f"old-{n}", START + timedelta(minutes=10))
    await store.ledger.remember_token(mine, "fresh", LATER)
    clock.advance(600)
    retention = Retention(store.ledger, RetentionSettings(batch_size=2))
    assert (await retention.prune_once())["seen_tokens"] == 5
    assert await store.ledger.remember_token(mine, "fresh", LATER) is False
    assert await store.ledger.remember_token(mine, "old-0", LATER) is True


@pytest.mark.parametrize(
    ("bad_scope", "token", "what"), [("", "t", "scope"), ("s", "", "token"), ("s", "x" * 256, "token")]
)
async def test_a_scope_or_token_that_does_not_fit_is_refused(
    store: Store, bad_scope: str, token: str, what: str
) -> None:
    with pytest.raises(ValueError, match=f"a seen token's {what} must have 1 to 255 characters"):
        await store.ledger.remember_token(bad_scope, token, LATER)
