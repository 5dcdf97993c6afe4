"""Postmark inbound on Postmark's own samples, the current format and the 2012 one.

The samples, each cited in the ``.source.json`` file beside it: the example of Postmark's inbound webhook
documentation, the 2012 documentation's example hook kept in postmark-gem's tests, and the payload of Postmark's
inbound payload reference in its postmark-skills repository (a reply to a support address with a screenshot).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mail_samples import TOKEN, one, request, sample, skipped, source

from inboxbridge.events import Direction, EventKind
from inboxbridge.providers import Source, WebhookRequest

OUTLOOK_REPLY = (
    '<html><body><div dir="ltr">Yes, Thursday at 3 suits me.</div><div dir="ltr">Ana</div>'
    '<div id="appendonsend"></div><hr style="display:inline-block;width:98%">'
    '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Acme Support &lt;support@acme.com&gt;<br>'
    "<b>Sent:</b> Tuesday, December 1, 2026 9:12 AM<br><b>To:</b> Ana Diaz<br><b>Subject:</b> Your visit</font>"
    "</div><div>Would Thursday at 3 suit you for the visit?</div><div>Acme Support</div></body></html>"
)
"""The HTML body of a reply written in Outlook on the web: the quoted message follows Outlook's header block."""


def postmark(**settings: Any) -> Source:
    return source({"type": "postmark", "token": TOKEN, **settings})


def post(name: str, **changes: Any) -> WebhookRequest:
    return request(json.dumps({**sample(name), **changes}).encode(), "application/json", query={"token": TOKEN})


def with_headers(name: str, *added: dict[str, str], **changes: Any) -> WebhookRequest:
    return post(name, Headers=[*added, *sample(name)["Headers"]], **changes)


def test_the_documented_example_lands_as_the_customers_reply() -> None:
    event = one(postmark(), post("postmark_docs_inbound_webhook"))
    assert (event.kind, event.direction, event.emails, event.channel) == (
        EventKind.MESSAGE,
        Direction.INBOUND,
        ("support@postmarkapp.com",),
        "Email",
    )
    assert (event.first_name, event.last_name, event.title) == ("Postmarkapp", "Support", "Test subject")
    assert event.text == "This is the reply text\n\nAttached to the email: test.txt (45 B)"
    assert event.external_id == "73e6d360-66eb-11e1-8e72-a8202cd4a2e0"
    assert event.occurred_at == datetime(2014, 8, 1, 20, 45, 32, tzinfo=UTC)


def test_the_2012_example_without_a_stripped_reply() -> None:
    event = one(postmark(), post("postmark_gem_inbound_2012"))
    assert (event.emails, event.first_name, event.last_name) == (("myUser@theirDomain.com",), "John", "Doe")
    assert event.title == "This is an inbound message"
    assert event.text == "[ASCII]\n\nAttached to the email: myimage.png (4 KB), mypaper.doc (16 KB)"
    # The email's own Message-ID, among the Headers, keys it.
    assert event.external_id == "CAGXpo2WKfxHWZ5UFYCR3H_J9SNMG+5AXUovfEFL6DjWBJSyZaA@mail.gmail.com"
    assert event.occurred_at == datetime(2012, 4, 5, 14, 59, 1, tzinfo=UTC)


def test_postmarks_own_support_reply_sample() -> None:
    event = one(postmark(), post("postmark_skills_payload"))
    assert (event.emails, event.title) == (("john@example.com",), "Re: Issue with my order")
    assert event.text == "I still haven't received my order.\n\nAttached to the email: screenshot.png (45 KB)"
    assert event.external_id == "CAExample123@mail.example.com"


def test_an_outlook_html_reply_leaves_out_the_message_it_quotes() -> None:
    reply = post("postmark_skills_payload", TextBody="", StrippedTextReply="", HtmlBody=OUTLOOK_REPLY, Attachments=[])
    assert one(postmark(), reply).text == "Yes, Thursday at 3 suits me.\n\nAna"


# Who the customer is


def test_the_servers_inbound_address_is_never_the_customer() -> None:
    """Postmark's inbound address (OriginalRecipient, any address on inbound.postmarkapp.com) is the business's,
    even when not configured as such: a copy of the business's own mail concerns the customer it was written to."""
    business = postmark(business_addresses=["@postmarkapp.com"])
    assert business.parse(post("postmark_docs_inbound_webhook"), tenant="acme") == []
    ana = {"Email": "ana.diaz@example.org", "Name": "Ana Diaz", "MailboxHash": ""}
    cc = [*sample("postmark_docs_inbound_webhook")["CcFull"], ana]
    event = one(business, post("postmark_docs_inbound_webhook", CcFull=cc))
    assert (event.direction, event.emails) == (Direction.OUTBOUND, ("ana.diaz@example.org",))


# Not posted: answered 200 and kept with the reason


def test_mail_postmarks_spam_check_flagged_is_not_posted() -> None:
    spam = with_headers(
        "postmark_docs_inbound_webhook",
        {"Name": "X-Spam-Status", "Value": "Yes"},
        {"Name": "X-Spam-Score", "Value": "6.2"},
    )
    reason = skipped(postmark(), spam)
    assert reason == "not posted: the email is spam by Postmark's spam check (X-Spam-Status: Yes, score 6.2)"


def test_an_out_of_office_reply_is_not_posted() -> None:
    reply = with_headers("postmark_gem_inbound_2012", {"Name": "Auto-Submitted", "Value": "auto-replied"})
    assert skipped(postmark(), reply) == "not posted: the email is an automatic email (Auto-Submitted: auto-replied)"


def test_an_email_with_nothing_to_show_is_not_posted() -> None:
    empty = post(
        "postmark_docs_inbound_webhook", Subject="", TextBody="", HtmlBody="", StrippedTextReply="", Attachments=[]
    )
    assert skipped(postmark(), empty) == "not posted: the email has no subject, no text and no attachment"
