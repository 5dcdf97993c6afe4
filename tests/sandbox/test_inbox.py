"""Inbox v2 conversations and messages: the SDK's wire forms, message rules, listing and paging."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx2
import pytest

from inboxbridge.sandbox import DEMO_APP_ID, DEMO_APP_SECRET, DEMO_INSTANCE_ID

from .support import application_error, create_contact, open_conversation, text_message, violations

MISSING = "00000000-0000-4000-8000-000000000000"


def dot_r(request: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(request).encode()).decode().rstrip("=")


def test_get_or_create_returns_the_same_conversation(wix: httpx2.Client) -> None:
    contact_id = create_contact(wix, "conv@example.com", name={"first": "Conny"})
    first = wix.post("/inbox/v2/conversations", json={"participantId": {"contactId": contact_id}}).json()
    again = wix.post("/inbox/v2/conversations", json={"participantId": {"contactId": contact_id}}).json()
    assert first["newConversation"] is True
    assert again["newConversation"] is False
    assert again["conversation"]["id"] == first["conversation"]["id"]
    conversation = first["conversation"]
    assert conversation["participant"] == {"contactId": contact_id}
    assert conversation["participantDisplayData"]["name"] == "Conny"
    assert conversation["businessDisplayData"]["name"]
    got = wix.get(f"/inbox/v2/conversations/{conversation['id']}")
    assert got.json() == {"conversation": conversation}


def test_conversation_errors(wix: httpx2.Client) -> None:
    missing = wix.get(f"/inbox/v2/conversations/{MISSING}")
    assert missing.status_code == 404
    assert application_error(missing)["code"] == "CONVERSATION_NOT_FOUND"
    assert violations(wix.get("/inbox/v2/conversations/abc")) == ["conversationId"]
    assert violations(wix.post("/inbox/v2/conversations", json={"participantId": {}})) == ["participantId"]
    assert violations(wix.post("/inbox/v2/conversations", json={"participantId": {"contactId": "x"}})) == [
        "participantId.contactId"
    ]
    unknown = wix.post("/inbox/v2/conversations", json={"participantId": {"contactId": MISSING}})
    assert unknown.status_code == 404


def test_visitor_conversations_need_no_contact(wix: httpx2.Client) -> None:
    answer = wix.post("/inbox/v2/conversations", json={"participantId": {"anonymousVisitorId": MISSING}})
    assert answer.status_code == 200
    assert answer.json()["conversation"]["participant"] == {"anonymousVisitorId": MISSING}


def test_send_message_in_the_sdk_form(wix: httpx2.Client) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "send@example.com"))
    answer = wix.post(
        "/inbox/v2/messages",
        json={
            "conversationId": conversation_id,
            "message": {
                "direction": "PARTICIPANT_TO_BUSINESS",
                "visibility": "BUSINESS",
                "content": {"basic": {"items": [{"text": "hi"}]}},
                "silent": True,
                "badges": [{"text": "SMS", "iconUrl": "https://example.com/sms.png", "badgeVisibility": "BUSINESS"}],
            },
            "sendNotifications": False,
            "sendAs": "PARTICIPANT",
        },
    )
    assert answer.status_code == 200, answer.text
    message = answer.json()["message"]
    assert message["content"] == {"basic": {"items": [{"text": "hi"}]}}
    assert message["silent"] is True
    assert message["badges"][0]["text"] == "SMS"
    assert message["sender"]["contactId"]
    assert message["createdDate"].endswith("Z")
    assert message["id"]
    assert int(message["sequence"]) > 0


def test_sequence_increases_and_caller_is_the_sender(wix: httpx2.Client, anon: httpx2.Client) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "seq@example.com"))
    sent = [
        wix.post("/inbox/v2/messages", json=text_message(conversation_id, f"m{i}")).json()["message"] for i in range(3)
    ]
    assert [int(m["sequence"]) for m in sent] == sorted(int(m["sequence"]) for m in sent)
    assert len({m["sequence"] for m in sent}) == 3
    assert set(sent[0]["sender"]) == {"wixUserId"}
    token = anon.post(
        "/oauth2/token",
        json={
            "instance_id": DEMO_INSTANCE_ID,
            "client_id": DEMO_APP_ID,
            "client_secret": DEMO_APP_SECRET,
            "grant_type": "client_credentials",
        },
    ).json()["access_token"]
    as_app = anon.post(
        "/inbox/v2/messages",
        json=text_message(conversation_id, "app"),
        headers={"Authorization": token},
    )
    assert as_app.json()["message"]["sender"] == {"appId": DEMO_APP_ID}
    assert as_app.json()["message"]["appId"] == DEMO_APP_ID


def test_minimal_form_and_media_content_are_kept_media_rehosted_as_wix_does(wix: httpx2.Client) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "kinds@example.com"))
    contents = [
        {
            "minimal": {
                "text": "Order #12 shipped",
                "iconUrl": "https://example.com/i.png",
                "url": "https://example.com/o/12",
            }
        },
        {"form": {"title": "Survey", "fields": [{"name": "Score", "value": "9"}]}},
        {
            "basic": {
                "items": [
                    {
                        "image": {
                            "url": "https://example.com/a.png",
                            "filename": "a.png",
                            "width": 10,
                            "height": 10,
                        }
                    },
                    {
                        "file": {
                            "url": "https://example.com/a.pdf",
                            "filename": "a.pdf",
                            "mimeType": "application/pdf",
                        }
                    },
                ]
            },
            "previewText": "two attachments",
        },
    ]
    for content in contents:
        body = text_message(conversation_id, "x")
        body["message"]["content"] = content
        answer = wix.post("/inbox/v2/messages", json=body)
        assert answer.status_code == 200, answer.text
        stored = answer.json()["message"]["content"]
        if "basic" not in content:
            assert stored == content
            continue
        # Wix keeps its own copy of each image and file: a media id and a URL of its own, the rest as sent.
        assert stored["previewText"] == content["previewText"]
        for sent, kept in zip(content["basic"]["items"], stored["basic"]["items"], strict=True):
            [(kind, media)] = sent.items()
            copy = kept[kind]
            assert copy["url"].startswith("https://static.wixstatic.com/media/") and copy["url"] != media["url"]
            assert copy["id"] and {k: v for k, v in copy.items() if k not in ("url", "id")} == {
                k: v for k, v in media.items() if k != "url"
            }


def long(n: int) -> str:
    return "x" * n


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("conversationId"), "conversationId"),
        (lambda b: b.update(conversationId="not-a-guid"), "conversationId"),
        (lambda b: b.pop("message"), "message"),
        (lambda b: b["message"].pop("direction"), "message.direction"),
        (lambda b: b["message"].update(direction="SIDEWAYS"), "message.direction"),
        (lambda b: b["message"].pop("visibility"), "message.visibility"),
        (lambda b: b["message"].update(visibility="EVERYONE"), "message.visibility"),
        (lambda b: b["message"].pop("content"), "message.content"),
        (lambda b: b["message"].update(content={}), "message.content"),
        (lambda b: b["message"]["content"].update(minimal={"text": "two kinds"}), "message.content"),
        (lambda b: b["message"].update(content={"system": {"text": "nope"}}), "message.content.system"),
        (lambda b: b["message"]["content"]["basic"].update(items=[]), "message.content.basic.items"),
        (
            lambda b: b["message"]["content"]["basic"].update(items=[{"text": ""}]),
            "message.content.basic.items[0].text",
        ),
        (
            lambda b: b["message"]["content"]["basic"].update(items=[{"text": long(16385)}]),
            "message.content.basic.items[0].text",
        ),
        (
            lambda b: b["message"]["content"]["basic"].update(
                items=[{"text": "a", "image": {"url": "https://e.co/x"}}]
            ),
            "message.content.basic.items[0]",
        ),
        (
            lambda b: b["message"].update(content={"minimal": {"text": long(16385)}}),
            "message.content.minimal.text",
        ),
        (lambda b: b["message"].update(content={"minimal": {}}), "message.content.minimal.text"),
        (lambda b: b["message"]["content"].update(previewText=long(257)), "message.content.previewText"),
        (lambda b: b["message"].update(badges=[{"text": "A"}, {"text": "B"}]), "message.badges"),
        (lambda b: b.update(sendAs="SOMEONE"), "sendAs"),
    ],
)
def test_send_message_validation(wix: httpx2.Client, mutate: Any, field: str) -> None:
    body = text_message(MISSING, "ok")
    mutate(body)
    assert field in violations(wix.post("/inbox/v2/messages", json=body))


def test_texts_at_the_limits_are_accepted(wix: httpx2.Client) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "limits@example.com"))
    body = text_message(conversation_id, long(16384))
    body["message"]["content"]["previewText"] = long(256)
    assert wix.post("/inbox/v2/messages", json=body).status_code == 200


def test_send_errors_from_the_application(wix: httpx2.Client) -> None:
    unknown = wix.post("/inbox/v2/messages", json=text_message(MISSING, "hi"))
    assert unknown.status_code == 404
    assert application_error(unknown)["code"] == "CONVERSATION_NOT_FOUND"
    conversation_id = open_conversation(wix, create_contact(wix, "media@example.com"))
    bad_media = text_message(conversation_id, "x")
    bad_media["message"]["content"] = {"basic": {"items": [{"image": {"url": "ftp://example.com/a.png"}}]}}
    assert application_error(wix.post("/inbox/v2/messages", json=bad_media))["code"] == "INVALID_MEDIA_URL"
    wrong_way = text_message(conversation_id, "x", direction="BUSINESS_TO_PARTICIPANT")
    wrong_way["sendAs"] = "PARTICIPANT"
    assert application_error(wix.post("/inbox/v2/messages", json=wrong_way))["code"] == "IDENTITY_DOES_NOT_MATCH"


def test_list_messages_newest_first_with_cursor_paging(wix: httpx2.Client) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "list@example.com"))
    for i in range(5):
        wix.post("/inbox/v2/messages", json=text_message(conversation_id, f"m{i}"))
    first = wix.get(
        "/inbox/v2/messages",
        params={"conversationId": conversation_id, "visibility": "BUSINESS", "paging.limit": 2},
    ).json()
    texts = [m["content"]["basic"]["items"][0]["text"] for m in first["messages"]]
    assert texts == ["m4", "m3"]
    assert first["pagingMetadata"]["count"] == 2
    cursor = first["pagingMetadata"]["cursors"]["next"]
    rest = wix.get(
        "/inbox/v2/messages",
        params={
            ".r": dot_r(
                {
                    "conversationId": conversation_id,
                    "visibility": "BUSINESS",
                    "paging": {"limit": 10, "cursor": cursor},
                    "sorting": {"fieldName": "sequence", "order": "DESC"},
                }
            )
        },
    ).json()
    assert [m["content"]["basic"]["items"][0]["text"] for m in rest["messages"]] == ["m2", "m1", "m0"]
    assert "next" not in rest["pagingMetadata"]["cursors"]


def test_list_messages_default_page_and_visibility(wix: httpx2.Client) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "vis@example.com"))
    for i in range(32):
        wix.post("/inbox/v2/messages", json=text_message(conversation_id, f"b{i}"))
    public = text_message(conversation_id, "public", visibility="BUSINESS_AND_PARTICIPANT")
    wix.post("/inbox/v2/messages", json=public)
    everything = wix.get(f"/inbox/v2/messages?conversationId={conversation_id}&visibility=BUSINESS").json()
    assert len(everything["messages"]) == 30
    participant_view = wix.get("/inbox/v2/messages", params={"conversationId": conversation_id}).json()
    assert [m["content"]["basic"]["items"][0]["text"] for m in participant_view["messages"]] == ["public"]


def test_list_messages_errors(wix: httpx2.Client) -> None:
    assert violations(wix.get("/inbox/v2/messages")) == ["conversationId"]
    assert violations(wix.get("/inbox/v2/messages", params={".r": "%%%not-base64"})) == [".r"]
    missing = wix.get("/inbox/v2/messages", params={"conversationId": MISSING, "visibility": "BUSINESS"})
    assert application_error(missing)["code"] == "CONVERSATION_NOT_FOUND"
    conversation_id = open_conversation(wix, create_contact(wix, "lerr@example.com"))
    too_many = wix.get("/inbox/v2/messages", params={"conversationId": conversation_id, "paging.limit": 101})
    assert violations(too_many) == ["paging.limit"]
    bad_cursor = wix.get("/inbox/v2/messages", params={"conversationId": conversation_id, "paging.cursor": "zzz"})
    assert violations(bad_cursor) == ["paging.cursor"]
