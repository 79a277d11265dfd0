"""The schema, as numbered migrations applied in order: one list for SQLite and PostgreSQL.

A database remembers the last migration applied (SQLite: `PRAGMA user_version`; PostgreSQL: the
`schema_version` table). Opening a store applies the missing ones in one transaction, so a
crash halfway leaves the previous version intact. A database written by a newer feedserver is
refused: an older server would misread what it does not know.

Append, never edit: a released migration is history. Where the dialects differ, the script
names the difference as a `{placeholder}` filled from `TYPES`.
"""

from __future__ import annotations

from dataclasses import dataclass

DIALECTS = ("sqlite", "postgresql")

TYPES: dict[str, dict[str, str]] = {
    "sqlite": {
        "serial_key": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "bytes": "BLOB",
        # SQLite's rowid already records insertion order
        "alerts_position": "",
    },
    "postgresql": {
        "serial_key": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "bytes": "BYTEA",
        "alerts_position": "position BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,",
    },
}


class SchemaTooNew(Exception):
    """The database was written by a newer feedserver than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    purpose: str
    script: str

    def statements(self, dialect: str) -> list[str]:
        """The script for one dialect, one statement each (no statement here holds a `;`)."""
        text = self.script.format(**TYPES[dialect])
        return [s.strip() for s in text.split(";") if s.strip()]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "alerts, versions, events, photos, receipts, webhook outbox", """
        CREATE TABLE IF NOT EXISTS alerts (
            {alerts_position}
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            origin_kind TEXT NOT NULL,
            origin_ref TEXT,
            created_at TEXT NOT NULL,
            doc TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status);
        CREATE INDEX IF NOT EXISTS alerts_origin ON alerts (origin_kind, origin_ref);
        CREATE TABLE IF NOT EXISTS alert_versions (
            alert_id TEXT NOT NULL REFERENCES alerts (id),
            version INTEGER NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            note TEXT,
            doc TEXT NOT NULL,
            PRIMARY KEY (alert_id, version)
        );
        CREATE TABLE IF NOT EXISTS events (
            seq {serial_key},
            type TEXT NOT NULL,
            at TEXT NOT NULL,
            alert_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            doc TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS photos (
            id TEXT PRIMARY KEY,
            content_type TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            focus TEXT,
            data {bytes} NOT NULL
        );
        CREATE TABLE IF NOT EXISTS receipts (
            alert_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            network TEXT NOT NULL,
            profile TEXT NOT NULL,
            screen TEXT NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            PRIMARY KEY (alert_id, version, network, profile, screen)
        );
        CREATE TABLE IF NOT EXISTS deliveries (
            position {serial_key},
            id TEXT NOT NULL UNIQUE,
            seq BIGINT NOT NULL REFERENCES events (seq),
            network TEXT NOT NULL,
            profile TEXT,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            next_at TEXT,
            delivered_at TEXT,
            last_status INTEGER,
            last_error TEXT
        );
        CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (network, state, position)
    """),
    Migration(2, "leases: a delivery claimed by one instance, singleton jobs led by one", """
        ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
        ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            until TEXT NOT NULL
        )
    """),
    Migration(3, "one alert per origin: concurrent ingests of one message make one alert", """
        UPDATE alerts SET origin_ref = origin_ref || ' (duplicate ' || id || ')'
            WHERE origin_ref IS NOT NULL AND EXISTS (
                SELECT 1 FROM alerts AS older
                WHERE older.origin_kind = alerts.origin_kind
                    AND older.origin_ref = alerts.origin_ref
                    AND (older.created_at < alerts.created_at
                         OR (older.created_at = alerts.created_at AND older.id < alerts.id)));
        DROP INDEX IF EXISTS alerts_origin;
        CREATE UNIQUE INDEX alerts_origin_key ON alerts (origin_kind, origin_ref)
    """),
)

LATEST = MIGRATIONS[-1].version


def pending(current: int, *, upto: int = LATEST) -> tuple[Migration, ...]:
    """The migrations a database at `current` still needs, refusing one from the future."""
    if current > LATEST:
        raise SchemaTooNew(
            f"the database is at schema version {current}, but this feedserver knows only up to"
            f" {LATEST}: it was written by a newer feedserver; upgrade feedserver, or restore a"
            " backup made before the upgrade")
    return tuple(m for m in MIGRATIONS if current < m.version <= upto)
