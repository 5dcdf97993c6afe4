"""The ``inboxbridge`` command."""

from __future__ import annotations

import asyncio
import signal
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx2
import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from inboxbridge.config import ConfigError, Settings, load_settings
from inboxbridge.demo import DEMO_CONFIG, demo_webhooks
from inboxbridge.events import Direction, EventKind, InboundEvent
from inboxbridge.logs import configure_logging
from inboxbridge.sandbox import DEMO_SITE_ID, SandboxConfig, default_config
from inboxbridge.sandbox import serve as serve_sandbox
from inboxbridge.server import create_app
from inboxbridge.service import Service
from inboxbridge.store import EventStatus, Store, StoreUnavailable, migrate

app = typer.Typer(
    help="Sync conversations from every outside channel into the Wix Inbox.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

DEFAULT_CONFIG_FILE = "inboxbridge.toml"
SANDBOX_DATABASE = "inboxbridge-sandbox.db"

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="INBOXBRIDGE_CONFIG",
        help=f"TOML settings file (default: ./{DEFAULT_CONFIG_FILE} if present, else the built-in demo setup).",
    ),
]
LogLevel = Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")]


def _settings(config: Path | None, **overrides: Any) -> Settings:
    path = config
    if path is None and Path(DEFAULT_CONFIG_FILE).exists():
        path = Path(DEFAULT_CONFIG_FILE)
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = load_settings(path, **clean)
        if not settings.tenants and settings.uses_sandbox:
            # No tenants and no Wix account: run the demo tenant against the built-in sandbox.
            settings = load_settings(None, **{**DEMO_CONFIG, **settings.model_dump(exclude={"tenants"}), **clean})
    except ConfigError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    return settings


def _sandbox_db(settings: Settings) -> str | None:
    return SANDBOX_DATABASE if settings.uses_sandbox else None


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Also deliver events in this process.")] = True,
    log_level: LogLevel = "info",
) -> None:
    """Receive webhooks and deliver them into the Wix Inbox (server and worker in one process)."""
    configure_logging(log_level)
    settings = _settings(config, host=host, port=port)
    service = Service(settings, run_worker=worker, sandbox_database=_sandbox_db(settings))
    console.print(
        f"inboxbridge listening on http://{settings.host}:{settings.port} "
        f"(store: {settings.database_url}; Wix: {settings.wix.base_url})",
        highlight=False,
    )
    uvicorn.run(
        create_app(service),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(settings.worker.shutdown_grace_seconds) + 5,
    )


@app.command("worker")
def worker_command(config: ConfigOption = None, log_level: LogLevel = "info") -> None:
    """Deliver stored events without serving HTTP (run beside `serve --no-worker` nodes)."""
    configure_logging(log_level)
    settings = _settings(config)
    asyncio.run(_run_worker(Service(settings, sandbox_database=_sandbox_db(settings))))


async def _run_worker(service: Service) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    try:
        await stop.wait()
    finally:
        await service.stop()


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Sandbox config (TOML or JSON).")] = None,
    db: Annotated[str | None, typer.Option(help="SQLite file for the sandbox's state (default: memory).")] = None,
) -> None:
    """Run the local Wix API emulator, with its Inbox page at / (see docs/sandbox.md)."""
    sandbox_config = SandboxConfig.load(config) if config else default_config()
    if db:
        sandbox_config = sandbox_config.model_copy(update={"database": db})
    console.print(f"Wix sandbox on http://{host}:{port} (Inbox page: http://{host}:{port}/)", highlight=False)
    serve_sandbox(sandbox_config, host=host, port=port)


@app.command()
def send(
    tenant: Annotated[str, typer.Argument(help="The tenant (Wix site) to post to.")],
    text: Annotated[str, typer.Argument(help="The message text, or the activity line.")],
    email: Annotated[str | None, typer.Option(help="The customer's email.")] = None,
    phone: Annotated[str | None, typer.Option(help="The customer's phone, when no email is known.")] = None,
    activity: Annotated[bool, typer.Option("--activity", help="Post a MINIMAL activity line.")] = False,
    outbound: Annotated[
        bool, typer.Option("--outbound", help="The business wrote it (default: the customer).")
    ] = False,
    url: Annotated[str | None, typer.Option(help="Link of an activity.")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel badge, e.g. SMS.")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Deliver now and report the outcome.")] = True,
    config: ConfigOption = None,
) -> None:
    """Post one event from the command line (stored first, like a webhook, so nothing is lost)."""
    configure_logging("warning")
    settings = _settings(config)
    if tenant not in settings.tenants:
        err.print(f"unknown tenant {tenant!r}; configured: {', '.join(settings.tenants) or 'none'}")
        raise typer.Exit(2)
    try:
        event = InboundEvent(
            tenant=tenant,
            source="cli",
            kind=EventKind.ACTIVITY if activity else EventKind.MESSAGE,
            occurred_at=datetime.now(UTC),
            external_id=f"cli-{time.time_ns()}",
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            emails=(email,) if email else (),
            phone=phone,
            text=text,
            activity_url=url,
            channel=channel,
        )
    except ValueError as exc:
        err.print(f"invalid event: {exc}", highlight=False)
        raise typer.Exit(2) from None
    status = asyncio.run(_send(settings, event, wait))
    console.print(status, highlight=False)
    if status.startswith("dead"):
        raise typer.Exit(1)


async def _send(settings: Settings, event: InboundEvent, wait: bool) -> str:
    service = Service(settings, run_worker=wait, sandbox_database=_sandbox_db(settings))
    await service.start()
    try:
        (result,) = await service.store.ingest([event])
        if not wait:
            return f"stored as event {result.event_id}; a running worker will deliver it"
        deadline = time.monotonic() + 120
        last_error: str | None = None
        while time.monotonic() < deadline:
            row = await service.store.get_event(result.event_id)
            assert row is not None
            last_error = row.last_error
            if row.status is EventStatus.DELIVERED:
                return f"delivered: event {row.id} → conversation {row.conversation_id}, message {row.wix_message_id}"
            if row.status is EventStatus.DEAD:
                return f"dead-lettered: {row.last_error}"
            await asyncio.sleep(0.1)
        return f"event {result.event_id} is still pending (last error: {last_error}); it stays stored"
    finally:
        await service.stop()


@app.command()
def status(config: ConfigOption = None) -> None:
    """Counts of events by state per tenant, the oldest pending event's age, and dead letters."""
    settings = _settings(config)
    asyncio.run(_status(settings))


async def _status(settings: Settings) -> None:
    try:
        store = await Store.open(settings.database_url, migrate=False)
    except StoreUnavailable as exc:
        err.print(f"cannot open the store: {exc}", highlight=False)
        raise typer.Exit(1) from None
    try:
        table = Table(title=f"inboxbridge · {settings.database_url}")
        table.add_column("tenant")
        for state in EventStatus:
            table.add_column(state.value, justify="right")
        table.add_column("oldest pending", justify="right")
        names = sorted({t.id for t in await store.list_tenants()})
        for name in names:
            counts = await store.counts(name)
            age = await store.oldest_pending_age(name)
            table.add_row(
                name, *(str(counts.get(s.value, 0)) for s in EventStatus), f"{age:.0f} s" if age is not None else "—"
            )
        console.print(table)
        dead = await store.list_events(status=EventStatus.DEAD, limit=10)
        for row in dead:
            console.print(f"dead #{row.id} {row.tenant_id}/{row.source} {row.customer_key}: {row.last_error}")
    finally:
        await store.close()


@app.command("migrate")
def migrate_command(config: ConfigOption = None) -> None:
    """Create or upgrade the store's schema, then exit."""
    settings = _settings(config)
    asyncio.run(migrate(settings.database_url))
    console.print(f"schema up to date: {settings.database_url}", highlight=False)


@app.command()
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
        uvicorn.Config(create_app(service), host=settings.host, port=settings.port, log_level="warning")
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
    async with httpx2.AsyncClient(timeout=10) as http:
        for hook in demo_webhooks():
            answer = await http.post(f"{base}/hooks/demo/{hook.source}", content=hook.body, headers=hook.headers)
            console.print(
                f"  POST /hooks/demo/{hook.source:<8} → {answer.status_code}  {hook.summary}", highlight=False
            )
        expected = len(demo_webhooks())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = await service.store.counts("demo")
            if counts["delivered"] + counts["dead"] >= expected:
                break
            await asyncio.sleep(0.1)
        inbox = (await http.get(f"{sandbox_url}/_sandbox/sites/{DEMO_SITE_ID}/conversations")).json()
    counts = await service.store.counts("demo")
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


def main() -> None:
    """Entry point of the ``inboxbridge`` console script."""
    app()
