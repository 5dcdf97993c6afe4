"""Contacts v4 documents: building them from a create request, as Wix would store and return them."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from .errors import FieldViolation, app_error, validation_error
from .state import new_guid, now_rfc3339

__all__ = ["build_contact", "contact_e164_phones", "contact_emails", "contact_phones", "e164_of", "project"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL_TAGS = {"UNTAGGED", "MAIN", "HOME", "WORK"}
_PHONE_TAGS = {"UNTAGGED", "MAIN", "HOME", "MOBILE", "WORK", "FAX"}
_ALWAYS = ("id", "revision")
FIELDSETS: dict[str, tuple[str, ...]] = {
    "BASIC": ("primaryInfo", "info.name"),
    "COMMUNICATION_DETAILS": ("primaryInfo", "info.name", "info.emails", "info.phones", "info.addresses"),
    "EXTENDED": ("primaryInfo", "info.name", "info.extendedFields"),
}


_COUNTRY = re.compile(r"^[A-Z]{2}$")


def e164_of(phone: str, country_code: str | None) -> str | None:
    """What Wix derives as ``e164Phone`` from a phone as typed and its ``countryCode``: the number in E.164 when
    both make a valid number (a number typed with its ``+`` needs no country), else None."""
    try:
        parsed = phonenumbers.parse(phone, country_code)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def contact_emails(doc: dict[str, Any]) -> list[str]:
    """Every email address of a contact."""
    items = doc.get("info", {}).get("emails", {}).get("items", [])
    return [str(i["email"]) for i in items if i.get("email")]


def contact_phones(doc: dict[str, Any]) -> list[str]:
    """Every phone number of a contact, as typed."""
    items = doc.get("info", {}).get("phones", {}).get("items", [])
    return [str(i["phone"]) for i in items if i.get("phone")]


def contact_e164_phones(doc: dict[str, Any]) -> list[str]:
    """The E.164 forms Wix derived from a contact's phones (those whose phone and country code are valid)."""
    items = doc.get("info", {}).get("phones", {}).get("items", [])
    return [str(i["e164Phone"]) for i in items if i.get("e164Phone")]


def _items(
    info: dict[str, Any], group: str, key: str, tags: set[str], violations: list[FieldViolation]
) -> list[dict[str, Any]]:
    container = info.get(group)
    if container is None:
        return []
    raw = container.get("items") if isinstance(container, dict) else None
    if not isinstance(raw, list):
        violations.append(FieldViolation(f"info.{group}.items", "must be a list", "TYPE"))
        return []
    items: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        where = f"info.{group}.items[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key].strip():
            violations.append(FieldViolation(f"{where}.{key}", "is required", "REQUIRED_FIELD"))
            continue
        value = item[key].strip()
        tag = item.get("tag", "UNTAGGED")
        if tag not in tags:
            violations.append(FieldViolation(f"{where}.tag", f"must be one of {sorted(tags)}", "INVALID_ENUM_VALUE"))
        if key == "email" and not _EMAIL.match(value):
            violations.append(FieldViolation(f"{where}.email", "must be a valid email address", "FORMAT"))
        stored: dict[str, Any] = {"id": new_guid(), "tag": tag, key: value, "primary": index == 0}
        if key == "phone":
            country = item.get("countryCode")
            if country is not None and not (isinstance(country, str) and _COUNTRY.match(country)):
                violations.append(FieldViolation(f"{where}.countryCode", "must be an ISO-3166 alpha-2 code", "FORMAT"))
                country = None
            if country is not None:
                stored["countryCode"] = country
            e164 = e164_of(value, country)
            if e164 is not None:
                stored["e164Phone"] = e164
        items.append(stored)
    return items


def build_contact(body: Any, existing: list[dict[str, Any]], *, allow_duplicates: bool) -> dict[str, Any]:
    """A new contact document from a Create Contact body, or the error Wix would answer.

    ``existing`` is the site's contacts, used to refuse a second contact with the same email address.
    """
    info = body.get("info") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        raise validation_error([FieldViolation("info", "is required", "REQUIRED_FIELD")])
    violations: list[FieldViolation] = []
    emails = _items(info, "emails", "email", _EMAIL_TAGS, violations)
    phones = _items(info, "phones", "phone", _PHONE_TAGS, violations)
    name = info.get("name")
    if name is not None and not isinstance(name, dict):
        violations.append(FieldViolation("info.name", "must be an object", "TYPE"))
        name = None
    if violations:
        raise validation_error(violations)
    has_name = bool(name and any(isinstance(v, str) and v.strip() for v in name.values()))
    if not (emails or phones or has_name):
        raise app_error(
            400,
            "INSUFFICIENT_CONTACT_DATA",
            "a contact needs at least a name, an email address or a phone number",
        )
    if emails and not allow_duplicates:
        wanted = {e["email"].lower() for e in emails}
        for other in existing:
            if wanted & {e.lower() for e in contact_emails(other)}:
                raise app_error(
                    409,
                    "DUPLICATE_CONTACT_EXISTS",
                    "Cannot create contact: a contact with this email address already exists",
                    {"duplicateContactId": other["id"]},
                )
    now = now_rfc3339()
    stored_info: dict[str, Any] = {k: v for k, v in info.items() if k not in ("emails", "phones")}
    stored_info["emails"] = {"items": emails}
    stored_info["phones"] = {"items": phones}
    primary: dict[str, Any] = {}
    doc: dict[str, Any] = {
        "id": new_guid(),
        "revision": 1,
        "source": {"sourceType": "OTHER"},
        "createdDate": now,
        "updatedDate": now,
        "lastActivity": {"activityDate": now, "activityType": "CONTACT_CREATED"},
        "primaryInfo": primary,
        "info": stored_info,
    }
    if emails:
        primary["email"] = emails[0]["email"]
        doc["primaryEmail"] = {
            "email": emails[0]["email"],
            "subscriptionStatus": "NOT_SET",
            "deliverabilityStatus": "NOT_SET",
        }
    if phones:
        primary["phone"] = phones[0]["phone"]
        first = phones[0]
        doc["primaryPhone"] = {
            "phone": first["phone"],
            **{k: first[k] for k in ("countryCode", "e164Phone") if k in first},
            # Wix's default: NOT_SET for a valid E.164 number, NO_SUBSCRIPTION_STATUS otherwise.
            "subscriptionStatus": "NOT_SET" if "e164Phone" in first else "NO_SUBSCRIPTION_STATUS",
        }
    return doc


def _pick(doc: dict[str, Any], path: str, into: dict[str, Any]) -> None:
    parts = path.split(".")
    source: Any = doc
    for part in parts:
        if not isinstance(source, dict) or part not in source:
            return
        source = source[part]
    target = into
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = source


def project(doc: dict[str, Any], fields: list[str], fieldsets: list[str]) -> dict[str, Any]:
    """The part of a contact a query asked for; everything when nothing or the FULL fieldset was asked."""
    if (not fields and not fieldsets) or "FULL" in fieldsets:
        return doc
    paths = [*_ALWAYS, *fields]
    for fieldset in fieldsets:
        paths.extend(FIELDSETS.get(fieldset, ()))
    out: dict[str, Any] = {}
    for path in paths:
        _pick(doc, path, out)
    return out
