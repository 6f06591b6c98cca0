"""Database session settings that a piece of work changes for itself."""

import contextlib
from collections.abc import Iterator

from django.db import DatabaseError, connection, models


@contextlib.contextmanager
def _session_setting(name: str, value: str) -> Iterator[None]:
    """PostgreSQL's setting `name` at `value` for the session during the block, then back to
    the connection's own; elsewhere nothing changes."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
    try:
        yield
    finally:
        # A connection that broke meanwhile is replaced with a fresh one, which has its own
        # setting anyway.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"RESET {name}")


def statement_timeout(seconds: float) -> contextlib.AbstractContextManager[None]:
    """Let each statement in the block run for up to `seconds` (0: no limit) instead of the
    connection's DATABASE_STATEMENT_TIMEOUT, which is sized for web requests. PostgreSQL only;
    elsewhere nothing changes. Use it outside transactions: the setting is the session's."""
    return _session_setting("statement_timeout", f"{seconds * 1000:.0f}")


def work_mem(size: str) -> contextlib.AbstractContextManager[None]:
    """Give each sort and hash of the block's statements up to `size` of memory (PostgreSQL's
    work_mem, such as "256MB") before they spill to disk. PostgreSQL only."""
    return _session_setting("work_mem", size)


def analyze(*tables: type[models.Model]) -> None:
    """Refresh the planner's statistics of the models' tables (PostgreSQL's ANALYZE), as after
    a bulk load that autovacuum has not reached yet. Elsewhere nothing is done."""
    if connection.vendor != "postgresql" or not tables:
        return
    names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")
