"""Faults a store meets on a running server, made real: a full disk and a noisy photo."""

from __future__ import annotations

import io
import sqlite3

from PIL import Image

from feedserver.store.sqlite import SQLiteStore


async def fill_the_disk(store: SQLiteStore, spare_pages: int) -> None:
    """SQLite's own "database or disk is full", at the file's size plus `spare_pages`."""
    def limit(connection: sqlite3.Connection) -> None:
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
        connection.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    await store.db.writer.run(limit)


def noise_photo(size: tuple[int, int] = (900, 1200)) -> bytes:
    """A JPEG that compresses badly: hundreds of kilobytes to store."""
    image = Image.merge("RGB", [Image.effect_noise(size, 100) for _ in range(3)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()
