"""Alembic environment: runs inboxbridge's migrations over the connection that the store hands in."""

from __future__ import annotations

from alembic import context

from inboxbridge.store.schema import metadata


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "inboxbridge migrations run through `inboxbridge migrate` or inboxbridge.store.migrate(url), "
            "which supply the database connection"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
