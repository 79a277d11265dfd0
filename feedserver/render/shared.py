"""Creatives shared by the processes of one host: rendered once, read by every worker.

A creative is named by its digest, so a file `<digest>.creative` in the shared directory is
the creative whoever made it. A pool worker about to render one takes an exclusive flock on
`<digest>.lock` first: another process rendering the same creative holds it, so this one waits
and then reads the file instead of rendering again. The file is written under a temporary name
and renamed, so a reader never sees half of it; the kernel drops a dead renderer's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

from feedserver.alerts.model import Shown

from .creative import Creative, render_creative
from .photos import PhotoData

SUFFIX = ".creative"
LOCK_SUFFIX = ".lock"
HEADER = 4  # bytes: the length of the JSON header, big-endian


def _path(directory: str, digest: str) -> Path:
    return Path(directory) / (digest + SUFFIX)


def _read(path: Path) -> Creative | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    size = int.from_bytes(data[:HEADER], "big")
    meta = json.loads(data[HEADER:HEADER + size])
    return Creative(data[HEADER + size:], meta["content_type"], meta["report"])


def _write(path: Path, creative: Creative) -> None:
    meta = json.dumps({"content_type": creative.content_type, "report": creative.report},
                      separators=(",", ":")).encode()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # owner-only, like the rest of data_dir: creatives show children's photos
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
        file.write(len(meta).to_bytes(HEADER, "big") + meta + creative.body)
    os.replace(temporary, path)


def render_stored(directory: str | None, digest: str, alert: Shown,
                  photos: dict[str, PhotoData], size: tuple[int, int], layout: str,
                  languages: tuple[str, ...], fmt: str) -> Creative:
    """In a pool worker: the creative from the shared directory, rendered into it if missing.

    Without a directory (a preview of a draft, which stays private), just render.
    """
    if directory is None:
        return render_creative(alert, photos, size, layout, languages, fmt)
    path = _path(directory, digest)
    found = _read(path)
    if found is not None:
        return found
    os.makedirs(directory, mode=0o700, exist_ok=True)
    lock = os.open(path.with_suffix(LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another process renders it
        found = _read(path)
        if found is not None:
            return found
        creative = render_creative(alert, photos, size, layout, languages, fmt)
        _write(path, creative)
        return creative
    finally:
        os.close(lock)


def forget(directory: Path, digests: Iterable[str]) -> None:
    """Remove creatives no longer shown (they show children's photos)."""
    for digest in digests:
        for suffix in (SUFFIX, LOCK_SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                (directory / (digest + suffix)).unlink()


def prune(directory: Path, keep: set[str], older_than_seconds: float) -> None:
    """Remove what no shown alert needs (left by a crash), sparing files just written."""
    if not directory.is_dir():
        return
    cutoff = time.time() - older_than_seconds
    for path in directory.iterdir():
        digest = path.name.split(".")[0] if not path.name.startswith(".") else ""
        with contextlib.suppress(FileNotFoundError):
            if digest not in keep and path.stat().st_mtime < cutoff:
                path.unlink()
