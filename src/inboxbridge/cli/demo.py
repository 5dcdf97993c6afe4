"""`inboxbridge demo`: the whole flow against the built-in sandbox, in one command."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
import uvicorn

from inboxbridge.cli.common import console
from inboxbridge.config import Settings, load_settings
from inboxbridge.demo import DEMO_CONFIG, demo_webhooks
from inboxbridge.logs import configure_logging
from inboxbridge.sandbox import DEMO_SITE_ID
from inboxbridge.server import create_app
from inboxbridge.server.connections import connection_options
from inboxbridge.service import Service


def demo(
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Keep the service and sandbox up to browse the Inbox page.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the demo service (0: any free port).")] = 0,
) -> None:
    """Start the Wix sandbox and the service, send realistic signed webhooks, and show what landed in the Inbox."""
    configure_logging("warning")
    workdir = Path(tempfile.mkdtemp(prefix="inboxbridge-demo-"))
    settings = load_settings(
        None, **DEMO_CONFIG, database_url=f"sqlite:///{workdir / 'inboxbridge.db'}", port=port or _free_port()
    )
    service = Service(settings, sandbox_database=str(workdir / "sandbox.db"))
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            **connection_options(settings),
        )
    )
    asyncio.run(_demo(server, service, settings, keep_running))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _demo(server: uvicorn.Server, service: Service, settings: Settings, keep_running: bool) -> None:
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.02)
    base = f"http://{settings.host}:{settings.port}"
    assert service.sandbox is not None
    sandbox_url = service.sandbox.url
    console.print(f"service: {base}   Wix sandbox: {sandbox_url}   store: {settings.database_url}", highlight=False)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for hook in demo_webhooks():
            async with http.post(f"{base}/hooks/demo/{hook.source}", data=hook.body, headers=hook.headers) as answer:
                status = answer.status
            console.print(f"  POST /hooks/demo/{hook.source:<8} → {status}  {hook.summary}", highlight=False)
        expected = len(demo_webhooks())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = await service.store.ledger.counts("demo")
            if counts["delivered"] + counts["dead"] >= expected:
                break
            await asyncio.sleep(0.1)
        async with http.get(f"{sandbox_url}/_sandbox/sites/{DEMO_SITE_ID}/conversations") as answer:
            inbox = await answer.json()
    counts = await service.store.ledger.counts("demo")
    console.print(
        f"\ndelivered {counts['delivered']} of {expected}, dead {counts['dead']}, pending {counts['pending']}"
    )
    _print_inbox(inbox)
    if keep_running:
        console.print(f"\nOpen {sandbox_url}/ to see the Inbox. Ctrl-C to stop.", highlight=False)
        await serving
        return
    console.print(
        "\nRun `inboxbridge demo --keep-running` and open the sandbox's URL to see this as Wix Inbox shows it.",
        highlight=False,
    )
    server.should_exit = True
    await serving


def _print_inbox(inbox: dict[str, Any]) -> None:
    for conversation in inbox.get("conversations", []):
        participant = conversation.get("participant", {})
        console.print(f"\nconversation {conversation['id']} with contact {participant.get('contactId')}")
        for message in conversation.get("messages", []):
            content = message.get("content", {})
            arrow = "→ business" if message.get("direction") == "PARTICIPANT_TO_BUSINESS" else "← business"
            if "minimal" in content:
                line = f"  [activity] {content['minimal'].get('text')}"
            else:
                texts = [item.get("text", "[media]") for item in content.get("basic", {}).get("items", [])]
                badge = (message.get("badges") or [{}])[0].get("text", "")
                line = f"  {arrow} [{badge}] {' '.join(texts)}"
            console.print(line, highlight=False)
