"""The store's SQL, one module per role: ``queue`` (with ``heads``, the queue's index of claimable keys),
``ledger``, ``ids`` (the stored id cache) and ``rates`` (the shared rate limiter). Statements are built once, by
name, at import; what differs between SQLite and PostgreSQL is in :mod:`inboxbridge.store.dialect`."""
