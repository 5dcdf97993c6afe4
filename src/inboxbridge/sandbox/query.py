"""Wix's API Query Language over contact documents: filter, sort and offset paging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .contacts import contact_e164_phones, contact_emails, contact_phones
from .errors import WixHTTPError, app_error

__all__ = ["check_filter", "matches", "sort_contacts"]

Getter = Callable[[dict[str, Any]], list[Any]]


def _at(*path: str) -> Getter:
    def get(doc: dict[str, Any]) -> list[Any]:
        value: Any = doc
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return []
            value = value[part]
        return [] if value is None else [value]

    return get


# kind decides how values compare: emails ignore case, dates compare as instants, the rest (phones too) exactly.
# A phone is matched as typed (``info.phones.phone``) or on the E.164 form Wix derived (``info.phones.e164Phone``,
# the documented filter for a number): "+1 (415) 555-0142" is not "+14155550142" as typed.
_FIELDS: dict[str, tuple[Getter, str]] = {
    "id": (_at("id"), "string"),
    "createdDate": (_at("createdDate"), "date"),
    "updatedDate": (_at("updatedDate"), "date"),
    "lastActivity.activityDate": (_at("lastActivity", "activityDate"), "date"),
    "info.emails.email": (contact_emails, "email"),
    "primaryInfo.email": (_at("primaryInfo", "email"), "email"),
    "info.phones.phone": (contact_phones, "string"),
    "info.phones.e164Phone": (contact_e164_phones, "string"),
    "primaryInfo.phone": (_at("primaryInfo", "phone"), "string"),
    "info.name.first": (_at("info", "name", "first"), "string"),
    "info.name.last": (_at("info", "name", "last"), "string"),
    "info.company": (_at("info", "company"), "string"),
    "info.jobTitle": (_at("info", "jobTitle"), "string"),
    "info.locale": (_at("info", "locale"), "string"),
}
_SORTABLE = {
    "id",
    "createdDate",
    "updatedDate",
    "lastActivity.activityDate",
    "primaryInfo.email",
    "info.name.first",
    "info.name.last",
    "info.company",
    "info.jobTitle",
}
_LIST_OPS = {"$in", "$hasSome", "$hasAll"}
_COMPARE = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _bad_value(field: str, reason: str) -> WixHTTPError:
    return app_error(400, "UNSUPPORTED_FILTER_VALUE", f"invalid filter value for {field}: {reason}")


def _norm(kind: str, field: str, value: Any) -> Any:
    if kind == "date":
        if isinstance(value, dict) and "$date" in value:
            value = value["$date"]
        if not isinstance(value, str):
            raise _bad_value(field, "expected an RFC 3339 date string")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _bad_value(field, f"{value!r} is not an RFC 3339 date") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise _bad_value(field, "expected a string")
    if kind == "email":
        return value.strip().lower()
    return value


def _condition(field: str, condition: Any, doc: dict[str, Any]) -> bool:
    if field not in _FIELDS:
        raise app_error(400, "UNSUPPORTED_FILTER_FIELD_UNKNOWN", f"filtering on field {field!r} is not supported")
    getter, kind = _FIELDS[field]
    values = [_norm(kind, field, v) for v in getter(doc)]
    if not isinstance(condition, dict) or not any(str(k).startswith("$") for k in condition):
        condition = {"$eq": condition}
    # every operator runs (no short-circuit) so a bad operand is reported even when another already failed
    results = [_operator(field, kind, op, operand, values) for op, operand in condition.items()]
    return all(results)


def _operator(field: str, kind: str, op: str, operand: Any, values: list[Any]) -> bool:
    if op == "$exists":
        if not isinstance(operand, bool):
            raise _bad_value(field, "$exists takes true or false")
        return bool(values) == operand
    if op in _LIST_OPS:
        if not isinstance(operand, list):
            raise _bad_value(field, f"{op} takes a list")
        wanted = [_norm(kind, field, v) for v in operand]
        if op == "$hasAll":
            return all(w in values for w in wanted)
        return any(v in wanted for v in values)
    if op == "$startsWith":
        if not isinstance(operand, str) or kind == "date":
            raise _bad_value(field, "$startsWith takes a string")
        prefix = _norm(kind, field, operand).lower()
        return any(str(v).lower().startswith(prefix) for v in values)
    if op in ("$eq", "$ne"):
        found = operand is not None and _norm(kind, field, operand) in values
        if operand is None:
            found = not values
        return found if op == "$eq" else not found
    if op in _COMPARE:
        bound = _norm(kind, field, operand)
        return any(_COMPARE[op](v, bound) for v in values)
    raise app_error(400, "UNSUPPORTED_FILTER_OPERATOR", f"operator {op!r} is not supported on {field}")


def check_filter(filter_: Any) -> None:
    """Raise Wix's 400 answer for a malformed filter, even when there is no contact to try it on."""
    if not isinstance(filter_, dict):
        raise app_error(400, "MALFORMED_FILTER", "filter must be an object")
    for key, value in filter_.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise app_error(400, "MALFORMED_FILTER", f"{key} takes a non-empty list of filters")
            for sub in value:
                check_filter(sub)
        elif key == "$not":
            check_filter(value)
        elif key.startswith("$"):
            raise app_error(400, "UNSUPPORTED_FILTER_OPERATOR", f"operator {key!r} is not supported here")
        else:
            _condition(key, value, {})


def matches(filter_: Any, doc: dict[str, Any]) -> bool:
    """Whether a contact passes a filter; raises Wix's 400 answer for a malformed or unsupported filter."""
    if not isinstance(filter_, dict):
        raise app_error(400, "MALFORMED_FILTER", "filter must be an object")
    for key, value in filter_.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise app_error(400, "MALFORMED_FILTER", f"{key} takes a non-empty list of filters")
            results = [matches(sub, doc) for sub in value]
            if not (all(results) if key == "$and" else any(results)):
                return False
        elif key == "$not":
            if matches(value, doc):
                return False
        elif key.startswith("$"):
            raise app_error(400, "UNSUPPORTED_FILTER_OPERATOR", f"operator {key!r} is not supported here")
        elif not _condition(key, value, doc):
            return False
    return True


def sort_contacts(contacts: list[dict[str, Any]], sort: Any) -> list[dict[str, Any]]:
    """Contacts in the asked order (newest first by default); contacts missing the field come last."""
    if sort is None or sort == []:
        sort = [{"fieldName": "createdDate", "order": "DESC"}]
    if not isinstance(sort, list) or len(sort) > 1 or not isinstance(sort[0], dict):
        raise app_error(400, "UNSUPPORTED_SORT_FIELD", "sort takes at most one {fieldName, order}")
    field = sort[0].get("fieldName")
    order = sort[0].get("order", "ASC")
    if field not in _SORTABLE:
        raise app_error(400, "UNSUPPORTED_SORT_FIELD", f"sorting by {field!r} is not supported")
    if order not in ("ASC", "DESC"):
        raise app_error(400, "UNSUPPORTED_SORT_FIELD", "order must be ASC or DESC")
    getter, kind = _FIELDS[field]
    indexed = list(enumerate(contacts))
    present = [(i, c, _norm(kind, field, getter(c)[0])) for i, c in indexed if getter(c)]
    missing = [c for _, c in indexed if not getter(c)]
    reverse = order == "DESC"
    present.sort(key=lambda t: (t[2], t[0]), reverse=reverse)
    return [c for _, c, _ in present] + missing
