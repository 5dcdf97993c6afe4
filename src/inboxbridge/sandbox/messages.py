"""Inbox v2 messages: the rules Wix applies to a Send Message request, and the stored message it produces."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from .errors import FieldViolation, app_error, validation_error
from .state import now_rfc3339

__all__ = [
    "DIRECTIONS",
    "GUID",
    "VISIBILITIES",
    "is_guid",
    "new_message_id",
    "stored_message",
    "validate_send",
]

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DIRECTIONS = ("BUSINESS_TO_PARTICIPANT", "PARTICIPANT_TO_BUSINESS")
VISIBILITIES = ("BUSINESS_AND_PARTICIPANT", "BUSINESS")
SEND_AS = ("CALLER", "PARTICIPANT", "BUSINESS_USER")
_PAYLOADS = ("basic", "minimal", "form", "template", "system")
_MAX_TEXT = 16384


def is_guid(value: Any) -> bool:
    """Whether a value is a GUID string as Wix's ``@format GUID`` demands."""
    return isinstance(value, str) and bool(GUID.match(value))


def new_message_id() -> str:
    """A message id in Wix's form: a short numeric string (Wix caps message ids at 20 characters)."""
    return f"{int(time.time() * 1000):013d}{secrets.randbelow(10**6):06d}"


class _Checker:
    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def fail(self, field: str, description: str, rule: str) -> None:
        self.violations.append(FieldViolation(field, description, rule))

    def text(
        self,
        obj: dict[str, Any],
        key: str,
        where: str,
        *,
        required: bool,
        min_len: int = 1,
        max_len: int = _MAX_TEXT,
    ) -> None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(f"{where}.{key}", "is required", "REQUIRED_FIELD")
            return
        if not isinstance(value, str):
            self.fail(f"{where}.{key}", "must be a string", "TYPE")
        elif len(value) < min_len:
            self.fail(f"{where}.{key}", f"must be at least {min_len} characters", "MIN_LENGTH")
        elif len(value) > max_len:
            self.fail(f"{where}.{key}", f"must be at most {max_len} characters", "MAX_LENGTH")

    def url(self, obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> None:
        self.text(obj, key, where, required=required, max_len=2000)
        value = obj.get(key)
        if isinstance(value, str) and value and not re.match(r"^https?://[^\s/$.?#][^\s]*$", value):
            self.fail(f"{where}.{key}", "must be a web URL", "FORMAT")

    def obj(self, parent: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
        value = parent.get(key)
        if value is not None and not isinstance(value, dict):
            self.fail(f"{where}.{key}", "must be an object", "TYPE")
            return None
        return value

    def enum(self, obj: dict[str, Any], key: str, where: str, allowed: tuple[str, ...], *, required: bool) -> None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(f"{where}.{key}", "is required", "REQUIRED_FIELD")
        elif value not in allowed:
            self.fail(f"{where}.{key}", f"must be one of {', '.join(allowed)}", "INVALID_ENUM_VALUE")


def _media(check: _Checker, item: dict[str, Any], where: str) -> None:
    check.text(item, "url", where, required=True, max_len=2000)
    check.text(item, "filename", where, required=False, max_len=255)
    check.text(item, "id", where, required=False, max_len=2000)
    check.text(item, "mimeType", where, required=False, max_len=100)
    for dim in ("width", "height"):
        if dim in item and not isinstance(item[dim], int):
            check.fail(f"{where}.{dim}", "must be an integer", "TYPE")


def _basic(check: _Checker, basic: dict[str, Any], where: str) -> None:
    items = basic.get("items")
    if not isinstance(items, list) or not items:
        check.fail(f"{where}.items", "must have at least 1 item", "MIN_SIZE")
        return
    for index, item in enumerate(items):
        at = f"{where}.items[{index}]"
        if not isinstance(item, dict):
            check.fail(at, "must be an object", "TYPE")
            continue
        kinds = [k for k in ("text", "image", "file") if item.get(k) is not None]
        if len(kinds) != 1:
            check.fail(at, "must have exactly one of text, image, file", "ONE_OF")
            continue
        if kinds[0] == "text":
            check.text(item, "text", at, required=True)
        else:
            media = check.obj(item, kinds[0], at)
            if media is not None:
                _media(check, media, f"{at}.{kinds[0]}")


def _form(check: _Checker, form: dict[str, Any], where: str) -> None:
    check.text(form, "title", where, required=False, max_len=256)
    check.text(form, "description", where, required=False)
    fields = form.get("fields")
    if not isinstance(fields, list) or not 1 <= len(fields) <= 15:
        check.fail(f"{where}.fields", "must have 1 to 15 fields", "MIN_SIZE" if not fields else "MAX_SIZE")
    else:
        for index, field in enumerate(fields):
            at = f"{where}.fields[{index}]"
            if not isinstance(field, dict):
                check.fail(at, "must be an object", "TYPE")
                continue
            check.text(field, "name", at, required=True, max_len=8192)
            check.text(field, "value", at, required=True, max_len=8192)
    media = form.get("media")
    if media is not None and (not isinstance(media, list) or len(media) > 15):
        check.fail(f"{where}.media", "must be a list of at most 15 items", "MAX_SIZE")
    elif media:
        for index, item in enumerate(media):
            at = f"{where}.media[{index}]"
            kinds = [k for k in ("image", "file") if isinstance(item, dict) and item.get(k) is not None]
            if len(kinds) != 1:
                check.fail(at, "must have exactly one of image, file", "ONE_OF")
                continue
            found = check.obj(item, kinds[0], at)
            if found is not None:
                _media(check, found, f"{at}.{kinds[0]}")


def _template(check: _Checker, template: dict[str, Any], where: str) -> None:
    buttons = template.get("buttons", [])
    if not isinstance(buttons, list) or len(buttons) > 10:
        check.fail(f"{where}.buttons", "must be a list of at most 10 buttons", "MAX_SIZE")
        return
    for index, button in enumerate(buttons):
        at = f"{where}.buttons[{index}]"
        if not isinstance(button, dict):
            check.fail(at, "must be an object", "TYPE")
            continue
        check.text(button, "label", at, required=True)
        check.url(button, "launchUrl", at)
    lines = template.get("textLines", [])
    if not isinstance(lines, list) or len(lines) > 10:
        check.fail(f"{where}.textLines", "must be a list of at most 10 lines", "MAX_SIZE")
    check.url(template, "imageUrl", where)


def _content(check: _Checker, content: dict[str, Any]) -> None:
    where = "message.content"
    present = [k for k in _PAYLOADS if content.get(k) is not None]
    if len(present) != 1:
        check.fail(where, "must have exactly one of basic, minimal, form, template", "ONE_OF")
        return
    kind = present[0]
    if kind == "system":
        check.fail(f"{where}.system", "system messages can only be sent by Wix", "FORBIDDEN_FIELD")
        return
    check.text(content, "previewText", where, required=False, max_len=256)
    check.text(content, "title", where, required=False, max_len=_MAX_TEXT)
    payload = check.obj(content, kind, where)
    if payload is None:
        return
    at = f"{where}.{kind}"
    if kind == "basic":
        _basic(check, payload, at)
    elif kind == "minimal":
        check.text(payload, "text", at, required=True)
        check.url(payload, "iconUrl", at)
        check.url(payload, "url", at)
    elif kind == "form":
        _form(check, payload, at)
    else:
        _template(check, payload, at)


def _badges(check: _Checker, message: dict[str, Any]) -> None:
    badges = message.get("badges")
    if badges is None:
        return
    if not isinstance(badges, list):
        check.fail("message.badges", "must be a list", "TYPE")
        return
    if len(badges) > 1:
        check.fail("message.badges", "must have at most 1 badge", "MAX_SIZE")
        return
    for index, badge in enumerate(badges):
        at = f"message.badges[{index}]"
        if not isinstance(badge, dict):
            check.fail(at, "must be an object", "TYPE")
            continue
        check.text(badge, "text", at, required=False)
        check.url(badge, "iconUrl", at)
        check.enum(badge, "badgeVisibility", at, ("BUSINESS_AND_PARTICIPANT", "BUSINESS"), required=False)


def validate_send(body: Any) -> tuple[str, dict[str, Any], str, bool]:
    """Check a Send Message body; returns (conversationId, message, sendAs, silent) or raises Wix's 400."""
    check = _Checker()
    if not isinstance(body, dict):
        raise validation_error([FieldViolation("", "request body must be a JSON object", "TYPE")])
    conversation_id = body.get("conversationId")
    if conversation_id is None:
        check.fail("conversationId", "is required", "REQUIRED_FIELD")
    elif not is_guid(conversation_id):
        check.fail("conversationId", "must be a GUID", "FORMAT")
    message = check.obj(body, "message", "")
    if message is None and "message" not in body:
        check.fail("message", "is required", "REQUIRED_FIELD")
    check.enum(body, "sendAs", "", SEND_AS, required=False)
    for flag in ("sendNotifications", "silent"):
        if flag in body and not isinstance(body[flag], bool):
            check.fail(flag, "must be a boolean", "TYPE")
    if message is not None:
        check.enum(message, "direction", "message", DIRECTIONS, required=True)
        check.enum(message, "visibility", "message", VISIBILITIES, required=True)
        content = check.obj(message, "content", "message")
        if content is None and message.get("content") is None:
            check.fail("message.content", "is required", "REQUIRED_FIELD")
        elif content is not None:
            _content(check, content)
        _badges(check, message)
        if "silent" in message and not isinstance(message["silent"], bool):
            check.fail("message.silent", "must be a boolean", "TYPE")
    check.violations = [FieldViolation(v.field.lstrip("."), v.description, v.violated_rule) for v in check.violations]
    if check.violations:
        raise validation_error(check.violations)
    assert message is not None
    assert isinstance(conversation_id, str)
    _media_urls(message["content"])
    silent = bool(message.get("silent", False) or body.get("silent", False))
    return conversation_id, message, str(body.get("sendAs") or "CALLER"), silent


def _media_urls(content: dict[str, Any]) -> None:
    """Wix fetches images and files itself: a URL that is not a web URL is INVALID_MEDIA_URL."""
    items = [*(content.get("basic") or {}).get("items", []), *(content.get("form") or {}).get("media", [])]
    for item in items:
        for kind in ("image", "file"):
            url = (item.get(kind) or {}).get("url")
            if isinstance(url, str) and not re.match(r"^https?://[^\s/$.?#][^\s]*$", url):
                raise app_error(400, "INVALID_MEDIA_URL", f"media url {url!r} is not a web URL Wix can fetch")


def stored_message(
    message: dict[str, Any], *, message_id: str, sender: dict[str, Any], app_id: str | None, silent: bool
) -> dict[str, Any]:
    """The message as Wix keeps it: the writable fields plus id, sender and createdDate (sequence later)."""
    writable = ("content", "badges", "visibility", "direction", "targetChannels")
    doc: dict[str, Any] = {"id": message_id}
    doc.update({k: message[k] for k in writable if message.get(k) is not None})
    doc["content"] = _rehosted(doc["content"])
    doc["sender"] = sender
    if app_id:
        doc["appId"] = app_id
    doc["silent"] = silent
    doc["createdDate"] = now_rfc3339()
    return doc


def _rehosted(content: dict[str, Any]) -> dict[str, Any]:
    """Wix fetches a message's images and files and keeps its own copies: each item gets a media id and a
    ``static.wixstatic.com`` URL with an expiring token, in place of the URL it was sent with."""
    basic = content.get("basic")
    if not isinstance(basic, dict) or not isinstance(basic.get("items"), list):
        return content
    items: list[Any] = []
    for item in basic["items"]:
        kind = next((k for k in ("image", "file") if isinstance(item, dict) and isinstance(item.get(k), dict)), None)
        if kind is None:
            items.append(item)
            continue
        media_id = f"{secrets.token_hex(6)}_{secrets.token_hex(16)}~mv2"
        media = {**item[kind], "id": media_id}
        media["url"] = f"https://static.wixstatic.com/media/{media_id}?token={secrets.token_urlsafe(12)}"
        items.append({**item, kind: media})
    return {**content, "basic": {**basic, "items": items}}
