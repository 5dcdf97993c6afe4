"""``python -m inboxbridge``: the same as the ``inboxbridge`` command."""

from inboxbridge.cli import main

main()
