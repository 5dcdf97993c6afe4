"""Twilio Messaging and Voice on Twilio's own samples, signed with Twilio's own library.

The samples, each cited in the ``.source.json`` file beside it: the webhooks the Twilio CLI's webhook plugin sends
(SMS, MMS, WhatsApp, an inbound call), the status callback of Twilio's outbound-status guide, the SMS request of
Twilio's original 2008-08-01 API, the Voice request of a Notification in Twilio's OpenAPI description, and the
RequestValidator test vectors of twilio-python.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from connector_support import URL, fixture, form_body, one, refused, request, source_from
from twilio.request_validator import RequestValidator

from inboxbridge.events import AttachmentKind, Direction, EventKind

TOKEN = "12345678901234567890123456789012"
BUSINESS = "+15558675310"
"""The Twilio number of the CLI plugin's samples (their To)."""
CUSTOMER = "+15017122661"


def sms(**extra: object) -> Any:
    return source_from({"type": "twilio_sms", "auth_token": TOKEN, "business_numbers": [BUSINESS], **extra})


def voice(**extra: object) -> Any:
    return source_from({"type": "twilio_voice", "auth_token": TOKEN, **extra})


def signed(params: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    """A POST of ``params`` with the sample's own headers, signed by Twilio's RequestValidator."""
    sent = {name.lower(): value for name, value in (headers or {}).items()}
    sent["content-type"] = sent.get("content-type", "application/x-www-form-urlencoded")
    sent["x-twilio-signature"] = RequestValidator(TOKEN).compute_signature(URL, params)
    return request(form_body(params), sent)


def cli(name: str, **changes: str) -> Any:
    """The CLI plugin's sample ``name`` as Twilio would send it, with ``changes`` to its parameters."""
    sample = fixture(name)
    return signed({**sample["params"], **changes}, sample["headers"])


def events(source: Any, req: Any) -> list[Any]:
    source.verify(req)
    return list(source.parse(req, tenant="acme"))


# Messaging


def test_inbound_sms_is_a_customer_message() -> None:
    event = one(sms(), cli("twilio_sms_inbound_cli"))
    assert (event.kind, event.direction, event.phone, event.channel, event.text) == (
        EventKind.MESSAGE,
        Direction.INBOUND,
        CUSTOMER,
        "SMS",
        "Ahoy",
    )
    # The MessageSid, not the delivery's I-Twilio-Idempotency-Token, so a message sent again is one message.
    assert event.external_id == "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


def test_inbound_mms_brings_its_picture() -> None:
    event = one(sms(), cli("twilio_mms_inbound_cli"))
    assert event.text == "This is MMS type sample"
    (picture,) = event.attachments
    assert (picture.kind, picture.mime_type) == (AttachmentKind.IMAGE, "image/jpeg")
    assert picture.url == fixture("twilio_mms_inbound_cli")["params"]["MediaUrl0"]


def test_inbound_whatsapp_message_is_named_after_the_profile() -> None:
    event = one(sms(), cli("twilio_whatsapp_inbound_cli"))
    assert (event.direction, event.phone, event.channel, event.text) == (
        Direction.INBOUND,
        CUSTOMER,
        "WhatsApp",
        "Test whatsapp msg",
    )
    assert (event.first_name, event.last_name) == ("PNaaaaa", None)


def test_a_shared_whatsapp_location_lands_with_a_map_link() -> None:
    event = one(sms(), cli("twilio_whatsapp_location_cli"))
    assert event.text == (
        "Location: Twilio HQ · 375 Beale St, San Francisco, CA 94105\n"
        "https://www.google.com/maps/search/?api=1&query=37.7879277%2C-122.4005048"
    )
    bare = one(sms(), cli("twilio_whatsapp_location_cli", Label="", Address=""))
    assert bare.text is not None and bare.text.startswith("Location: 37.7879277,-122.4005048\n")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"Latitude": "north"}, "Latitude is 'north', not a coordinate"),
        ({"Longitude": "-190"}, "Longitude is '-190', outside -180 to 180"),
        ({"Longitude": ""}, "Longitude is '', not a coordinate"),
    ],
)
def test_a_location_that_is_not_one_says_why(changes: dict[str, str], reason: str) -> None:
    assert refused(sms().parse, cli("twilio_whatsapp_location_cli", **changes), 400) == reason


def test_the_documented_status_callback_is_ignored_unless_sent_messages_are_synced() -> None:
    """Twilio's guide shows a subset of a status callback: without To it cannot name the customer."""
    params = fixture("twilio_sms_status_sent_docs")
    business = {"business_numbers": [params["From"]]}
    assert events(sms(**business), signed(params)) == []
    reason = refused(sms(sync_sent=True, **business).parse, signed(params), 400)
    assert reason == "the To parameter is missing: the sent message names no customer"


@pytest.mark.parametrize(
    ("status", "lands"),
    [
        ("queued", False),
        ("sent", True),
        ("delivered", True),
        ("undelivered", False),
        ("failed", False),
        ("read", False),
    ],
)
def test_each_message_status(status: str, lands: bool) -> None:
    """The documented callback with its To, in each MessageStatus Twilio reports."""
    params = {**fixture("twilio_sms_status_sent_docs"), "To": CUSTOMER, "MessageStatus": status, "SmsStatus": status}
    source = sms(sync_sent=True, business_numbers=[params["From"]])
    found = events(source, signed(params))
    assert [(e.direction, e.phone, e.external_id) for e in found] == (
        [(Direction.OUTBOUND, CUSTOMER, params["MessageSid"])] if lands else []
    )


def test_whatsapp_read_receipts_are_ignored() -> None:
    """The extra parameters Twilio's guide lists for WhatsApp status callbacks (read receipt: EventType READ)."""
    params = {
        **fixture("twilio_sms_status_sent_docs"),
        "From": f"whatsapp:{BUSINESS}",
        "To": f"whatsapp:{CUSTOMER}",
        "MessageStatus": "read",
        "SmsStatus": "read",
        "ChannelPrefix": "whatsapp",
        "EventType": "READ",
    }
    assert events(sms(sync_sent=True), signed(params)) == []


def test_the_original_apis_sms_request() -> None:
    """Twilio's 2008-08-01 example: national numbers and no message id."""
    params = fixture("twilio_sms_inbound_2008_docs")
    reason = refused(sms().parse, signed(params), 400)
    assert reason == "the MessageSid parameter is missing: the message cannot be told apart from others"
    token = {"I-Twilio-Idempotency-Token": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}
    event = one(sms(business_numbers=[]), signed(params, token))
    # Kept as written for the pipeline to read in the tenant's region, or read in the source's own.
    assert (event.phone, event.text, event.external_id) == (
        "4158675309",
        "How are you doing",
        "token:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    )
    assert one(sms(default_region="US"), signed(params, token)).phone == "+14158675309"


# Voice


def call(status: str, **changes: str) -> Any:
    """The CLI plugin's inbound call reported by its status callback, as Twilio's Call resource documents one."""
    callback = {
        "CallStatus": status,
        "CallbackSource": "call-progress-events",
        "SequenceNumber": "3",
        "Timestamp": "Tue, 03 Nov 2026 11:58:21 +0000",
    }
    if status == "completed":
        callback["CallDuration"] = "38"
    return cli("twilio_voice_ringing_cli", **callback, **changes)


def test_the_ringing_and_in_progress_samples_are_not_synced() -> None:
    assert events(voice(), cli("twilio_voice_ringing_cli")) == []
    assert events(voice(), signed(fixture("twilio_voice_in_progress_oai"))) == []


def test_a_completed_call_is_an_activity_line() -> None:
    event = one(voice(), call("completed"))
    assert (event.kind, event.direction, event.phone, event.channel, event.text) == (
        EventKind.ACTIVITY,
        Direction.INBOUND,
        CUSTOMER,
        "Call",
        "Call · 38 s",
    )
    assert event.external_id == "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:completed"
    assert event.occurred_at == datetime(2026, 11, 3, 11, 58, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("direction", "status", "text", "customer"),
    [
        ("inbound", "no-answer", "Missed call", CUSTOMER),
        ("inbound", "busy", "Missed call (line busy)", CUSTOMER),
        ("inbound", "canceled", "Missed call (caller hung up)", CUSTOMER),
        ("inbound", "failed", "Call failed", CUSTOMER),
        ("outbound-api", "no-answer", "Call not answered", BUSINESS),
        ("outbound-api", "busy", "Call not answered (line busy)", BUSINESS),
        ("outbound-api", "canceled", "Call canceled", BUSINESS),
        # A call from the business's own phone system through an Elastic SIP trunk is to the number it dialled.
        ("trunking-terminating", "no-answer", "Call not answered", BUSINESS),
        ("trunking-originating", "no-answer", "Missed call", CUSTOMER),
    ],
)
def test_each_call_outcome(direction: str, status: str, text: str, customer: str) -> None:
    event = one(voice(), call(status, Direction=direction))
    assert (event.text, event.phone) == (text, customer)
    assert event.direction is (Direction.INBOUND if customer == CUSTOMER else Direction.OUTBOUND)


def test_a_forwarded_leg_is_the_callers_missed_call() -> None:
    leg = call(
        "no-answer",
        Direction="outbound-dial",
        CallSid="CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        ParentCallSid="CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        To="+15005550006",
        Called="+15005550006",
    )
    event = one(voice(business_numbers=[BUSINESS, "+15005550006"]), leg)
    assert (event.direction, event.phone, event.text) == (Direction.INBOUND, CUSTOMER, "Missed call")
    assert event.external_id == "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:dial:CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:no-answer"


def test_a_business_number_calling_is_never_the_customer() -> None:
    owner = {"From": BUSINESS, "Caller": BUSINESS}
    assert events(voice(business_numbers=[BUSINESS]), call("completed", **owner)) == []


@pytest.mark.parametrize(
    ("caller", "callee"),
    [
        # Twilio's OpenAPI example of a call between two Twilio Client apps (createWithFromToClient).
        ("client:alice", "client:bob"),
        ("sip:alice@example.sip.twilio.com", "client:bob"),
    ],
)
def test_calls_between_the_businesss_apps_are_not_synced(caller: str, callee: str) -> None:
    ends = {"From": caller, "Caller": caller, "To": callee, "Called": callee}
    assert events(voice(), call("completed", Direction="outbound-api", **ends)) == []
    assert events(voice(), call("no-answer", Direction="inbound", **ends)) == []


def test_recording_callbacks_are_ignored() -> None:
    """The parameters of Twilio's recording status callback (no CallStatus, no caller)."""
    recording = {
        "AccountSid": "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "CallSid": "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "RecordingSid": "REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Recordings/REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "RecordingStatus": "completed",
        "RecordingDuration": "35",
        "RecordingChannels": "1",
        "RecordingSource": "DialVerb",
        "RecordingStartTime": "Tue, 03 Nov 2026 11:57:43 +0000",
    }
    assert events(voice(), signed(recording)) == []


def test_a_voice_request_that_is_no_status_callback_is_refused() -> None:
    """twilio-python's sample Voice request (a <Gather> answer with Digits) sent to the status callback URL."""
    params = fixture("twilio_request_validator_vectors")["params"]
    reason = refused(voice().parse, signed(params), 400)
    assert reason == "the CallStatus parameter is missing: this is not a Voice status callback"


# Signatures


@pytest.mark.parametrize(
    ("url_change", "signature"),
    [
        (None, "signature"),
        (None, "signature_with_port_443"),
        ((".com", ".com:1234"), "signature"),
        (("https", "http"), "signature_http_with_port_80"),
    ],
)
def test_twilios_own_signature_vectors_are_accepted(url_change: tuple[str, str] | None, signature: str) -> None:
    vectors = fixture("twilio_request_validator_vectors")
    url = vectors["url"] if url_change is None else vectors["url"].replace(*url_change)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": vectors[signature]}
    source = source_from({"type": "twilio_voice", "auth_token": vectors["auth_token"]})
    source.verify(request(urlencode(vectors["params"]).encode(), headers, url=url))
    repeated = {**headers, "x-twilio-signature": vectors["repeated_params_signature"]}
    source.verify(request(vectors["repeated_params_body"].encode(), repeated, url=vectors["url"]))
    assert parse_qs(vectors["repeated_params_body"])["Digits"] == ["5678", "1234", "1234"]


def test_a_sample_signed_with_another_token_or_altered_is_refused() -> None:
    sample = fixture("twilio_sms_inbound_cli")["params"]
    headers = {"x-twilio-signature": RequestValidator("0" * 32).compute_signature(URL, sample)}
    assert "does not match" in refused(sms().verify, request(form_body(sample), headers), 401)
    genuine = cli("twilio_sms_inbound_cli")
    altered = request(form_body({**sample, "From": "+15005550009"}), genuine.headers)
    assert "does not match" in refused(sms().verify, altered, 401)


@pytest.mark.parametrize("prefix", ["", "whatsapp:"])
def test_a_message_between_two_business_numbers_is_nobodys(prefix: str) -> None:
    """The documented status callback, sent from one of the business's numbers to another (a test, a forward)."""
    second = "+15005550006"
    params = {
        **fixture("twilio_sms_status_sent_docs"),
        "From": f"{prefix}{BUSINESS}",
        "To": f"{prefix}{second}",
    }
    assert events(sms(sync_sent=True, business_numbers=[BUSINESS, second]), signed(params)) == []
    incoming = {**params, "MessageStatus": "received", "SmsStatus": "received", "Body": "test"}
    assert events(sms(business_numbers=[BUSINESS, second]), signed(incoming)) == []


def test_a_long_profile_name_is_cut_to_what_a_contact_holds() -> None:
    event = one(sms(), cli("twilio_whatsapp_inbound_cli", ProfileName="Ana " + "Maria " * 60))
    assert event.first_name == "Ana"
    assert event.last_name is not None and len(event.last_name) == 256 and event.last_name.endswith("…")
