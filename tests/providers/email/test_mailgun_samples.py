"""Mailgun routes on Mailgun's own samples, signed so that Mailgun's official SDK accepts them.

The samples, each cited in the ``.source.json`` file beside it: the forward() and store(notify=...) posts of
Mailgun's documentation, and the "Sample POST request" Mailgun's route tester sends (a Thunderbird reply with
two attachments).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mail_samples import SIGNING_KEY, mailgun_form, mailgun_signed, multipart, one, request, sample, skipped, source

from inboxbridge.events import Direction, EventKind
from inboxbridge.providers import Source

CUSTOMER = "Cy Ruiz <cy.ruiz@example.org>"


def mailgun(**settings: Any) -> Source:
    return source({"type": "mailgun", "signing_key": SIGNING_KEY, **settings})


def with_headers(name: str, *added: list[str], **changes: str) -> dict[str, str]:
    """Sample ``name`` with ``changes`` to its fields and headers ``added`` first in ``message-headers`` (where a
    receiving server adds its own)."""
    fields: dict[str, str] = {**sample(name), **changes}
    fields["message-headers"] = json.dumps([*added, *json.loads(fields["message-headers"])])
    return fields


def test_the_documented_forward_lands_as_the_customers_message() -> None:
    event = one(mailgun(), mailgun_form(sample("mailgun_docs_forward")))
    assert (event.kind, event.direction, event.emails, event.channel) == (
        EventKind.MESSAGE,
        Direction.INBOUND,
        ("user@samples.mailgun.com",),
        "Email",
    )
    assert (event.first_name, event.last_name, event.title) == ("Excited", "User", "Message Routes")
    assert event.text == "Testing Mailgun's forwarded and stored message routes :)"
    assert event.external_id == "CABPem2N_Ucj3wRRZnLVpVF_fRjkTBXHZReZC3zY-hHsRa=T51g@samples.mailgun.com"
    assert event.occurred_at == datetime(2016, 12, 9, 19, 4, 51, tzinfo=UTC)


def test_the_documented_store_notification_is_the_same_message() -> None:
    forwarded = one(mailgun(), mailgun_form(sample("mailgun_docs_forward")))
    stored = one(mailgun(), mailgun_form(sample("mailgun_docs_store_notify")))
    assert (stored.text, stored.title, stored.emails) == (forwarded.text, forwarded.title, forwarded.emails)
    # One email, forwarded and stored by two routes, is one message.
    assert stored.idempotency_key() == forwarded.idempotency_key()
    assert stored.raw["message_url"] == sample("mailgun_docs_store_notify")["message-url"]


def test_the_route_testers_sample_with_its_attachments() -> None:
    fields = mailgun_signed(sample("mailgun_route_tester_sample"))
    body, content_type = multipart(
        fields,
        {
            "attachment-1": ("image.png", b"\x89PNG" * 40, "image/png"),
            "attachment-2": ("notes.txt", b"x" * 2500, "text/plain"),
        },
    )
    event = one(mailgun(), request(body, content_type))
    assert (event.emails, event.first_name, event.title) == (
        ("bob@sandbox085a3b878a964897b9b9efb2395a1f5a.mailgun.org",),
        "Bob",
        "Re: Sample POST request",
    )
    # Mailgun's stripped-text: the reply without Alice's quoted message and Bob's "Thanks, Bob".
    assert event.text == (
        "Hi Alice,\n\nThis is Bob.\n\nI also attached a file.\n\n"
        "Attached to the email: image.png (160 B), notes.txt (2 KB)"
    )
    assert event.external_id == "517ACC75.5010709@sandbox085a3b878a964897b9b9efb2395a1f5a.mailgun.org"


def test_an_email_whose_only_text_is_html_keeps_the_reply_thunderbird_wrote() -> None:
    """Without body-plain and the stripped fields (Mailgun leaves them out when its parsing fails), the reply is
    read from the HTML, where Thunderbird wrote it inside the element of its "On ... wrote:" line."""
    fields = {
        k: v
        for k, v in sample("mailgun_route_tester_sample").items()
        if k not in ("body-plain", "stripped-text", "stripped-signature", "stripped-html")
    }
    event = one(mailgun(), mailgun_form(fields))
    assert event.text == "Hi Alice,\n\nThis is Bob.\n\nI also attached a file.\n\nThanks,\n\nBob"


# Who the customer is


def test_the_routes_recipient_is_never_the_customer() -> None:
    """A copy of the business's own mail sent to the route's address concerns the customer it was written to:
    the route's recipient is the business's even when not configured as such."""
    business = mailgun(business_addresses=["@samples.mailgun.com"])
    assert business.parse(mailgun_form(sample("mailgun_docs_forward")), tenant="acme") == []
    event = one(business, mailgun_form({**sample("mailgun_docs_forward"), "Cc": CUSTOMER}))
    assert (event.direction, event.emails) == (Direction.OUTBOUND, ("cy.ruiz@example.org",))


# Not posted: answered 200 and kept with the reason


def test_mail_mailguns_spam_filter_flagged_is_not_posted() -> None:
    fields = with_headers("mailgun_docs_forward", ["X-Mailgun-Sflag", "Yes"], ["X-Mailgun-Sscore", "21.4"])
    reason = skipped(mailgun(), mailgun_form(fields))
    assert reason == "not posted: the email is spam by Mailgun's spam filter (X-Mailgun-Sflag: Yes, score 21.4)"
    fields = with_headers("mailgun_docs_forward", ["X-Mailgun-Sflag", "No"], ["X-Mailgun-Sscore", "0.3"])
    assert one(mailgun(), mailgun_form(fields)).title == "Message Routes"


def test_an_out_of_office_reply_is_not_posted() -> None:
    fields = with_headers("mailgun_route_tester_sample", ["Auto-Submitted", "auto-replied"])
    reason = skipped(mailgun(), mailgun_form(fields))
    assert reason == "not posted: the email is an automatic email (Auto-Submitted: auto-replied)"


def test_a_bounce_is_not_posted() -> None:
    daemon = "Mail Delivery Subsystem <MAILER-DAEMON@samples.mailgun.com>"
    reason = skipped(mailgun(), mailgun_form({**sample("mailgun_docs_forward"), "from": daemon, "sender": ""}))
    assert reason == "not posted: the email is a bounce (sent by MAILER-DAEMON@samples.mailgun.com)"
