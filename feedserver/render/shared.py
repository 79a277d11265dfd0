"""Creatives shared by the processes of one host: rendered once, read by every worker.

A creative is named by its digest, so a file `<digest>.creative` in the shared directory is
the creative whoever made it. A pool worker about to render one takes an exclusive lock on a
byte of the directory's `locks` file first (the byte a hash of the digest names: no file is
created per creative, which costs this filesystem more than writing the creative): another
process rendering the same creative holds it, so this one waits and then finds the file
instead of rendering again. The file is written under a temporary name and renamed, so a
reader never sees half of it; the kernel drops a dead renderer's lock.

The server reads a creative from its file rather than from the pool's result pipe: a pipe
carries 64 KiB at a time, and the worker waits on each piece until the server's busy event
loop lets the pool's thread read it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from feedserver.alerts.model import Shown

from .creative import Creative, render_creatives
from .photos import PhotoData

SUFFIX = ".creative"
LOCKS = "locks"  # the file whose bytes are the creatives' locks
HEADER = 4  # bytes: the length of the JSON header, big-endian


@dataclass(frozen=True)
class Rendered:
    """A pool call's answer: the creatives, None for each one that is in the shared directory
    (`read` it there), and the seconds spent rendering them (not waiting for a lock or a
    worker), None if another process had rendered them."""

    creatives: list[Creative | None]
    seconds: float | None


def _path(directory: str, digest: str) -> Path:
    return Path(directory) / (digest + SUFFIX)


def _lock_byte(digest: str) -> int:
    return int.from_bytes(hashlib.blake2b(digest.encode(), digest_size=7).digest(), "big")


def read(directory: str, digest: str) -> Creative | None:
    """The creative from the shared directory, or None if it is not (or no longer) there."""
    try:
        with open(_path(directory, digest), "rb") as file:
            meta = json.loads(file.read(int.from_bytes(file.read(HEADER), "big")))
            return Creative(file.read(), meta["content_type"], meta["report"])
    except FileNotFoundError:
        return None


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
                  languages: tuple[str, ...], fmts: tuple[str, ...]) -> Rendered:
    """In a pool worker: the creatives (one per digest and format, all of one size) made sure
    of in the shared directory, those missing rendered into it from one canvas.

    Without a directory (a preview of a draft, which stays private), just render. The locks
    are taken in one order, so two processes rendering overlapping sets cannot deadlock.
    """
    started = time.perf_counter()
    if directory is None:
        made = render_creatives(alert, photos, size, layout, languages, fmts)
        return Rendered(list(made), time.perf_counter() - started)
    paths = [_path(directory, digest) for digest in digests]
    missing = [i for i, path in enumerate(paths) if not path.exists()]
    if not missing:
        return Rendered([None] * len(paths), None)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    locks = os.open(Path(directory) / LOCKS, os.O_RDWR | os.O_CREAT, 0o600)
    try:  # closing the file releases this process's locks on it
        for byte in sorted({_lock_byte(digests[i]) for i in missing}):
            fcntl.lockf(locks, fcntl.LOCK_EX, 1, byte)  # waits while another process renders
        missing = [i for i in missing if not paths[i].exists()]
        started = time.perf_counter()
        if missing:
            made = render_creatives(alert, photos, size, layout, languages,
                                    tuple(fmts[i] for i in missing))
            for i, creative in zip(missing, made, strict=True):
                _write(paths[i], creative)
    finally:
        os.close(locks)
    return Rendered([None] * len(paths), time.perf_counter() - started if missing else None)


def forget(directory: Path, digests: Iterable[str]) -> None:
    """Remove creatives no longer shown (they show children's photos)."""
    for digest in digests:
        with contextlib.suppress(FileNotFoundError):
            (directory / (digest + SUFFIX)).unlink()


def prune(directory: Path, keep: set[str], older_than_seconds: float) -> None:
    """Remove what no shown alert needs (left by a crash, or lock files of older versions),
    sparing files just written."""
    if not directory.is_dir():
        return
    cutoff = time.time() - older_than_seconds
    wanted = {digest + SUFFIX for digest in keep} | {LOCKS}
    for path in directory.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if path.name not in wanted and path.stat().st_mtime < cutoff:
                path.unlink()
