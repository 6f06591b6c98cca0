"""Database session settings that a piece of work changes for itself."""

import contextlib
from collections.abc import Iterator

from django.db import DatabaseError, connection, models


@contextlib.contextmanager
def statement_timeout(seconds: float) -> Iterator[None]:
    """Let each statement in the block run for up to `seconds` (0: no limit) instead of the
    connection's DATABASE_STATEMENT_TIMEOUT, which is sized for web requests. PostgreSQL only;
    elsewhere nothing changes. Use it outside transactions: the setting is the session's."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false)", [f"{seconds * 1000:.0f}"]
        )
    try:
        yield
    finally:
        # Back to the connection's own limit; a connection that broke meanwhile is replaced
        # with a fresh one, which has it anyway.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")


@contextlib.contextmanager
def work_mem(size: str) -> Iterator[None]:
    """Give each sort and hash of the block's statements up to `size` of memory (PostgreSQL's
    work_mem, such as "256MB") before they spill to disk. PostgreSQL only."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, false)", [size])
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET work_mem")


def analyze(*tables: type[models.Model]) -> None:
    """Refresh the planner's statistics of the models' tables (PostgreSQL's ANALYZE), as after
    a bulk load that autovacuum has not reached yet. Elsewhere nothing is done."""
    if connection.vendor != "postgresql" or not tables:
        return
    names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")
