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

from .creative import Creative, render_creatives
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


def render_stored(directory: str | None, digests: tuple[str, ...], alert: Shown,
                  photos: dict[str, PhotoData], size: tuple[int, int], layout: str,
                  languages: tuple[str, ...], fmts: tuple[str, ...]) -> list[Creative]:
    """In a pool worker: the creatives (one per digest and format, all of one size) from the
    shared directory, those missing rendered into it from one canvas.

    Without a directory (a preview of a draft, which stays private), just render. The locks
    are taken in digest order, so two processes rendering overlapping sets cannot deadlock.
    """
    if directory is None:
        return render_creatives(alert, photos, size, layout, languages, fmts)
    paths = [_path(directory, digest) for digest in digests]
    found = [_read(path) for path in paths]
    if all(found):
        return found
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with contextlib.ExitStack() as locks:
        for i in sorted(range(len(paths)), key=digests.__getitem__):
            if found[i] is None:
                lock = os.open(paths[i].with_suffix(LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o600)
                locks.callback(os.close, lock)
                fcntl.flock(lock, fcntl.LOCK_EX)  # waits while another process renders it
                found[i] = _read(paths[i])
        missing = [i for i, creative in enumerate(found) if creative is None]
        if missing:
            made = render_creatives(alert, photos, size, layout, languages,
                                    tuple(fmts[i] for i in missing))
            for i, creative in zip(missing, made, strict=True):
                _write(paths[i], creative)
                found[i] = creative
    return found


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
