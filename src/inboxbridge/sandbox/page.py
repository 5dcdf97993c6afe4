"""The page at ``/``: each site's conversations drawn roughly as the Wix Inbox shows them."""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from .runtime import Sandbox

__all__ = ["inbox_page"]

_CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  background: #f2f4f7; color: #20303c; }
header { background: #116dff; color: #fff; padding: 14px 24px; display: flex;
  align-items: baseline; gap: 16px; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
header span { opacity: .85; font-size: 12px; }
main { max-width: 980px; margin: 0 auto; padding: 20px; }
h2 { font-size: 16px; margin: 28px 0 10px; color: #162d3d; }
h2 small { color: #7a8794; font-weight: 400; font-size: 12px; margin-left: 8px; }
.empty { color: #7a8794; font-style: italic; padding: 8px 0; }
.conv { background: #fff; border-radius: 10px; box-shadow: 0 1px 3px rgba(22,45,61,.12); margin-bottom: 18px;
  overflow: hidden; }
.conv-head { padding: 10px 16px; border-bottom: 1px solid #e6ebf0; display: flex; gap: 12px;
  align-items: center; }
.avatar { width: 32px; height: 32px; border-radius: 50%; background: #d5e3fb; color: #116dff; display: flex;
  align-items: center; justify-content: center; font-weight: 700; }
.who { font-weight: 600; }
.ids { color: #7a8794; font-size: 11px; font-family: ui-monospace, Menlo, monospace; }
.thread { padding: 12px 16px; display: flex; flex-direction: column; gap: 6px; }
.row { display: flex; flex-direction: column; max-width: 72%; }
.row.in { align-self: flex-start; align-items: flex-start; }
.row.out { align-self: flex-end; align-items: flex-end; }
.bubble { padding: 8px 12px; border-radius: 16px; white-space: pre-wrap; word-wrap: break-word;
  margin: 2px 0; }
.in .bubble { background: #eef1f5; border-bottom-left-radius: 4px; }
.out .bubble { background: #116dff; color: #fff; border-bottom-right-radius: 4px; }
.private .bubble { outline: 2px dashed #f5a623; outline-offset: -2px; }
.bubble img { max-width: 260px; max-height: 200px; border-radius: 8px; display: block; }
.bubble a { color: inherit; }
.meta { font-size: 11px; color: #7a8794; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.badge { background: #fff4e0; color: #9a5b00; border-radius: 10px; padding: 0 8px; font-weight: 600;
  display: inline-flex; gap: 4px; align-items: center; }
.badge img, .activity img { width: 14px; height: 14px; }
.lock { background: #fdecc8; color: #8a5300; border-radius: 10px; padding: 0 8px; }
.activity { align-self: center; color: #52606d; font-size: 12px; background: #f7f8fa;
  border: 1px solid #e6ebf0;
  border-radius: 14px; padding: 4px 12px; display: flex; gap: 6px; align-items: center; }
.activity.private { border: 1px dashed #f5a623; }
.card { border: 1px solid #dfe5eb; border-radius: 10px; padding: 8px 12px; background: #fff; color: #20303c; }
.card table { border-collapse: collapse; }
.card td { padding: 2px 8px 2px 0; vertical-align: top; }
.card .title { font-weight: 600; }
.button { display: inline-block; border: 1px solid #116dff; color: #116dff; border-radius: 14px;
  padding: 1px 10px;
  margin: 4px 4px 0 0; font-size: 12px; }
"""


def _url(value: Any) -> str | None:
    """An http(s) URL, escaped for an attribute; anything else is not linked."""
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return escape(value, quote=True)
    return None


def _badges(message: dict[str, Any]) -> str:
    out = []
    for badge in message.get("badges") or []:
        icon = _url(badge.get("iconUrl"))
        img = f'<img src="{icon}" alt="">' if icon else ""
        out.append(f'<span class="badge">{img}{escape(str(badge.get("text", "")))}</span>')
    return "".join(out)


def _meta(message: dict[str, Any]) -> str:
    sender = message.get("sender") or {}
    who = ", ".join(f"{k}" for k in sender) or "unknown sender"
    parts = [
        _badges(message),
        '<span class="lock">&#128274; business only</span>' if message.get("visibility") == "BUSINESS" else "",
        f"<span>{escape(str(message.get('createdDate', '')))}</span>",
        f"<span>seq {escape(str(message.get('sequence', '')))}</span>",
        f"<span>by {escape(who)}</span>",
        "<span>silent</span>" if message.get("silent") else "",
    ]
    return '<div class="meta">' + "".join(p for p in parts if p) + "</div>"


def _basic_item(item: dict[str, Any]) -> str:
    if "text" in item:
        return f'<div class="bubble">{escape(str(item["text"]))}</div>'
    if "image" in item:
        image = item["image"] or {}
        src = _url(image.get("url"))
        alt = escape(str(image.get("filename") or "image"), quote=True)
        return f'<div class="bubble"><img src="{src}" alt="{alt}"></div>' if src else ""
    file = item.get("file") or {}
    href = _url(file.get("url"))
    name = escape(str(file.get("filename") or file.get("url") or "file"))
    link = f'<a href="{href}">{name}</a>' if href else name
    return f'<div class="bubble">&#128206; {link}</div>'


def _message(message: dict[str, Any]) -> str:
    content = message.get("content") or {}
    private = " private" if message.get("visibility") == "BUSINESS" else ""
    side = "out" if message.get("direction") == "BUSINESS_TO_PARTICIPANT" else "in"
    if "minimal" in content:
        minimal = content["minimal"] or {}
        icon = _url(minimal.get("iconUrl"))
        img = f'<img src="{icon}" alt="">' if icon else "&#9679;"
        text = escape(str(minimal.get("text", "")))
        href = _url(minimal.get("url"))
        text = f'<a href="{href}">{text}</a>' if href else text
        return f'<div class="activity{private}">{img}<span>{text}</span>{_meta(message)}</div>'
    if "basic" in content:
        body = "".join(_basic_item(i) for i in (content["basic"] or {}).get("items", []))
    elif "form" in content:
        form = content["form"] or {}
        rows = "".join(
            f"<tr><td><b>{escape(str(f.get('name', '')))}</b></td><td>{escape(str(f.get('value', '')))}</td></tr>"
            for f in form.get("fields", [])
        )
        title = escape(str(form.get("title") or "Form"))
        body = f'<div class="card"><div class="title">{title}</div><table>{rows}</table></div>'
    elif "template" in content:
        template = content["template"] or {}
        lines = "".join(f"<div>{escape(str(line))}</div>" for line in template.get("textLines", []))
        buttons = "".join(
            f'<span class="button">{escape(str(b.get("label", "")))}</span>' for b in template.get("buttons", [])
        )
        title = escape(str(template.get("title") or ""))
        body = f'<div class="card"><div class="title">{title}</div>{lines}{buttons}</div>'
    else:
        body = '<div class="bubble">(unsupported content)</div>'
    return f'<div class="row {side}{private}">{body}{_meta(message)}</div>'


def _conversation(conversation: Any, messages: list[dict[str, Any]]) -> str:
    doc = conversation.doc
    name = str((doc.get("participantDisplayData") or {}).get("name") or "Visitor")
    participant = ", ".join(f"{k} {v}" for k, v in doc.get("participant", {}).items())
    merged = f" &middot; merged from {escape(', '.join(conversation.merged_from))}" if conversation.merged_from else ""
    thread = "".join(_message(m) for m in messages) or '<div class="empty">No messages yet.</div>'
    return (
        '<section class="conv"><div class="conv-head">'
        f'<div class="avatar">{escape(name[:1].upper() or "?")}</div>'
        f'<div><div class="who">{escape(name)}</div>'
        f'<div class="ids">conversation {escape(conversation.id)} &middot; '
        f"{escape(participant)}{merged}</div>"
        f'</div></div><div class="thread">{thread}</div></section>'
    )


async def inbox_page(request: Request) -> HTMLResponse:
    """GET /: every site (or ``?site=<id>``) with its conversations; ``?refresh=<seconds>`` reloads."""
    sandbox: Sandbox = request.app.state.sandbox
    only = request.query_params.get("site")
    refresh = request.query_params.get("refresh", "")
    head_refresh = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh.isdigit() else ""
    sections = []
    for site in sandbox.state.sites():
        if only and site["site_id"] != only:
            continue
        conversations = sandbox.state.conversations(site["site_id"])
        cards = (
            "".join(_conversation(c, sandbox.state.messages(c.id, descending=False)) for c in conversations)
            or '<div class="empty">No conversations.</div>'
        )
        sections.append(f"<h2>{escape(site['name'])}<small>site {escape(site['site_id'])}</small></h2>{cards}")
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Wix Inbox (sandbox)</title>{head_refresh}<style>{_CSS}</style></head><body>"
        "<header><h1>Inbox</h1><span>inboxbridge sandbox &middot; local Wix emulator</span></header>"
        f"<main>{''.join(sections) or '<div class=empty>No sites.</div>'}</main></body></html>"
    )
    return HTMLResponse(html)
