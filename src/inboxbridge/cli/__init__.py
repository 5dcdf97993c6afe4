"""The ``inboxbridge`` command: one module per command (group), registered here."""

from __future__ import annotations

import typer

from inboxbridge.cli import demo, dlq, doctor, importer, replay, run, sandbox, secret, send, status

app = typer.Typer(
    help="Sync conversations from every outside channel into the Wix Inbox.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(run.serve)
app.command("worker")(run.worker_command)
app.command()(send.send)
app.command()(status.status)
app.command("migrate")(status.migrate_command)
app.command()(sandbox.sandbox)
app.command()(demo.demo)
app.command("import")(importer.import_command)
app.command()(replay.replay)
app.add_typer(dlq.app, name="dlq")
app.command()(doctor.doctor)
app.command()(secret.secret)


def main() -> None:
    """Entry point of the ``inboxbridge`` console script."""
    app()
