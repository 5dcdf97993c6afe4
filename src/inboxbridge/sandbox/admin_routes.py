"""The sandbox's own endpoints under ``/_sandbox``: seed, reset, inspect, faults, limits, merges, installs; each
behind :func:`~.guard.guarded`, which keeps web pages from calling them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .config import SiteConfig
from .guard import guarded
from .limits import FaultSettings
from .runtime import Sandbox
from .state import new_guid
from .webhooks import APP_INSTALLED, APP_REMOVED, CONVERSATIONS_MERGED, conversations_merged_payload
from .wix_routes import conversation_doc

__all__ = ["admin_routes", "find_overlaps"]

SEND_PATH = "/inbox/v2/messages"


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return await request.json()
    except ValueError:
        return None


async def health(request: Request) -> Response:
    """GET /_sandbox/health."""
    return JSONResponse({"ok": True})


async def reset(request: Request) -> Response:
    """POST /_sandbox/reset."""
    _sandbox(request).reset()
    return JSONResponse({"ok": True})


async def seed(request: Request) -> Response:
    """POST /_sandbox/seed: add sites (with API keys) and contacts."""
    sandbox = _sandbox(request)
    body = await _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("sites", []), list):
        return _error(400, 'body must be {"sites": [...]}')
    try:
        sites = [SiteConfig.model_validate(s) for s in body.get("sites", [])]
    except ValidationError as exc:
        return _error(400, f"invalid site: {exc}")
    created: list[dict[str, Any]] = []
    for site in sites:
        known = sandbox.state.site(site.site_id)
        name = site.name if "name" in site.model_fields_set or known is None else known["name"]
        sandbox.state.put_site(site.site_id, name, site.api_keys)
        try:
            created.extend(sandbox.seed_contacts(site.site_id, site.contacts))
        except ValueError as exc:
            return _error(400, str(exc))
    return JSONResponse({"contacts": created})


def _request_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "method": row["method"],
        "path": row["path"],
        "query": row["query"],
        "siteId": row["site_id"],
        "status": row["status"],
        "startedAt": row["started_at"],
        "endedAt": row["ended_at"],
        "wixRequestId": row["wix_request_id"],
        "conversationId": row["conversation_id"],
        "authKind": row["auth_kind"],
        "tokenSubject": row["token_subject"],
    }


async def list_requests(request: Request) -> Response:
    """GET /_sandbox/requests?siteId=&pathPrefix=&since=."""
    params = request.query_params
    since = params.get("since")
    if since is not None and not since.lstrip("-").isdigit():
        return _error(400, "since must be a request sequence number")
    rows = _sandbox(request).state.requests(
        site_id=params.get("siteId") or None,
        path_prefix=params.get("pathPrefix") or None,
        since=int(since) if since is not None else None,
    )
    return JSONResponse({"requests": [_request_row(r) for r in rows]})


async def clear_requests(request: Request) -> Response:
    """DELETE /_sandbox/requests."""
    _sandbox(request).state.clear_requests()
    return JSONResponse({"ok": True})


def find_overlaps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs of Send Message requests into one conversation whose [start, end] intervals overlap."""
    by_conversation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["method"] == "POST" and row["path"] == SEND_PATH and row["conversation_id"]:
            by_conversation[row["conversation_id"]].append(row)
    overlaps: list[dict[str, Any]] = []
    for conversation_id, sends in by_conversation.items():
        for i, first in enumerate(sends):
            for second in sends[i + 1 :]:
                if first["started_at"] < second["ended_at"] and second["started_at"] < first["ended_at"]:
                    overlaps.append({"conversationId": conversation_id, "first": first["seq"], "second": second["seq"]})
    return overlaps


async def overlaps(request: Request) -> Response:
    """GET /_sandbox/overlaps."""
    return JSONResponse({"overlaps": find_overlaps(_sandbox(request).state.requests(path_prefix=SEND_PATH))})


async def sites(request: Request) -> Response:
    """GET /_sandbox/sites: every site and the apps installed on it."""
    sandbox = _sandbox(request)
    out = []
    for site in sandbox.state.sites():
        instances = sandbox.state.instances_on_site(site["site_id"])
        out.append(
            {
                "siteId": site["site_id"],
                "name": site["name"],
                "ownerId": site["owner_id"],
                "instances": [{"instanceId": i["instance_id"], "appId": i["app_id"]} for i in instances],
            }
        )
    return JSONResponse({"sites": out})


def _site_of(request: Request) -> tuple[Sandbox, str, JSONResponse | None]:
    """The sandbox and the path's site id, with the 404 to answer when the site is unknown."""
    sandbox = _sandbox(request)
    site_id = request.path_params["site_id"]
    unknown = _error(404, f"unknown site {site_id}") if sandbox.state.site(site_id) is None else None
    return sandbox, site_id, unknown


async def site_contacts(request: Request) -> Response:
    """GET /_sandbox/sites/{siteId}/contacts."""
    sandbox, site_id, unknown = _site_of(request)
    if unknown is not None:
        return unknown
    return JSONResponse({"contacts": sandbox.state.contacts(site_id)})


async def site_conversations(request: Request) -> Response:
    """GET /_sandbox/sites/{siteId}/conversations: live conversations with every message, oldest first."""
    sandbox, site_id, unknown = _site_of(request)
    if unknown is not None:
        return unknown
    out = [
        {
            "id": c.id,
            "participant": c.doc["participant"],
            "mergedFrom": c.merged_from,
            "messages": sandbox.state.messages(c.id, descending=False),
        }
        for c in sandbox.state.conversations(site_id)
    ]
    return JSONResponse({"conversations": out})


async def site_message_count(request: Request) -> Response:
    """GET /_sandbox/sites/{siteId}/message-count: how many messages the site holds, cheap to poll."""
    sandbox, site_id, unknown = _site_of(request)
    if unknown is not None:
        return unknown
    return JSONResponse({"messages": sandbox.state.message_count(site_id)})


async def put_faults(request: Request) -> Response:
    """PUT /_sandbox/faults."""
    body = await _body(request)
    try:
        settings = FaultSettings.model_validate(body)
    except ValidationError as exc:
        return _error(400, f"invalid faults: {exc}")
    _sandbox(request).faults.configure(settings)
    return JSONResponse({"faults": settings.model_dump(mode="json", by_alias=True)})


async def get_faults(request: Request) -> Response:
    """GET /_sandbox/faults: the faults in force (null when off)."""
    settings = _sandbox(request).faults.settings
    return JSONResponse({"faults": settings.model_dump(mode="json", by_alias=True) if settings else None})


async def delete_faults(request: Request) -> Response:
    """DELETE /_sandbox/faults."""
    _sandbox(request).faults.clear()
    return JSONResponse({"ok": True})


async def put_rate_limit(request: Request) -> Response:
    """PUT /_sandbox/rate-limit: requests per minute for one site, or all sites."""
    body = await _body(request)
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    per_minute = body.get("requestsPerMinute")
    site_id = body.get("siteId")
    if not isinstance(per_minute, int) or isinstance(per_minute, bool) or per_minute < 1:
        return _error(400, "requestsPerMinute must be a positive integer")
    if site_id is not None and not isinstance(site_id, str):
        return _error(400, "siteId must be a string or null")
    _sandbox(request).limiter.configure(per_minute, site_id)
    return JSONResponse({"requestsPerMinute": per_minute, "siteId": site_id})


async def become_member(request: Request) -> Response:
    """POST /_sandbox/contacts/{contactId}/become-member: Wix's conversation merge, with its event."""
    sandbox = _sandbox(request)
    contact_id = request.path_params["contact_id"]
    found = sandbox.state.contact(contact_id)
    if found is None:
        return _error(404, f"unknown contact {contact_id}")
    site_id, contact, member = found
    if member:
        return _error(409, f"contact {contact_id} is already member {member}")
    member_id = new_guid()
    doc = conversation_doc(sandbox, site_id, {"memberId": member_id, "contactId": contact_id}, contact)
    old_ids, conversation = sandbox.state.make_member(contact_id, member_id, doc)
    events = []
    if conversation is not None:
        payload = conversations_merged_payload(old_ids, conversation.id)
        identity = {"identityType": "MEMBER", "memberId": member_id}
        for instance in sandbox.state.instances_on_site(site_id):
            events.append(
                await sandbox.events.send(
                    instance["app_id"], instance["instance_id"], CONVERSATIONS_MERGED, payload, identity
                )
            )
    return JSONResponse(
        {
            "memberId": member_id,
            "contactId": contact_id,
            "conversationId": conversation.id if conversation else None,
            "mergedFrom": old_ids,
            "events": events,
        }
    )


async def install_app(request: Request) -> Response:
    """POST /_sandbox/apps/{appId}/instances: install the app on a site (App Instance Installed)."""
    sandbox = _sandbox(request)
    app_id = request.path_params["app_id"]
    if app_id not in sandbox.apps:
        return _error(404, f"unknown app {app_id}")
    body = await _body(request)
    site_id = body.get("siteId") if isinstance(body, dict) else None
    if not isinstance(site_id, str):
        return _error(400, "siteId is required")
    site = sandbox.state.site(site_id)
    if site is None:
        return _error(404, f"unknown site {site_id}")
    instance_id = body.get("instanceId") or new_guid()
    if not isinstance(instance_id, str):
        return _error(400, "instanceId must be a string")
    sandbox.state.put_instance(instance_id, app_id, site_id)
    event = await sandbox.events.send(
        app_id,
        instance_id,
        APP_INSTALLED,
        {"appId": app_id, "originInstanceId": ""},
        {"identityType": "WIX_USER", "wixUserId": site["owner_id"]},
    )
    return JSONResponse({"appId": app_id, "siteId": site_id, "instanceId": instance_id, "events": [event]})


async def remove_app(request: Request) -> Response:
    """DELETE /_sandbox/apps/{appId}/instances/{instanceId}: uninstall (App Instance Removed); tokens die."""
    sandbox = _sandbox(request)
    app_id = request.path_params["app_id"]
    instance_id = request.path_params["instance_id"]
    instance = sandbox.state.instance(instance_id)
    if instance is None or instance["app_id"] != app_id:
        return _error(404, f"app {app_id} has no instance {instance_id}")
    sandbox.state.remove_instance(instance_id)
    site = sandbox.state.site(instance["site_id"])
    event = await sandbox.events.send(
        app_id,
        instance_id,
        APP_REMOVED,
        {"appId": app_id},
        {"identityType": "WIX_USER", "wixUserId": site["owner_id"] if site else ""},
    )
    return JSONResponse({"appId": app_id, "siteId": instance["site_id"], "instanceId": instance_id, "events": [event]})


async def public_key(request: Request) -> Response:
    """GET /_sandbox/apps/{appId}/public-key (``?format=pem`` for the bare PEM)."""
    sandbox = _sandbox(request)
    app_id = request.path_params["app_id"]
    keys = sandbox.keys.get(app_id)
    if keys is None:
        return _error(404, f"unknown app {app_id}")
    if request.query_params.get("format") == "pem":
        return PlainTextResponse(keys.public_pem, media_type="application/x-pem-file")
    return JSONResponse({"appId": app_id, "publicKeyPem": keys.public_pem})


async def events(request: Request) -> Response:
    """GET /_sandbox/events: every app webhook the sandbox sent, decoded, with its JWT and delivery status."""
    rows = _sandbox(request).state.events()
    return JSONResponse(
        {
            "events": [
                {
                    "seq": r["seq"],
                    "appId": r["app_id"],
                    "instanceId": r["instance_id"],
                    "eventType": r["event_type"],
                    "url": r["url"],
                    "status": r["status"],
                    "error": r["error"],
                    "sentAt": r["sent_at"],
                    "payload": r["payload"],
                    "jwt": r["jwt"],
                }
                for r in rows
            ]
        }
    )


def admin_routes() -> list[Route]:
    """Every ``/_sandbox`` route."""
    p = "/_sandbox"
    return [
        Route(f"{p}/health", guarded(health), methods=["GET"]),
        Route(f"{p}/reset", guarded(reset), methods=["POST"]),
        Route(f"{p}/seed", guarded(seed), methods=["POST"]),
        Route(f"{p}/requests", guarded(list_requests), methods=["GET"]),
        Route(f"{p}/requests", guarded(clear_requests), methods=["DELETE"]),
        Route(f"{p}/overlaps", guarded(overlaps), methods=["GET"]),
        Route(f"{p}/sites", guarded(sites), methods=["GET"]),
        Route(f"{p}/sites/{{site_id}}/contacts", guarded(site_contacts), methods=["GET"]),
        Route(f"{p}/sites/{{site_id}}/conversations", guarded(site_conversations), methods=["GET"]),
        Route(f"{p}/sites/{{site_id}}/message-count", guarded(site_message_count), methods=["GET"]),
        Route(f"{p}/faults", guarded(put_faults), methods=["PUT"]),
        Route(f"{p}/faults", guarded(get_faults), methods=["GET"]),
        Route(f"{p}/faults", guarded(delete_faults), methods=["DELETE"]),
        Route(f"{p}/rate-limit", guarded(put_rate_limit), methods=["PUT"]),
        Route(f"{p}/contacts/{{contact_id}}/become-member", guarded(become_member), methods=["POST"]),
        Route(f"{p}/apps/{{app_id}}/instances", guarded(install_app), methods=["POST"]),
        Route(f"{p}/apps/{{app_id}}/instances/{{instance_id}}", guarded(remove_app), methods=["DELETE"]),
        Route(f"{p}/apps/{{app_id}}/public-key", guarded(public_key), methods=["GET"]),
        Route(f"{p}/events", guarded(events), methods=["GET"]),
    ]
