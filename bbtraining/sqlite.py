"""SQLite, the embedded default, made safe for web, worker and beat writing at once.

pysqlite opens transactions lazily and upgrades a reader to a writer mid-transaction, which under
concurrency fails at once with "database is locked" instead of waiting. We take the write lock at
BEGIN (BEGIN IMMEDIATE) so writers queue on the busy timeout, use WAL so readers never block,
and switch on foreign keys so SQLite enforces what PostgreSQL does. This is the recipe in
SQLAlchemy's pysqlite documentation ("Serializable isolation / Savepoints / Transactional DDL").
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
