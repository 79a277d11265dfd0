"""The store: alerts, their versions and the event log, on SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from feedserver.store.base import DeliveryTargets, Store
from feedserver.store.postgres import PostgresStore
from feedserver.store.sqlite import SQLiteStore
from feedserver.timeutil import Clock, utcnow

POSTGRESQL_SCHEMES = ("postgresql://", "postgres://")


def make_store(storage: str, sqlite_path: Path,
               delivery_targets: DeliveryTargets | None = None, clock: Clock = utcnow) -> Store:
    """The store `storage` names: a `postgresql://` URL, or else the SQLite file."""
    if storage.startswith(POSTGRESQL_SCHEMES):
        return PostgresStore(storage, delivery_targets, clock)
    return SQLiteStore(sqlite_path, delivery_targets, clock=clock)
