"""Twilio Messaging and Voice: signatures checked against Twilio's own library, documented payloads parsed."""

from __future__ import annotations

import pytest
from connector_support import URL, doc_sources, fixture, form_body, one, refused, request, source_from
from twilio.request_validator import RequestValidator

from inboxbridge.events import AttachmentKind, Direction, EventKind
from inboxbridge.providers.twilio.voice import call_line, duration_text

TOKEN = "12345678901234567890123456789012"


def twilio_headers(params: dict[str, str], *, url: str = URL, token: str = TOKEN) -> dict[str, str]:
    """Headers Twilio sends, the signature computed by Twilio's own validator."""
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": RequestValidator(token).compute_signature(url, params),
    }


def sms(**extra: object) -> object:
    return source_from({"type": "twilio_sms", "auth_token": TOKEN, "business_numbers": ["+14155550100"], **extra})


def voice() -> object:
    return source_from({"type": "twilio_voice", "auth_token": TOKEN})


def test_inbound_mms_becomes_a_message_with_its_picture() -> None:
    params = fixture("twilio_sms_inbound")
    event = one(sms(), request(form_body(params), twilio_headers(params)))
    assert (event.kind, event.direction, event.phone, event.channel) == (
        EventKind.MESSAGE,
        Direction.INBOUND,
        "+14155550123",
        "SMS",
    )
    assert event.text == "Hi! Is the blue teapot back in stock? Photo attached."
    assert event.external_id == "SM1d5a4b1c2f8e9a0b3c4d5e6f7a8b9c0d"
    (picture,) = event.attachments
    assert (picture.kind, picture.mime_type, picture.url) == (AttachmentKind.IMAGE, "image/jpeg", params["MediaUrl0"])


def test_signature_over_the_public_url_with_or_without_the_port() -> None:
    params = fixture("twilio_sms_inbound")
    signed_with_port = twilio_headers(params, url="https://bridge.example.com:443/hooks/acme/src")
    sms().verify(request(form_body(params), signed_with_port))
    proxied = "https://bridge.example.com/hooks/acme/src?tenant=x"
    sms().verify(request(form_body(params), twilio_headers(params, url=proxied), url=proxied))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"x-twilio-signature": ""}, "the x-twilio-signature header is missing"),
        ({"x-twilio-signature": "%%%"}, "is not a base64 signature"),
        ({"x-twilio-signature": "AAAA"}, "does not match this URL and these parameters"),
    ],
)
def test_bad_signatures_are_refused(change: dict[str, str], reason: str) -> None:
    params = fixture("twilio_sms_inbound")
    headers = {**twilio_headers(params), **change}
    assert reason in refused(sms().verify, request(form_body(params), headers), 401)


def test_altered_parameters_wrong_token_or_other_url_are_refused() -> None:
    params = fixture("twilio_sms_inbound")
    headers = twilio_headers(params)
    altered = form_body({**params, "Body": "Send me a refund"})
    assert "does not match" in refused(sms().verify, request(altered, headers), 401)
    other_token = twilio_headers(params, token="0" * 32)
    assert "does not match" in refused(sms().verify, request(form_body(params), other_token), 401)
    internal = "http://10.0.0.7:8080/hooks/acme/src"
    assert "public_base_url" in refused(sms().verify, request(form_body(params), headers, url=internal), 401)


def test_our_signature_check_agrees_with_twilios_on_repeated_and_unicode_params() -> None:
    params = {"Body": "Grüße ✓ & <3", "From": "+4915112345678", "To": "+14155550100", "MessageSid": "SM1", "A": ""}
    headers = twilio_headers(params)
    assert RequestValidator(TOKEN).validate(URL, params, headers["x-twilio-signature"])
    sms().verify(request(form_body(params), headers))


def test_status_callback_is_ignored_unless_sent_messages_are_synced() -> None:
    params = fixture("twilio_sms_status_sent")
    req = request(form_body(params), twilio_headers(params))
    assert sms().parse(req, tenant="acme") == []
    event = one(sms(sync_sent=True), req)
    assert (event.direction, event.phone, event.external_id) == (
        Direction.OUTBOUND,
        "+14155550123",
        "SM9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
    )
    assert event.text == "SMS sent (its text is not in Twilio's status callback)"
    delivered = {**params, "MessageStatus": "delivered", "SmsStatus": "delivered"}
    again = one(sms(sync_sent=True), request(form_body(delivered), twilio_headers(delivered)))
    assert again.idempotency_key() == event.idempotency_key()
    failed = {**params, "MessageStatus": "failed"}
    assert sms(sync_sent=True).parse(request(form_body(failed)), tenant="acme") == []


def test_national_numbers_need_a_region() -> None:
    params = {**fixture("twilio_sms_status_sent"), "From": "+442079460000", "To": "07700 900123", "Body": "Hi"}
    source = source_from(
        {
            "type": "twilio_sms",
            "auth_token": TOKEN,
            "business_numbers": ["020 7946 0000"],
            "default_region": "gb",
            "sync_sent": True,
        }
    )
    assert one(source, request(form_body(params), twilio_headers(params))).phone == "+447700900123"


def test_whatsapp_sender_and_idempotency_token() -> None:
    params = {"From": "whatsapp:+14155550123", "To": "whatsapp:+14155550100", "Body": "hello", "NumMedia": "0"}
    headers = {**twilio_headers(params), "i-twilio-idempotency-token": "a1b2c3"}
    event = one(sms(), request(form_body(params), headers))
    assert (event.phone, event.channel, event.external_id) == ("+14155550123", "WhatsApp", "token:a1b2c3")


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"To": "+14155550100", "Body": "hi", "MessageSid": "SM1"}, "the From parameter is missing"),
        ({"From": "Acme", "To": "+14155550100", "Body": "hi", "MessageSid": "SM1"}, "From: 'Acme' is not a phone"),
        ({"From": "+14155550123", "To": "+14155550100", "MessageSid": "SM1"}, "neither a Body, media nor a location"),
        ({"From": "+14155550123", "Body": "hi"}, "the MessageSid parameter is missing"),
        (
            {
                "From": "+14155550123",
                "Body": "hi",
                "MessageSid": "SM1",
                "NumMedia": "2",
                "MediaUrl0": "https://x.example/a",
            },
            "MediaUrl1 is missing",
        ),
    ],
)
def test_unreadable_messages_say_why(params: dict[str, str], reason: str) -> None:
    assert reason in refused(sms().parse, request(form_body(params), twilio_headers(params)), 400)


def test_a_body_that_is_not_a_form_is_refused() -> None:
    req = request(b'{"From": "+14155550123"}', {"content-type": "application/json"})
    assert "not the form" in refused(sms().parse, req, 400)


def test_completed_call_becomes_an_activity_with_its_recording() -> None:
    params = fixture("twilio_voice_completed")
    event = one(voice(), request(form_body(params), twilio_headers(params)))
    assert (event.kind, event.direction, event.phone, event.channel) == (
        EventKind.ACTIVITY,
        Direction.INBOUND,
        "+14155550123",
        "Call",
    )
    assert event.text == "Call · 3 min 12 s"
    assert event.activity_url == params["RecordingUrl"]
    assert event.external_id == "CA5f1e2d3c4b5a69788796a5b4c3d2e1f0:completed"
    assert event.occurred_at.isoformat() == "2026-11-03T11:58:21+00:00"


@pytest.mark.parametrize(
    ("status", "direction", "text"),
    [
        ("no-answer", "inbound", "Missed call"),
        ("busy", "inbound", "Missed call (line busy)"),
        ("canceled", "inbound", "Missed call (caller hung up)"),
        ("failed", "inbound", "Call failed"),
        ("no-answer", "outbound-api", "Call not answered"),
    ],
)
def test_call_outcomes(status: str, direction: str, text: str) -> None:
    params = {**fixture("twilio_voice_completed"), "CallStatus": status, "Direction": direction}
    if status != "completed":
        del params["CallDuration"], params["RecordingUrl"]
    event = one(voice(), request(form_body(params), twilio_headers(params)))
    assert event.text == text
    outbound = direction == "outbound-api"
    assert event.direction is (Direction.OUTBOUND if outbound else Direction.INBOUND)
    assert event.phone == params["To" if outbound else "From"]
    assert event.external_id == f"{params['CallSid']}:{status}"


def forwarded_leg(status: str, caller: str) -> dict[str, str]:
    """The status callback of a ``<Dial>`` child leg: the caller forwarded to the owner's mobile, +14155550199."""
    params = {**fixture("twilio_voice_completed"), "CallStatus": status, "Direction": "outbound-dial"}
    del params["CallDuration"], params["RecordingUrl"]
    params |= {
        "CallSid": "CA0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a",
        "ParentCallSid": "CA5f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "From": caller,
        "Caller": caller,
        "To": "+14155550199",
        "Called": "+14155550199",
    }
    return params


@pytest.mark.parametrize(("status", "text"), [("no-answer", "Missed call"), ("busy", "Missed call (line busy)")])
def test_a_forwarded_call_nobody_answered_is_a_missed_call_from_the_caller(status: str, text: str) -> None:
    params = forwarded_leg(status, "+14155550123")
    source = source_from({"type": "twilio_voice", "auth_token": TOKEN, "business_numbers": ["+14155550199"]})
    event = one(source, request(form_body(params), twilio_headers(params)))
    assert (event.direction, event.phone, event.text) == (Direction.INBOUND, "+14155550123", text)
    assert event.external_id == f"{params['ParentCallSid']}:dial:{params['CallSid']}:{status}"
    # Without business_numbers too: the forwarded-to phone is never taken for the customer.
    assert one(voice(), request(form_body(params), twilio_headers(params))).phone == "+14155550123"


def test_a_business_number_is_never_the_customer() -> None:
    source = source_from(
        {
            "type": "twilio_voice",
            "auth_token": TOKEN,
            "business_numbers": ["+14155550100", "(415) 555-0199"],
            "default_region": "US",
        }
    )
    # A forwarded leg that shows the Twilio number as caller id: the parent call's callback names the caller.
    shown_as_business = forwarded_leg("no-answer", "+14155550100")
    assert source.parse(request(form_body(shown_as_business)), tenant="acme") == []
    # The owner calling their own line from their mobile.
    owner = {**fixture("twilio_voice_completed"), "From": "+1 415-555-0199", "Caller": "+1 415-555-0199"}
    assert source.parse(request(form_body(owner)), tenant="acme") == []


def test_twilio_webhooks_are_answered_with_empty_twiml() -> None:
    for source in (sms(), voice()):
        for status in (200, 202):
            reply = source.answer(status, {"accepted": 1})
            assert reply is not None
            assert (reply.status, reply.content_type) == (status, "text/xml; charset=utf-8")
            assert reply.body == b'<?xml version="1.0" encoding="UTF-8"?><Response />'
        # Refusals keep the JSON reason the server writes (Twilio's debugger shows it).
        assert source.answer(401, {"error": "bad signature"}) is None


@pytest.mark.parametrize("status", ["initiated", "ringing", "in-progress"])
def test_calls_in_progress_are_not_synced(status: str) -> None:
    params = {**fixture("twilio_voice_completed"), "CallStatus": status}
    assert voice().parse(request(form_body(params)), tenant="acme") == []


def test_recording_callbacks_are_ignored_and_non_callbacks_refused() -> None:
    recording = {"CallSid": "CA1", "RecordingStatus": "completed", "RecordingUrl": "https://api.twilio.com/r"}
    assert voice().parse(request(form_body(recording)), tenant="acme") == []
    assert "CallStatus parameter is missing" in refused(voice().parse, request(form_body({"CallSid": "CA1"})), 400)


def test_durations_read_naturally() -> None:
    assert [duration_text(s) for s in (0, 59, 60, 192, 3600, 3725)] == [
        "0 s",
        "59 s",
        "1 min",
        "3 min 12 s",
        "1 h",
        "1 h 2 min 5 s",
    ]
    assert call_line("completed", Direction.INBOUND, None) == "Call"


def test_documented_configs_are_valid() -> None:
    for name in ("twilio_sms", "twilio_voice"):
        tables = doc_sources(name)
        assert tables
        for table in tables.values():
            source_from(table)
