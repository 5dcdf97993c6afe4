"""The delivery loop: claims events from the delivery queue, runs the Wix flow for each, records the outcome.

Many customers are served at once (``concurrency``), one event at a time per customer, oldest first: the queue's
claim guarantees it, across processes too. Every step is driven by rows in the store, so a crash anywhere loses
nothing: an expired lease makes the event claimable again, and a send whose outcome was unknown is reconciled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from inboxbridge.config import RetrySettings, WorkerSettings
from inboxbridge.metrics import observe_delivery
from inboxbridge.pipeline import DeliveryFailed, LayeredIdCache, NoContactError, Pipeline, Posted
from inboxbridge.providers.base import CustomerLookupError
from inboxbridge.store import AttemptRecord, ClaimedEvent, DeliveryQueue, LeaseLost, SendState, StoreUnavailable
from inboxbridge.store.changes import ChangeWatch
from inboxbridge.tenants import TenantDirectory
from inboxbridge.wix import WixError, WixPermanentError, WixRetryableError

__all__ = ["RetrySchedule", "Worker"]

log = structlog.get_logger("inboxbridge.worker")

# How often an idle worker with a change watch looks at the store's change counter (a read of shared memory).
_CHANGE_LOOK_SECONDS = 0.01


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff with jitter: ``base * 2**n`` capped at ``max_delay``; give up once the nominal delays
    add up to ``give_up_after`` (about 24 hours by default)."""

    base: float
    max_delay: float
    give_up_after: float

    @classmethod
    def from_settings(cls, settings: RetrySettings) -> RetrySchedule:
        """The schedule the settings describe."""
        return cls(settings.base_seconds, settings.max_delay_seconds, settings.give_up_after_seconds)

    def nominal(self, tries: int) -> float:
        """The delay after the ``tries``-th failed try (1-based), before jitter."""
        return float(min(self.max_delay, self.base * 2 ** min(tries - 1, 60)))

    def elapsed(self, tries: int) -> float:
        """The nominal time spent waiting after ``tries`` failed tries."""
        return sum(self.nominal(n) for n in range(1, tries + 1))

    def delay(self, tries: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds until the next try after ``tries`` failures, or None when it is time to give up.

        Half the nominal delay is fixed and half random, so retries of many events spread out; a Retry-After
        from Wix is a floor.
        """
        if self.elapsed(tries - 1) >= self.give_up_after:
            return None
        nominal = self.nominal(tries)
        delay = nominal / 2 + rng.uniform(0, nominal / 2)
        return max(delay, retry_after or 0.0)


@dataclass
class _Outcome:
    kind: str
    detail: str
    wix: WixError | None = None
    retry_after: float | None = None


class Worker:
    """Claims and delivers events until stopped. One per process is enough; it runs ``concurrency`` at once.

    ``ids``, the in-process front of the pipeline's id cache, is warmed with the cached ids of a claim's customers
    in one read of the store, instead of one read per event. ``changes``, for a worker that no ingest
    of its own process wakes, tells it when another process stored something, so it claims at once instead of
    at the next poll.
    """

    def __init__(
        self,
        queue: DeliveryQueue,
        tenants: TenantDirectory,
        pipeline: Pipeline,
        settings: WorkerSettings,
        *,
        worker_id: str | None = None,
        rng: random.Random | None = None,
        ids: LayeredIdCache | None = None,
        changes: ChangeWatch | None = None,
        settle_seconds: float = 0.0,
    ) -> None:
        self.queue = queue
        # After a send whose outcome is unknown, Wix may still be handling it: the event (and with it every later
        # event of the customer, which waits behind it) is not tried again before this has passed.
        self._settle = timedelta(seconds=settle_seconds)
        self._ids = ids
        self._changes = changes
        self.tenants = tenants
        self.pipeline = pipeline
        self.settings = settings
        self.schedule = RetrySchedule.from_settings(settings.retry)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        # While most slots are busy, claims wait until a quarter are free: a claim is a transaction, and many
        # events per claim cost little more than one.
        self._claim_batch = max(1, settings.concurrency // 4)
        self._tasks: set[asyncio.Task[None]] = set()
        self._renew_every = settings.lease_seconds / 3
        # Lease renewals under way, for deliveries that outlived a third of their lease.
        self._renewals: dict[int, asyncio.Task[None]] = {}
        # Events whose Send Message may have left in the current try, with the conversation it went to.
        self._sending: dict[int, str] = {}
        self.delivered = 0

    def wake(self) -> None:
        """Look for work now instead of at the next poll (called after an ingest in the same process)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then finish in-flight work for up to the shutdown grace period and
        hand back the rest (their leases are released, so another worker takes them at once)."""
        log.info("worker started", worker_id=self.worker_id, concurrency=self.settings.concurrency)
        store_down_since: float | None = None
        try:
            while not stop.is_set():
                free = self.settings.concurrency - len(self._tasks)
                claimed: list[ClaimedEvent] = []
                if free >= self._claim_batch:
                    # Cleared before the claim looks, not after: an ingest committed while the claim runs may have
                    # missed it, and its wake-up must not be lost until the next poll.
                    self._wake.clear()
                    if self._changes is not None:
                        self._changes.changed()
                    try:
                        claimed = await self.queue.claim(self.worker_id, free, self.settings.lease_seconds)
                        store_down_since = None
                    except StoreUnavailable as exc:
                        if store_down_since is None:
                            store_down_since = time.monotonic()
                            log.error("store unavailable; claiming paused", error=str(exc))
                        await self._idle(stop, wakeable=False)
                        continue
                if claimed:
                    await self._prefetch(claimed)
                for item in claimed:
                    task = asyncio.create_task(self._handle(item), name=f"deliver-{item.event_id}")
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if claimed and len(claimed) == free:
                    continue
                await self._idle(stop)
        finally:
            await self._drain()
            log.info("worker stopped", worker_id=self.worker_id)

    async def _prefetch(self, claimed: list[ClaimedEvent]) -> None:
        if self._ids is None:
            return
        keys: defaultdict[str, list[str]] = defaultdict(list)
        for item in claimed:
            keys[item.event.tenant].append(item.event.customer_key)
        for tenant, customer_keys in keys.items():
            try:
                await self._ids.warm(tenant, customer_keys)
            except StoreUnavailable as exc:
                # Each delivery reads what it needs on its own then.
                log.warning("could not read the caches ahead of deliveries", error=str(exc))
                return

    async def _idle(self, stop: asyncio.Event, *, wakeable: bool = True) -> None:
        """Wait for a stop or the poll interval, or sooner: for new work when there are slots to claim it with
        (and ``wakeable``), else for a delivery to finish."""
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(stop.wait())}
        if self.settings.concurrency - len(self._tasks) < self._claim_batch:
            waiters.add(asyncio.ensure_future(asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)))
        elif wakeable:
            waiters.add(asyncio.ensure_future(self._wake.wait()))
            if self._changes is not None:
                waiters.add(asyncio.ensure_future(self._until_changed(self._changes)))
        try:
            await asyncio.wait(
                waiters, timeout=self.settings.poll_interval_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()

    @staticmethod
    async def _until_changed(changes: ChangeWatch) -> None:
        # Another process's commits: no event of this one can tell, so the counter is read now and then.
        while not changes.changed():  # noqa: ASYNC110
            await asyncio.sleep(_CHANGE_LOOK_SECONDS)

    async def _drain(self) -> None:
        if not self._tasks:
            return
        pending = set(self._tasks)
        _, late = await asyncio.wait(pending, timeout=self.settings.shutdown_grace_seconds)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def _handle(self, claimed: ClaimedEvent) -> None:
        started = self.queue.now()
        if claimed.lost_lease_expired_at is not None:
            settled = claimed.lost_lease_expired_at + self._settle
            if settled > started:
                # Taken from a worker that died or hung: a send of its may still be open at Wix until then.
                with contextlib.suppress(LeaseLost, StoreUnavailable):
                    await self.queue.release(claimed.event_id, claimed.lease_token, not_before=settled)
                return
        # A timer, not a task: most deliveries end long before a lease needs renewing, and a timer costs less.
        timer = asyncio.get_running_loop().call_later(self._renew_every, self._start_renewing, claimed)
        try:
            outcome, posted = await self._deliver(claimed)
        except asyncio.CancelledError:
            await self._release(claimed)
            raise
        finally:
            timer.cancel()
            renewing = self._renewals.pop(claimed.event_id, None)
            if renewing is not None:
                renewing.cancel()
            sent_to = self._sending.pop(claimed.event_id, None)
        try:
            await self._record(claimed, started, outcome, posted, sent_to)
        except LeaseLost:
            log.warning("lease lost; another worker took the event over", event_id=claimed.event_id)
        except StoreUnavailable as exc:
            # The lease will expire and the event be tried again; a possible send is reconciled then.
            log.error("could not record a delivery outcome", event_id=claimed.event_id, error=str(exc))

    def _start_renewing(self, claimed: ClaimedEvent) -> None:
        task = asyncio.create_task(self._keep_lease(claimed), name=f"lease-{claimed.event_id}")
        self._renewals[claimed.event_id] = task

    async def _keep_lease(self, claimed: ClaimedEvent) -> None:
        """Renew the lease now, then every third of it, until cancelled."""
        while True:
            try:
                await self.queue.extend_lease(claimed.event_id, claimed.lease_token, self.settings.lease_seconds)
            except (LeaseLost, StoreUnavailable) as exc:
                log.warning("could not extend a lease", event_id=claimed.event_id, error=str(exc))
            await asyncio.sleep(self._renew_every)

    async def _release(self, claimed: ClaimedEvent) -> None:
        sending = claimed.event_id in self._sending
        untried = not sending and claimed.send_state is SendState.NONE
        # A send cut short may still be open at Wix: the next try waits for it to settle.
        not_before = self.queue.now() + self._settle if sending else None
        with contextlib.suppress(LeaseLost, StoreUnavailable):
            await asyncio.shield(
                self.queue.release(
                    claimed.event_id,
                    claimed.lease_token,
                    send_state=SendState.NONE if untried else None,
                    not_before=not_before,
                )
            )

    async def _deliver(self, claimed: ClaimedEvent) -> tuple[_Outcome | DeliveryFailed, list[Posted]]:
        event = claimed.event
        tenant = await self.tenants.lookup(event.tenant)
        if tenant is None:
            return _Outcome("dead", f"tenant {event.tenant!r} is no longer configured"), []
        unsure_since: datetime | None = None
        if claimed.send_state is SendState.UNKNOWN:
            unsure_since = claimed.sending_started_at or event.occurred_at

        async def before_send(conversation_id: str) -> None:
            # The claim already recorded that a send may happen; this tells a hand-back whether one began, and
            # the outcome's record where it went.
            self._sending[claimed.event_id] = conversation_id

        try:
            posted = await self.pipeline.deliver(
                tenant.site,
                event,
                policy=tenant.policy,
                delivery=tenant.delivery(event.source),
                before_send=before_send,
                unsure_since=unsure_since,
                source=tenant.sources.get(event.source),
            )
        except DeliveryFailed as failed:
            return failed, failed.posted
        return _Outcome("delivered", ""), posted

    async def _record(
        self,
        claimed: ClaimedEvent,
        started: datetime,
        outcome: _Outcome | DeliveryFailed,
        posted: list[Posted],
        sent_to: str | None,
    ) -> None:
        finished = self.queue.now()
        conversation_id = posted[-1].conversation_id if posted else sent_to or claimed.conversation_id
        message_id = posted[-1].message_id if posted else None
        fields = {
            "event_id": claimed.event_id,
            "tenant": claimed.event.tenant,
            "source": claimed.event.source,
            "tries": claimed.attempts + 1,
            "duration_ms": round((finished - started).total_seconds() * 1000, 1),
        }
        if isinstance(outcome, _Outcome) and outcome.kind == "delivered":
            found = bool(posted) and all(p.already_there for p in posted)
            await self.queue.ack(
                claimed.event_id,
                claimed.lease_token,
                attempt=AttemptRecord(
                    started_at=started,
                    finished_at=finished,
                    outcome="already_delivered" if found else "delivered",
                    conversation_id=conversation_id,
                    message_id=message_id,
                    detail=_describe_posted(posted),
                ),
                conversation_id=conversation_id,
                message_id=message_id,
            )
            self.delivered += 1
            observe_delivery(claimed.event.tenant, "already_delivered" if found else "delivered")
            log.info("delivered", conversation_id=conversation_id, message_id=message_id, found=found, **fields)
            return
        decision = outcome if isinstance(outcome, _Outcome) else _classify(outcome.cause)
        wix = decision.wix
        attempt = AttemptRecord(
            started_at=started,
            finished_at=finished,
            outcome="dead" if decision.kind == "dead" else "retry",
            wix_status=wix.status if wix else None,
            wix_code=wix.code if wix else None,
            wix_message=wix.message if wix else None,
            wix_request_id=wix.request_id if wix else None,
            conversation_id=conversation_id,
            message_id=message_id,
            detail=decision.detail,
        )
        delay = None
        if decision.kind == "retry":
            delay = self.schedule.delay(claimed.attempts + 1, decision.retry_after, self._rng)
        if delay is None:
            reason = decision.detail
            if decision.kind == "retry":
                reason = f"gave up after {claimed.attempts + 1} tries: {decision.detail}"
            await self.queue.dead_letter(claimed.event_id, claimed.lease_token, attempt=attempt, reason=reason)
            observe_delivery(claimed.event.tenant, "dead")
            log.warning("dead-lettered", reason=reason, **fields)
            return
        maybe_posted = isinstance(outcome, DeliveryFailed) and outcome.maybe_posted
        unsure = maybe_posted or claimed.send_state is SendState.UNKNOWN
        if maybe_posted:
            delay = max(delay, self._settle.total_seconds())
        await self.queue.retry(
            claimed.event_id,
            claimed.lease_token,
            attempt=attempt,
            next_attempt_at=finished + timedelta(seconds=delay),
            error=decision.detail,
            send_state=SendState.UNKNOWN if unsure else SendState.NONE,
            conversation_id=conversation_id,
        )
        observe_delivery(claimed.event.tenant, "retry")
        log.info("retry scheduled", delay_s=round(delay, 2), error=decision.detail, **fields)


def _classify(cause: BaseException) -> _Outcome:
    """Retry what time can fix; dead-letter what it cannot, keeping Wix's own words."""
    if isinstance(cause, NoContactError):
        return _Outcome("dead", str(cause))
    if isinstance(cause, CustomerLookupError):
        # The provider's own words are kept: a deleted customer or a refused key is for people to fix.
        kind = "retry" if cause.retryable else "dead"
        return _Outcome(kind, f"customer lookup: {cause.reason}", retry_after=cause.retry_after)
    if isinstance(cause, WixRetryableError):
        return _Outcome("retry", _describe_wix(cause), wix=cause, retry_after=cause.retry_after)
    if isinstance(cause, WixPermanentError):
        return _Outcome("dead", _describe_wix(cause), wix=cause)
    if isinstance(cause, StoreUnavailable | LeaseLost):
        return _Outcome("retry", f"{type(cause).__name__}: {cause}")
    log.error("unexpected error while delivering", error=repr(cause), exc_info=cause)
    return _Outcome("retry", f"unexpected error: {type(cause).__name__}: {cause}")


def _describe_wix(error: WixError) -> str:
    parts = [f"Wix {error.status}" if error.status else type(error).__name__]
    if error.code:
        parts.append(error.code)
    parts.append(error.message)
    for violation in error.field_violations:
        parts.append(f"{violation.field}: {violation.description}")
    return " · ".join(part for part in parts if part)


def _describe_posted(posted: list[Posted]) -> str:
    return "; ".join(
        f"contact {p.contact_id} → conversation {p.conversation_id}"
        + (" (found, posted by an earlier try)" if p.already_there else "")
        for p in posted
    )
