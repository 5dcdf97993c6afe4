"""Contacts v4 as the sandbox serves them: create, duplicates, get, and the API Query Language."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from .support import application_error, create_contact, violations


def query(wix: httpx2.Client, **q: Any) -> dict[str, Any]:
    answer = wix.post("/contacts/v4/contacts/query", json={"query": q})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def ids(result: dict[str, Any]) -> list[str]:
    return [c["id"] for c in result["contacts"]]


def test_create_returns_the_full_contact_with_wix_request_id(wix: httpx2.Client) -> None:
    answer = wix.post(
        "/contacts/v4/contacts",
        json={
            "info": {
                "name": {"first": "Ada", "last": "Lovelace"},
                "emails": {"items": [{"tag": "MAIN", "email": "ada@example.com"}]},
                "phones": {"items": [{"tag": "MOBILE", "phone": "+15551234567"}]},
            },
            "allowDuplicates": False,
        },
    )
    assert answer.status_code == 200
    assert answer.headers["x-wix-request-id"]
    contact = answer.json()["contact"]
    assert len(contact["id"]) == 36
    assert contact["revision"] == 1
    assert contact["primaryInfo"] == {"email": "ada@example.com", "phone": "+15551234567"}
    assert contact["info"]["name"] == {"first": "Ada", "last": "Lovelace"}
    assert contact["primaryEmail"]["email"] == "ada@example.com"
    assert contact["createdDate"].endswith("Z")


def test_duplicate_email_is_refused_with_the_existing_id_unless_allowed(wix: httpx2.Client) -> None:
    first = create_contact(wix, "dup@example.com")
    body = {"info": {"emails": {"items": [{"tag": "MAIN", "email": "DUP@Example.com"}]}}}
    refused = wix.post("/contacts/v4/contacts", json=body)
    assert refused.status_code == 409
    error = application_error(refused)
    assert error["code"] == "DUPLICATE_CONTACT_EXISTS"
    assert error["data"] == {"duplicateContactId": first}
    allowed = wix.post("/contacts/v4/contacts", json={**body, "allowDuplicates": True})
    assert allowed.status_code == 200
    found = query(wix, filter={"info.emails.email": {"$eq": "dup@example.com"}}, fields=["id"])
    assert sorted(ids(found)) == sorted([first, allowed.json()["contact"]["id"]])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "info"),
        (
            {"info": {"emails": {"items": [{"tag": "MAIN", "email": "not-an-email"}]}}},
            "info.emails.items[0].email",
        ),
        ({"info": {"emails": {"items": [{"tag": "PIGEON", "email": "a@b.co"}]}}}, "info.emails.items[0].tag"),
    ],
)
def test_create_validation_errors(wix: httpx2.Client, body: dict[str, Any], expected: str) -> None:
    assert expected in violations(wix.post("/contacts/v4/contacts", json=body))


def test_create_without_any_identity_is_insufficient_data(wix: httpx2.Client) -> None:
    answer = wix.post("/contacts/v4/contacts", json={"info": {"company": "Acme"}})
    assert answer.status_code == 400
    assert application_error(answer)["code"] == "INSUFFICIENT_CONTACT_DATA"


def test_get_contact_in_the_sdk_form_and_not_found(wix: httpx2.Client) -> None:
    contact_id = create_contact(wix, "get@example.com")
    answer = wix.get(f"/contacts/v4/contacts/{contact_id}?id={contact_id}")
    assert answer.status_code == 200
    assert answer.json()["responseType"] == "REGULAR"
    assert answer.json()["contact"]["id"] == contact_id
    missing = wix.get("/contacts/v4/contacts/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert application_error(missing)["code"] == "CONTACT_NOT_FOUND"
    assert "contactId" in violations(wix.get("/contacts/v4/contacts/not-a-guid"))


def test_sdk_query_forms_hassome_and_bare_value(wix: httpx2.Client) -> None:
    contact_id = create_contact(wix, "X@example.com")
    create_contact(wix, "other@example.com")
    has_some = wix.post(
        "/contacts/v4/contacts/query",
        json={
            "query": {
                "filter": {"info.emails.email": {"$hasSome": ["x@example.com"]}},
                "paging": {"offset": 0, "limit": 50},
            }
        },
    )
    assert ids(has_some.json()) == [contact_id]
    bare = wix.post(
        "/contacts/v4/contacts/query",
        json={"query": {"filter": {"primaryInfo.email": "x@EXAMPLE.com"}, "paging": {"limit": 5, "offset": 0}}},
    )
    assert ids(bare.json()) == [contact_id]
    assert bare.json()["pagingMetadata"] == {"count": 1, "offset": 0, "total": 1, "tooManyToCount": False}


def test_any_email_versus_primary_email(wix: httpx2.Client) -> None:
    body = {
        "info": {
            "emails": {
                "items": [
                    {"tag": "MAIN", "email": "main@example.com"},
                    {"tag": "WORK", "email": "work@example.com"},
                ]
            }
        }
    }
    contact_id = wix.post("/contacts/v4/contacts", json=body).json()["contact"]["id"]
    assert ids(query(wix, filter={"info.emails.email": "work@example.com"})) == [contact_id]
    assert ids(query(wix, filter={"primaryInfo.email": "work@example.com"})) == []
    assert ids(query(wix, filter={"info.emails.email": {"$hasAll": ["main@example.com", "work@example.com"]}})) == [
        contact_id
    ]


def test_phones_are_kept_as_typed_and_matched_exactly_or_on_the_e164_form_wix_derives(wix: httpx2.Client) -> None:
    typed = {"tag": "MOBILE", "phone": "(415) 555-0142", "countryCode": "US"}
    body = {"info": {"phones": {"items": [typed, {"tag": "HOME", "phone": "555-0100"}]}}}
    contact = wix.post("/contacts/v4/contacts", json=body).json()["contact"]
    national, unknown_country = contact["info"]["phones"]["items"]
    assert (national["phone"], national["countryCode"], national["e164Phone"]) == (
        "(415) 555-0142",
        "US",
        "+14155550142",
    )
    assert "e164Phone" not in unknown_country  # no country code and no "+": Wix cannot derive one
    assert contact["primaryPhone"]["e164Phone"] == "+14155550142"
    contact_id = contact["id"]
    assert ids(query(wix, filter={"info.phones.e164Phone": {"$eq": "+14155550142"}})) == [contact_id]
    assert ids(query(wix, filter={"info.phones.phone": {"$eq": "(415) 555-0142"}})) == [contact_id]
    assert ids(query(wix, filter={"info.phones.phone": {"$eq": "+14155550142"}})) == []
    assert ids(query(wix, filter={"primaryInfo.phone": {"$in": ["(415) 555-0142"]}})) == [contact_id]
    refused = wix.post(
        "/contacts/v4/contacts", json={"info": {"phones": {"items": [{"phone": "1", "countryCode": "usa"}]}}}
    )
    assert refused.status_code == 400 and "countryCode" in refused.text


def test_operators_on_names_ids_and_dates(wix: httpx2.Client) -> None:
    ada = create_contact(wix, "ada@example.com", name={"first": "Ada", "last": "Lovelace"})
    alan = create_contact(wix, "alan@example.com", name={"first": "Alan", "last": "Turing"})
    grace = create_contact(wix, "grace@example.com", name={"first": "Grace"})
    assert sorted(ids(query(wix, filter={"info.name.first": {"$startsWith": "al"}}))) == [alan]
    assert sorted(ids(query(wix, filter={"info.name.last": {"$exists": False}}))) == [grace]
    assert sorted(ids(query(wix, filter={"id": {"$in": [ada, grace]}}))) == sorted([ada, grace])
    assert sorted(ids(query(wix, filter={"info.name.first": {"$ne": "Ada"}}))) == sorted([alan, grace])
    either = {"$or": [{"info.name.first": "Ada"}, {"info.name.last": "Turing"}]}
    assert sorted(ids(query(wix, filter=either))) == sorted([ada, alan])
    assert ids(query(wix, filter={"$and": [either, {"$not": {"info.name.first": "Ada"}}]})) == [alan]
    created = {c["id"]: c["createdDate"] for c in query(wix)["contacts"]}
    assert sorted(ids(query(wix, filter={"createdDate": {"$gte": "2000-01-01T00:00:00Z"}}))) == sorted(created)
    assert ids(query(wix, filter={"createdDate": {"$lt": "2000-01-01T00:00:00Z"}})) == []
    assert len(ids(query(wix, filter={"lastActivity.activityDate": {"$lte": created[grace]}}))) == 3
    assert len(ids(query(wix, filter={"updatedDate": {"$gt": {"$date": "2000-01-01T00:00:00.000Z"}}}))) == 3


def test_sort_paging_and_projection(wix: httpx2.Client) -> None:
    made = [create_contact(wix, f"p{i}@example.com", name={"first": f"N{i}"}) for i in range(5)]
    page = query(
        wix,
        sort=[{"fieldName": "info.name.first", "order": "ASC"}],
        paging={"limit": 2, "offset": 2},
        fields=["info.name"],
    )
    assert ids(page) == made[2:4]
    assert page["pagingMetadata"] == {"count": 2, "offset": 2, "total": 5, "tooManyToCount": False}
    assert page["contacts"][0] == {"id": made[2], "revision": 1, "info": {"name": {"first": "N2"}}}
    descending = query(wix, sort=[{"fieldName": "info.name.first", "order": "DESC"}], fields=["id"])
    assert ids(descending) == made[::-1]
    basic = query(wix, fieldsets=["BASIC"], paging={"limit": 1})["contacts"][0]
    assert set(basic) == {"id", "revision", "primaryInfo", "info"}


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ({"filter": {"info.emails.email": {"$regex": "x"}}}, "UNSUPPORTED_FILTER_OPERATOR"),
        ({"filter": {"info.favouriteColour": "blue"}}, "UNSUPPORTED_FILTER_FIELD_UNKNOWN"),
        ({"filter": {"id": {"$in": "not-a-list"}}}, "UNSUPPORTED_FILTER_VALUE"),
        ({"paging": {"limit": 1001}}, "ILLEGAL_LIMIT"),
        ({"sort": [{"fieldName": "info.emails", "order": "ASC"}]}, "UNSUPPORTED_SORT_FIELD"),
        ({"sort": [{"fieldName": "id"}, {"fieldName": "createdDate"}]}, "UNSUPPORTED_SORT_FIELD"),
    ],
)
def test_query_errors(wix: httpx2.Client, q: dict[str, Any], code: str) -> None:
    answer = wix.post("/contacts/v4/contacts/query", json={"query": q})
    assert answer.status_code == 400
    assert application_error(answer)["code"] == code


def test_malformed_json_and_wrong_content_type_are_400(wix: httpx2.Client) -> None:
    broken = wix.post(
        "/contacts/v4/contacts/query", content=b'{"query": ', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert "validationError" in broken.json()["details"]
    form = wix.post("/contacts/v4/contacts/query", content=b"query=1", headers={"Content-Type": "text/plain"})
    assert violations(form) == ["Content-Type"]


def test_unknown_path_is_a_json_404(wix: httpx2.Client) -> None:
    answer = wix.get("/contacts/v4/nothing/here/at/all")
    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"
    assert answer.headers["x-wix-request-id"]
