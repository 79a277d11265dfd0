"""Online backups of the SQLite store with SQLite's own backup API, and their restore.

The backup API copies a consistent snapshot while the server goes on writing (WAL): every
change committed before the copy started is in it. A restore checks the copy first and swaps
it in whole (write, fsync, rename), never leaving a half-written store.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

PAGES_PER_STEP = 256  # the writer waits at most one step's pages for the copy


class BackupError(RuntimeError):
    """Why a backup or restore was not made; the message names the file."""


def integrity(path: Path) -> str:
    """SQLite's own `integrity_check` of a database file: "ok" when sound."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        connection.close()


def _snapshot(source: Path, beside: Path) -> Path:
    """A consistent copy of `source` in a temporary file next to `beside`, on disk."""
    if not source.exists():
        raise BackupError(f"{source}: no such database")
    temporary = beside.with_name(f".{beside.name}.{os.getpid()}.partial")
    source_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    target_db = sqlite3.connect(temporary)
    try:
        with target_db:
            source_db.backup(target_db, pages=PAGES_PER_STEP)
        target_db.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    except sqlite3.Error as exc:
        target_db.close()
        temporary.unlink(missing_ok=True)
        raise BackupError(f"{source}: cannot copy ({exc})") from exc
    finally:
        source_db.close()
    target_db.close()
    os.chmod(temporary, 0o600)  # children's data: readable by this user only
    with open(temporary, "rb") as file:
        os.fsync(file.fileno())
    return temporary


def backup(store: Path, out: Path) -> str:
    """Copy the live store to `out` (a new file); answers its integrity check."""
    if out.exists():
        raise BackupError(f"{out}: exists; a backup never overwrites a file")
    os.replace(_snapshot(store, out), out)
    result = integrity(out)
    if result != "ok":
        out.unlink()
        raise BackupError(f"{out}: the copy failed its integrity check ({result})")
    return result


def restore(copy: Path, store: Path, *, force: bool = False) -> None:
    """Replace the store with a checked backup; the server must be stopped."""
    result = integrity(copy)
    if result != "ok":
        raise BackupError(f"{copy}: not a sound SQLite database ({result})")
    if store.exists() and not force:
        raise BackupError(f"{store}: exists; stop the server and pass --force to replace it")
    store.parent.mkdir(parents=True, exist_ok=True)
    restored = _snapshot(copy, store)
    for stale in (Path(f"{store}-wal"), Path(f"{store}-shm")):
        stale.unlink(missing_ok=True)  # the old store's journal must not be replayed into it
    os.replace(restored, store)
