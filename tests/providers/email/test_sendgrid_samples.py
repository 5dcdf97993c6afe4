"""SendGrid Inbound Parse on SendGrid's own samples, in both of its modes.

The samples, each cited in the ``.source.json`` file beside it: the parsed and raw posts of sendgrid-python's
Inbound Parse helper (the bodies as SendGrid posts them), and the Example Default and Raw Payloads of SendGrid's
documentation (their fields posted with a real HTTP client's multipart encoder).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from mail_samples import RECEIVED_AT, TOKEN, multipart, one, request, sample, sample_bytes, skipped, source

from inboxbridge.events import Direction, EventKind
from inboxbridge.providers import Source, WebhookRequest

SDK_FORM = "multipart/form-data; boundary=xYzZY"
"""The content type sendgrid-python's helper posts its samples with."""


def sendgrid(**settings: Any) -> Source:
    return source({"type": "sendgrid", "token": TOKEN, **settings})


def sdk_post(name: str, received_at: datetime = RECEIVED_AT) -> WebhookRequest:
    return request(sample_bytes(name), SDK_FORM, query={"token": TOKEN}, received_at=received_at)


def docs_post(name: str, **changes: str | None) -> WebhookRequest:
    """The documented payload ``name`` with ``changes`` (``None`` leaves a field out), its attachments posted as
    the files ``attachment-info`` describes, each 3,000 bytes."""
    fields = {key: value for key, value in {**sample(name), **changes}.items() if value is not None}
    described = json.loads(fields.get("attachment-info", "{}"))
    files = {key: (info["filename"], b"x" * 3000, info["type"]) for key, info in sorted(described.items())}
    body, content_type = multipart(fields, files)
    return request(body, content_type, query={"token": TOKEN})


def test_the_sdks_parsed_sample_lands_as_the_customers_message() -> None:
    event = one(sendgrid(), sdk_post("sendgrid_python_default_data.txt"))
    assert (event.kind, event.direction, event.emails, event.channel) == (
        EventKind.MESSAGE,
        Direction.INBOUND,
        ("test@example.com",),
        "Email",
    )
    assert (event.first_name, event.last_name) == ("Example", "User")
    # The form's subject (SendGrid's decoded one) is the title, the text part the text.
    assert (event.title, event.text) == ("Testing non-raw", "Hello Twilio SendGrid!")
    assert event.occurred_at == datetime(2016, 8, 11, 1, 10, 13, tzinfo=UTC)


def test_the_sdks_raw_sample_lists_its_attachment_and_keys_on_its_content() -> None:
    event = one(sendgrid(), sdk_post("sendgrid_python_raw_data_with_attachments.txt"))
    assert event.title == "Inbound Parse Test Raw Data with Attachment"
    assert event.text == "Hello Twilio SendGrid!\n\nAttached to the email: SendGrid.jpg (10 KB)"
    assert event.attachments == ()
    # No Message-ID in it: SendGrid's retry an hour later is recognised by the email's content and Date.
    again = one(sendgrid(), sdk_post("sendgrid_python_raw_data_with_attachments.txt", RECEIVED_AT + timedelta(hours=1)))
    assert event.external_id is None
    assert again.idempotency_key() == event.idempotency_key()


def test_the_documented_default_payload() -> None:
    event = one(sendgrid(), docs_post("sendgrid_docs_default_payload"))
    assert (event.direction, event.emails, event.first_name, event.last_name) == (
        Direction.INBOUND,
        ("example@example.com",),
        "Sender",
        "Name",
    )
    assert event.title == "Different File Types"
    # SpamAssassin scored it 2.6 of the 5.0 it takes to be spam: it lands, its files listed by name.
    assert event.text == (
        "Here's an email with multiple attachments\n\n"
        "Attached to the email: MG_2359.jpg (3 KB), DockMcWordface.docx (3 KB)"
    )
    assert event.external_id == "CAN_P_JMvV7ZpAQhOnDienypLrJmuhN=LQWweu4yScw4jQyXY2w@mail.gmail.com"
    assert event.occurred_at == datetime(2016, 7, 27, 20, 53, 5, tzinfo=UTC)


def test_the_documented_raw_payload() -> None:
    event = one(sendgrid(), docs_post("sendgrid_docs_raw_payload"))
    assert (event.emails, event.title) == (("example@example.com",), "Hello")
    # The Gmail signature ("-- " and a logo) is left out; the Word document is named.
    assert event.text == "This is a test email with 1 attachment.\n\nAttached to the email: DockMcWordface.docx (4 KB)"
    assert event.external_id == "CAN_P_JNa25--hzm5=-ES9cnxgWa+h+E49OOAS7sPpV0gsoXCOw@mail.gmail.com"


def test_an_html_only_email_is_read_from_its_html() -> None:
    event = one(sendgrid(), docs_post("sendgrid_docs_default_payload", text=None))
    assert event.text is not None
    assert event.text.startswith("Here's an email with multiple attachments\n\nAttached to the email:")


def test_text_in_the_charset_sendgrid_names() -> None:
    """The charsets SendGrid's documentation shows: headers in UTF-8, the text body in Latin-1."""
    charsets = '{"to":"UTF-8","cc":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"iso-8859-1"}'
    body = sample_bytes("sendgrid_python_default_data.txt")
    body = body.replace(
        b'{"to":"UTF-8","html":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"UTF-8"}', charsets.encode()
    )
    body = body.replace(
        b'Hello Twilio SendGrid!\n\n--xYzZY\nContent-Disposition: form-data; name="sender_ip"',
        'Olá, ça marche très bien!\n\n--xYzZY\nContent-Disposition: form-data; name="sender_ip"'.encode("iso-8859-1"),
    )
    event = one(sendgrid(), request(body, SDK_FORM, query={"token": TOKEN}))
    assert event.text == "Olá, ça marche très bien!"


# Who the customer is


def test_the_parse_address_is_never_the_customer() -> None:
    """A copy of the business's own mail, sent to the parse address, concerns the customer it was written to: the
    parse address, which SendGrid names in the envelope, is the business's even when not configured as such."""
    business = sendgrid(business_addresses=["example@example.com"])
    assert business.parse(docs_post("sendgrid_docs_default_payload"), tenant="acme") == []
    copy = docs_post("sendgrid_docs_default_payload", cc="Cy Ruiz <cy.ruiz@example.org>")
    event = one(business, copy)
    assert (event.direction, event.emails) == (Direction.OUTBOUND, ("cy.ruiz@example.org",))


# Not posted: answered 200 and kept with the reason


def test_mail_sendgrid_scores_as_spam_is_not_posted() -> None:
    report = sample("sendgrid_docs_default_payload")["spam_report"].replace("(2.6 points", "(7.3 points")
    reason = skipped(sendgrid(), docs_post("sendgrid_docs_default_payload", spam_report=report, spam_score="7.3"))
    assert reason == "not posted: the email is spam by SendGrid's Spam Check (7.3 points, 5.0 required)"


def test_an_automatic_reply_is_not_posted() -> None:
    headers = sample("sendgrid_docs_default_payload")["headers"].replace(
        "MIME-Version", "Auto-Submitted: auto-replied\nMIME-Version"
    )
    reason = skipped(sendgrid(), docs_post("sendgrid_docs_default_payload", headers=headers))
    assert reason == "not posted: the email is an automatic email (Auto-Submitted: auto-replied)"


def test_a_bounce_is_not_posted() -> None:
    body = sample_bytes("sendgrid_python_raw_data_with_attachments.txt").replace(
        b"Content-Type: multipart/mixed;", b"Content-Type: multipart/report; report-type=delivery-status;"
    )
    reason = skipped(sendgrid(), request(body, SDK_FORM, query={"token": TOKEN}))
    assert reason == "not posted: the email is a delivery or read report (Content-Type: multipart/report)"
