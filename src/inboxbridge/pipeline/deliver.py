"""The whole Wix flow for one event: contacts, conversation, render, (reconcile), send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from inboxbridge.config import DeliverySettings, PolicySettings
from inboxbridge.events import InboundEvent
from inboxbridge.pipeline.contacts import resolve_contacts
from inboxbridge.pipeline.conversations import conversation_for
from inboxbridge.pipeline.id_cache import IdCache
from inboxbridge.pipeline.reconcile import find_posted
from inboxbridge.pipeline.render import render
from inboxbridge.providers.base import Source
from inboxbridge.wix import Message, WixError, WixNotFoundError, WixRetryableError, WixSite

__all__ = ["DeliveryFailed", "Pipeline", "Posted"]

BeforeSend = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Posted:
    """One message in one contact's conversation."""

    contact_id: str
    conversation_id: str
    message_id: str | None
    already_there: bool = False
    """True when an earlier attempt had posted it and this one only found it."""


class DeliveryFailed(Exception):
    """Delivery stopped at ``cause``. ``maybe_posted`` tells whether a message may have reached Wix in this
    attempt (a send that succeeded before another failed, or one whose outcome is unknown), in which case the
    next attempt must look before it sends."""

    def __init__(self, cause: BaseException, *, maybe_posted: bool, posted: list[Posted]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.maybe_posted = maybe_posted
        self.posted = posted


class _StaleContact(Exception):
    """A cached contact id that Wix no longer knows."""


class Pipeline:
    """Delivers events into the Wix Inbox, remembering contact and conversation ids in ``cache``."""

    def __init__(self, cache: IdCache) -> None:
        self.cache = cache

    async def deliver(
        self,
        site: WixSite,
        event: InboundEvent,
        *,
        policy: PolicySettings,
        delivery: DeliverySettings,
        before_send: BeforeSend | None = None,
        unsure_since: datetime | None = None,
        source: Source | None = None,
    ) -> list[Posted]:
        """Post ``event`` into the conversation of each contact the policy picks; one message per contact.

        ``before_send(conversation_id)`` is awaited before every Send Message (the worker notes there that a send
        began, and where). ``unsure_since``: an earlier attempt may have posted the message from that time
        on, so each conversation is checked first. ``source``: the event's source, which looks up a customer the
        event names only by the provider's id. Raises :class:`DeliveryFailed`.
        """
        message = render(event, delivery)
        run = _Run(self.cache, site, event, message, policy, delivery, before_send, unsure_since, source)
        try:
            try:
                return await run.all_contacts()
            except _StaleContact:
                await self.cache.drop_cached_contacts(event.tenant, event.customer_key)
                return await run.all_contacts()
        except _StaleContact as exc:
            raise DeliveryFailed(
                WixNotFoundError(f"contact {exc} not found by Get or Create Conversation", status=404),
                maybe_posted=run.maybe_posted,
                posted=run.posted,
            ) from exc
        except Exception as exc:
            raise DeliveryFailed(exc, maybe_posted=run.maybe_posted, posted=run.posted) from exc


class _Run:
    """The state of one delivery attempt."""

    def __init__(
        self,
        cache: IdCache,
        site: WixSite,
        event: InboundEvent,
        message: Message,
        policy: PolicySettings,
        delivery: DeliverySettings,
        before_send: BeforeSend | None,
        unsure_since: datetime | None,
        source: Source | None,
    ) -> None:
        self.cache = cache
        self.site = site
        self.event = event
        self.message = message
        self.policy = policy
        self.delivery = delivery
        self.before_send = before_send
        self.unsure_since = unsure_since
        self.source = source
        self.posted: list[Posted] = []
        self.maybe_posted = False

    async def all_contacts(self) -> list[Posted]:
        contact_ids = await resolve_contacts(self.site, self.cache, self.event, self.policy, source=self.source)
        done = {p.contact_id for p in self.posted}
        for contact_id in contact_ids:
            if contact_id not in done:
                self.posted.append(await self.one_contact(contact_id))
        return list(self.posted)

    async def _conversation(self, contact_id: str, *, fresh: bool) -> str:
        try:
            return await conversation_for(
                self.site, self.cache, self.event.tenant, contact_id, self.policy, fresh=fresh
            )
        except WixNotFoundError as exc:
            raise _StaleContact(contact_id) from exc

    async def one_contact(self, contact_id: str) -> Posted:
        conversation_id = await self._conversation(contact_id, fresh=False)
        try:
            return await self._post(contact_id, conversation_id)
        except WixNotFoundError:
            # Any 404: Send Message is documented to answer only IDENTITY_DOES_NOT_MATCH, INBOX_INSTANCE_NOT_FOUND
            # and INVALID_MEDIA_URL, so a merged (or deleted) conversation need not say CONVERSATION_NOT_FOUND.
            pass
        # The conversation was merged into another (or deleted): Wix keeps the history in the new one. Asked
        # once: if the fresh conversation 404s too, the error stands.
        await self.cache.drop_cached_conversations(self.event.tenant, [conversation_id])
        conversation_id = await self._conversation(contact_id, fresh=True)
        return await self._post(contact_id, conversation_id)

    async def _post(self, contact_id: str, conversation_id: str) -> Posted:
        if self.unsure_since is not None:
            found = await find_posted(self.site, conversation_id, self.message, self.unsure_since)
            if found is not None:
                return Posted(contact_id, conversation_id, found.id, already_there=True)
        if self.before_send is not None:
            await self.before_send(conversation_id)
        try:
            sent = await self.site.send_message(
                conversation_id, self.message, send_notifications=self.delivery.send_notifications
            )
        except WixRetryableError as exc:
            self.maybe_posted = self.maybe_posted or exc.outcome_unknown
            raise
        except WixError:
            raise
        except BaseException:
            # Cancelled or crashed while the request may have been on its way.
            self.maybe_posted = True
            raise
        self.maybe_posted = True
        return Posted(contact_id, conversation_id, sent.id)
