"""`inboxbridge serve` and `inboxbridge worker`: the long-running processes."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
import uvicorn
import uvloop

from inboxbridge.cli.common import ConfigOption, LogLevel, console, load, sandbox_db
from inboxbridge.logs import configure_logging
from inboxbridge.server import create_app
from inboxbridge.server.connections import connection_options, raise_open_file_limit
from inboxbridge.service import Service
from inboxbridge.store.dialect import parse_url


def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Also deliver events in this process.")] = True,
    log_level: LogLevel = "info",
) -> None:
    """Receive webhooks and deliver them into the Wix Inbox (server and worker in one process)."""
    configure_logging(log_level)
    settings = load(config, host=host, port=port)
    service = Service(settings, run_worker=worker, sandbox_database=sandbox_db(settings))
    raise_open_file_limit(settings.max_connections)
    console.print(
        f"inboxbridge listening on http://{settings.host}:{settings.port} "
        f"(store: {parse_url(settings.database_url).describe()}; Wix: {settings.wix.base_url})",
        highlight=False,
    )
    uvicorn.run(
        create_app(service),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        # Providers and load balancers reuse connections; uvicorn's 5 s default closes them under their feet.
        timeout_keep_alive=75,
        timeout_graceful_shutdown=int(settings.worker.shutdown_grace_seconds) + 5,
        **connection_options(settings),
    )


def worker_command(config: ConfigOption = None, log_level: LogLevel = "info") -> None:
    """Deliver stored events without serving HTTP (run beside `serve --no-worker` nodes)."""
    configure_logging(log_level)
    settings = load(config)
    # The same event loop as `serve` (uvicorn picks uvloop): the worker's loop runs a callback per store round trip.
    uvloop.run(_run_worker(Service(settings, serves_http=False, sandbox_database=sandbox_db(settings))))


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
