"""SendGrid Inbound Parse, Mailgun routes and Postmark inbound: configuration, proof of origin and the message each
email becomes.

The payloads here (tests/providers/fixtures/email/ without a ``.source.json``, shared with the end-to-end and
reliability suites) carry the providers' documented fields, most with a business's values, posted the way each provider
posts them: multipart forms built by a real HTTP client's encoder, URL-encoded forms, JSON. The providers' own
samples are in test_sendgrid_samples.py, test_mailgun_samples.py and test_postmark_samples.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import tomllib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from mailgun.security import SecurityGuard
from pydantic import SecretStr, ValidationError

from inboxbridge.events import AttachmentKind, Direction, EventKind
from inboxbridge.providers import (
    PayloadError,
    SignatureError,
    Source,
    SourceError,
    WebhookRequest,
    build_source,
    parse_source_config,
)
from inboxbridge.providers.email.mailgun import verify_mailgun_signature

FIXTURES = Path(__file__).parents[1] / "fixtures" / "email"
RECEIVED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
TOKEN = "a-url-token-of-some-length-0123456789"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def request(
    body: bytes,
    content_type: str,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    received_at: datetime = RECEIVED_AT,
) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url="https://bridge.example/hooks/acme/mail",
        path="/hooks/acme/mail",
        query=query or {},
        headers={"content-type": content_type, **(headers or {})},
        body=body,
        received_at=received_at,
    )


def multipart(fields: dict[str, str], files: dict[str, Any]) -> tuple[bytes, str]:
    built = httpx2.Request("POST", "https://bridge.example/", data=fields, files=files)
    return built.read(), built.headers["content-type"]


def source(config: dict[str, Any], clock: Any = None) -> Source:
    return build_source("mail", parse_source_config(config), clock=clock)


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


# Configuration


@pytest.mark.parametrize("kind", ["sendgrid", "postmark"])
def test_unsigned_providers_need_credentials(kind: str) -> None:
    with pytest.raises(ValidationError, match="signs nothing"):
        parse_source_config({"type": kind})
    with pytest.raises(ValidationError, match="both username and password"):
        parse_source_config({"type": kind, "username": "postmark"})
    with pytest.raises(ValidationError, match="at least 16"):
        parse_source_config({"type": kind, "token": "short"})


def test_mailgun_needs_its_signing_key_and_errors_do_not_repeat_secrets() -> None:
    with pytest.raises(ValidationError, match="signing_key"):
        parse_source_config({"type": "mailgun"})
    with pytest.raises(ValidationError) as caught:
        parse_source_config({"type": "mailgun", "signing_key": SIGNING_KEY, "business_addresses": ["nope"]})
    assert SIGNING_KEY not in str(caught.value)
    assert "neither an email address nor a domain" in str(caught.value)


# Proof of origin for the unsigned providers


@pytest.mark.parametrize("kind", ["sendgrid", "postmark"])
def test_url_token(kind: str) -> None:
    mail = source({"type": kind, "token": TOKEN})
    mail.verify(request(b"{}", "application/json", query={"token": TOKEN}))
    for query, reason in (({}, "missing"), ({"token": TOKEN + "x"}, "wrong"), ({"token": ""}, "missing")):
        with pytest.raises(SignatureError, match=reason) as caught:
            mail.verify(request(b"{}", "application/json", query=query))
        assert caught.value.status == 401


def test_basic_auth_and_token_are_both_required_when_both_are_set() -> None:
    mail = source(
        {"type": "postmark", "username": "postmark", "password": "s3cret-pass", "token": TOKEN, "token_parameter": "k"}
    )
    mail.verify(request(b"{}", "application/json", query={"k": TOKEN}, headers=basic("postmark", "s3cret-pass")))
    cases = [
        ({"k": TOKEN}, {}, "no basic auth"),
        ({"k": TOKEN}, basic("postmark", "wrong"), "username or password is wrong"),
        ({"k": TOKEN}, basic("other", "s3cret-pass"), "username or password is wrong"),
        ({"k": TOKEN}, {"authorization": "Bearer abc"}, "no basic auth"),
        ({"k": TOKEN}, {"authorization": "Basic !!!"}, "no basic auth"),
        ({}, basic("postmark", "s3cret-pass"), '"k" query parameter is missing'),
    ]
    for query, headers, reason in cases:
        with pytest.raises(SignatureError, match=reason):
            mail.verify(request(b"{}", "application/json", query=query, headers=headers))


# Postmark


def postmark(**settings: Any) -> Source:
    return source({"type": "postmark", "token": TOKEN, **settings})


def test_postmark_documented_example() -> None:
    body = json.dumps(fixture("postmark_inbound")).encode()
    (event,) = postmark().parse(request(body, "application/json"), tenant="acme")
    assert event.kind is EventKind.MESSAGE
    assert event.direction is Direction.INBOUND
    assert event.emails == ("support@postmarkapp.com",)
    assert (event.first_name, event.last_name) == ("Postmarkapp", "Support")
    assert event.title == "Test subject"
    # Postmark's own stripped reply is used, and the attachment it posted as bytes is named.
    assert event.text == "This is the reply text\n\nAttached to the email: test.txt (45 B)"
    assert event.attachments == ()
    assert event.external_id == "73e6d360-66eb-11e1-8e72-a8202cd4a2e0"
    assert event.occurred_at == datetime(2014, 8, 1, 20, 45, 32, tzinfo=UTC)
    assert event.channel == "Email"
    assert "Content" not in json.dumps(event.raw)


def test_postmark_mail_from_the_business_is_outbound_to_the_first_outside_recipient() -> None:
    body = json.dumps(fixture("postmark_inbound")).encode()
    mail = postmark(
        business_addresses=["@postmarkapp.com", "yourhash+SampleHash@inbound.postmarkapp.com"], channel="Mail"
    )
    assert mail.parse(request(body, "application/json"), tenant="acme") == []
    data = fixture("postmark_inbound")
    data["CcFull"].append({"Email": "customer@example.com", "Name": "Cus Tomer"})
    (event,) = mail.parse(request(json.dumps(data).encode(), "application/json"), tenant="acme")
    assert event.direction is Direction.OUTBOUND
    assert event.emails == ("customer@example.com",)
    assert event.channel == "Mail"


def test_postmark_rfc_message_id_wins_and_text_body_is_stripped_when_postmark_did_not() -> None:
    data = fixture("postmark_inbound")
    data["Headers"].append({"Name": "Message-ID", "Value": "<reply.1@example.com>"})
    data["StrippedTextReply"] = ""
    data["TextBody"] = "Sure!\n\nOn Mon, 1 Dec 2026, Acme <hello@acme.com> wrote:\n> Shall we?\n"
    (event,) = postmark().parse(request(json.dumps(data).encode(), "application/json"), tenant="acme")
    assert event.external_id == "reply.1@example.com"
    assert event.text is not None and event.text.startswith("Sure!\n\nAttached")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"FromFull": None, "From": ""}, "names no sender"),
        ({"FromFull": {"Email": "not-an-address"}, "From": "nobody"}, "names no sender"),
    ],
)
def test_postmark_without_a_sender_is_refused(change: dict[str, Any], reason: str) -> None:
    data = {**fixture("postmark_inbound"), **change}
    with pytest.raises(PayloadError, match=reason):
        postmark().parse(request(json.dumps(data).encode(), "application/json"), tenant="acme")


def test_postmark_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(PayloadError, match="not valid JSON"):
        postmark().parse(request(b"From=x", "application/x-www-form-urlencoded"), tenant="acme")
    with pytest.raises(PayloadError, match="not a JSON object"):
        postmark().parse(request(b"[]", "application/json"), tenant="acme")


def test_email_with_nothing_but_a_subject_shows_the_subject() -> None:
    data = {**fixture("postmark_inbound"), "StrippedTextReply": "", "TextBody": "", "HtmlBody": "", "Attachments": []}
    (event,) = postmark().parse(request(json.dumps(data).encode(), "application/json"), tenant="acme")
    assert event.text == "Test subject"
    data["Subject"] = ""
    # Valid, with nothing to post: answered 200 (kept with the reason), not refused as unreadable.
    with pytest.raises(SourceError, match="no subject, no text and no attachment") as caught:
        postmark().parse(request(json.dumps(data).encode(), "application/json"), tenant="acme")
    assert caught.value.status == 200


# SendGrid


def sendgrid(**settings: Any) -> Source:
    return source({"type": "sendgrid", "token": TOKEN, **settings})


def test_sendgrid_parsed_mode_with_an_attachment() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    body, content_type = multipart(fixture("sendgrid_parse"), {"attachment1": ("size-chart.png", png, "image/png")})
    (event,) = sendgrid(business_addresses=["@parse.acme-shop.com", "@acme-shop.com"]).parse(
        request(body, content_type), tenant="acme"
    )
    assert event.direction is Direction.INBOUND
    assert event.emails == ("sam.lee@example.com",)
    assert event.title == "Re: Your order #1042"
    assert event.text == "Can I change the size to M?\n\nSam\n\nAttached to the email: size-chart.png (2 KB)"
    assert event.external_id == "CAKWdvCSuHSJ3gpxVnHyYAJkRk5gqVpY3ZXMXrqNfT1G1BKVszw@mail.gmail.com"
    assert event.occurred_at == datetime(2016, 7, 27, 20, 53, 5, tzinfo=UTC)


def test_sendgrid_html_only_and_charsets() -> None:
    fields = {**fixture("sendgrid_parse"), "text": "", "charsets": json.dumps({"subject": "iso-8859-1"})}
    body, content_type = multipart(fields, {"attachment1": ("size-chart.png", b"png", "image/png")})
    body = body.replace(b"Re: Your order #1042", "Re: Commande n° 1042".encode("iso-8859-1"))
    (event,) = sendgrid().parse(request(body, content_type), tenant="acme")
    assert event.title == "Re: Commande n° 1042"
    assert event.text == "Can I change the size to M?\n\nSam\n\nAttached to the email: size-chart.png (3 B)"


def test_sendgrid_raw_mode_reads_the_whole_mime_message() -> None:
    message = EmailMessage()
    message["From"] = "Lia Wong <lia@example.com>"
    message["To"] = "hello@parse.acme-shop.com"
    message["Subject"] = "Return label"
    message["Date"] = "Mon, 30 Nov 2026 18:00:00 +0000"
    message["Message-ID"] = "<raw.42@example.com>"
    message.set_content("Please send me a return label.\n\n-- \nLia\n")
    message.add_alternative("<p>Please send me a return label.</p>", subtype="html")
    message.add_attachment(b"%PDF" * 100, maintype="application", subtype="pdf", filename="receipt.pdf")
    fields = {"email": message.as_string(), "to": "hello@parse.acme-shop.com", "from": "lia@example.com"}
    body, content_type = multipart(fields, {"unused": ("x.txt", b"x", "text/plain")})
    (event,) = sendgrid().parse(request(body, content_type), tenant="acme")
    assert event.emails == ("lia@example.com",)
    assert event.first_name == "Lia"
    assert event.title == "Return label"
    assert event.text == "Please send me a return label.\n\nAttached to the email: receipt.pdf (400 B)"
    assert event.external_id == "raw.42@example.com"


def test_sendgrid_same_email_twice_has_one_key() -> None:
    body, content_type = multipart(fixture("sendgrid_parse"), {"attachment1": ("a.png", b"a", "image/png")})
    first = sendgrid().parse(request(body, content_type), tenant="acme")[0]
    again = sendgrid().parse(request(body, content_type, received_at=RECEIVED_AT + timedelta(hours=1)), tenant="acme")
    assert first.idempotency_key() == again[0].idempotency_key()


def test_sendgrid_json_body_is_refused() -> None:
    with pytest.raises(PayloadError, match="expected a form"):
        sendgrid().parse(request(b"{}", "application/json"), tenant="acme")


# Mailgun


def mailgun_signature(timestamp: str, token: str, key: str = SIGNING_KEY) -> str:
    """Mailgun's documented algorithm: hex HMAC-SHA256 of timestamp + token, keyed with the signing key."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def signed(fields: dict[str, str], now: datetime = RECEIVED_AT, key: str = SIGNING_KEY) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {**fields, "timestamp": timestamp, "signature": mailgun_signature(timestamp, fields["token"], key)}


def mailgun(**settings: Any) -> Source:
    return source({"type": "mailgun", "signing_key": SIGNING_KEY, **settings}, clock=lambda: RECEIVED_AT)


def urlencoded(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def test_mailgun_signature_agrees_with_mailguns_own_sdk() -> None:
    """Mailgun's official SDK checks the test signature, then ours must give the same verdict on every case."""
    now = datetime.now(UTC)
    stamp = str(int(now.timestamp()))
    token = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
    good = mailgun_signature(stamp, token)
    cases = [
        (stamp, token, good),
        (stamp, token, mailgun_signature(stamp, token, "key-wrong")),
        (stamp, token + "x", good),
        (str(int(stamp) + 1), token, good),
        (stamp, token, good.upper()),
        (stamp, token, good[:-2]),
    ]
    for timestamp, tok, signature in cases:
        theirs = SecurityGuard.verify_webhook(SIGNING_KEY, tok, timestamp, signature)
        try:
            verify_mailgun_signature(
                timestamp, tok, signature, SecretStr(SIGNING_KEY), now=now, max_age=timedelta(minutes=5)
            )
            ours = True
        except SignatureError:
            ours = False
        # Upper-case hex is the same digest; Mailgun's SDK compares the text, so it is the one case we accept more.
        assert ours == (theirs or signature == good.upper()), (timestamp, tok, signature)
    assert SecurityGuard.verify_webhook(SIGNING_KEY, token, stamp, good) is True


def test_mailgun_forward_documented_fields() -> None:
    body = urlencoded(signed(fixture("mailgun_forward")))
    mail = mailgun(business_addresses=["@acme-salon.com", "@mg.acme-salon.com"])
    webhook = request(body, "application/x-www-form-urlencoded")
    mail.verify(webhook)
    (event,) = mail.parse(webhook, tenant="acme")
    assert event.direction is Direction.INBOUND
    assert event.emails == ("ana.diaz@example.com",)
    assert (event.first_name, event.last_name) == ("Ana", "Diaz")
    assert event.title == "Re: Your appointment on Friday"
    assert event.text == "Friday at 10 works for me, see you then!"
    assert event.external_id == "CAF=ana.1234@mail.gmail.com"
    assert event.occurred_at == datetime(2026, 12, 1, 9, 5, tzinfo=UTC)


def test_mailgun_forward_multipart_with_attachments() -> None:
    fields = signed({**fixture("mailgun_forward"), "attachment-count": "2"})
    body, content_type = multipart(
        fields,
        {
            "attachment-1": ("photo.jpg", b"\xff\xd8" * 600, "image/jpeg"),
            "attachment-2": ("a.ics", b"BEGIN", "text/calendar"),
        },
    )
    webhook = request(body, content_type)
    mailgun().verify(webhook)
    (event,) = mailgun().parse(webhook, tenant="acme")
    assert event.text == (
        "Friday at 10 works for me, see you then!\n\nAttached to the email: photo.jpg (1 KB), a.ics (5 B)"
    )


def test_mailgun_stored_message_lists_attachments_or_links_them() -> None:
    body = urlencoded(signed(fixture("mailgun_store_notify")))
    webhook = request(body, "application/x-www-form-urlencoded")
    (listed,) = mailgun().parse(webhook, tenant="acme")
    assert listed.text == (
        "Here are two photos of the colour.\n\nAttached to the email: colour.jpg (180 KB), reference.pdf (51 KB)"
    )
    assert listed.attachments == ()
    assert listed.raw["message_url"].endswith("/messages/BAABAQcZ")
    (linked,) = mailgun(link_stored_attachments=True).parse(webhook, tenant="acme")
    assert linked.text == "Here are two photos of the colour."
    assert [(a.kind, a.filename, a.mime_type) for a in linked.attachments] == [
        (AttachmentKind.IMAGE, "colour.jpg", "image/jpeg"),
        (AttachmentKind.FILE, "reference.pdf", "application/pdf"),
    ]
    assert linked.attachments[0].url.endswith("/attachments/0")


def test_mailgun_raw_mime_route() -> None:
    raw = (
        "From: Max Roe <max@example.com>\r\nTo: hello@mg.acme-salon.com\r\nSubject: Hi\r\n"
        "Message-ID: <mime.1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIs Monday open?\r\n"
    )
    fields = signed({"recipient": "hello@mg.acme-salon.com", "token": "t" * 50, "body-mime": raw})
    (event,) = mailgun().parse(request(urlencoded(fields), "application/x-www-form-urlencoded"), tenant="acme")
    assert (event.emails, event.text, event.external_id) == (
        ("max@example.com",),
        "Is Monday open?",
        "mime.1@example.com",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"signature": "0" * 64}, "does not match"),
        ({"signature": "not hex"}, "not a hex"),
        ({"signature": ""}, '"signature" field is missing'),
        ({"token": "other-token"}, "does not match"),
        ({"timestamp": "yesterday"}, "not a unix time"),
        ({"timestamp": str(int((RECEIVED_AT - timedelta(hours=1)).timestamp()))}, "seconds from our clock"),
        ({"timestamp": str(int((RECEIVED_AT + timedelta(hours=1)).timestamp()))}, "seconds from our clock"),
    ],
)
def test_mailgun_forged_or_replayed_requests_are_refused(change: dict[str, str], reason: str) -> None:
    fields = {**signed(fixture("mailgun_forward")), **change}
    with pytest.raises(SignatureError, match=reason) as caught:
        mailgun().verify(request(urlencoded(fields), "application/x-www-form-urlencoded"))
    assert caught.value.status == 401


def test_mailgun_unreadable_body_is_unsigned() -> None:
    with pytest.raises(SignatureError, match="timestamp"):
        mailgun().verify(request(b"{}", "application/json"))


def test_mailgun_with_the_wall_clock() -> None:
    mail = build_source("mail", parse_source_config({"type": "mailgun", "signing_key": SIGNING_KEY}))
    fields = signed(fixture("mailgun_forward"), now=datetime.fromtimestamp(time.time(), tz=UTC))
    mail.verify(request(urlencoded(fields), "application/x-www-form-urlencoded"))


def test_mailgun_without_from_falls_back_to_the_envelope_sender() -> None:
    fields = {k: v for k, v in fixture("mailgun_forward").items() if k not in ("from", "message-headers")}
    (event,) = mailgun().parse(request(urlencoded(signed(fields)), "application/x-www-form-urlencoded"), tenant="acme")
    assert event.emails == ("ana.diaz@example.com",)
    fields.pop("sender")
    with pytest.raises(PayloadError, match='"from" is missing'):
        mailgun().parse(request(urlencoded(signed(fields)), "application/x-www-form-urlencoded"), tenant="acme")


@pytest.mark.parametrize("kind", ["sendgrid", "mailgun", "postmark"])
def test_documented_config_is_valid(kind: str) -> None:
    doc = (Path(__file__).parents[3] / "docs" / "sources" / f"{kind}.md").read_text()
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    table = tomllib.loads(block)["tenants"]["acme"]["sources"][kind]
    config = parse_source_config(table)
    assert config.type == kind
    assert build_source(kind, config).name == kind
