"""The shared render directory: one render per creative for every process of the host."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from support import samples

from feedserver.render import render_creative
from feedserver.render.shared import LOCKS, prune, read, render_stored

SIZE, LANGUAGES = (640, 360), ("nl",)


def stored(directory: str, digests: tuple[str, ...], fmts: tuple[str, ...]):
    return render_stored(directory, digests, samples.shown(), samples.photos(), SIZE, "auto",
                         LANGUAGES, fmts)


async def test_processes_rendering_one_creative_at_once_render_it_once(tmp_path):
    """Each pool call is another process, as two servers of one host would be."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
        loop = asyncio.get_running_loop()
        answers = await asyncio.gather(*(
            loop.run_in_executor(pool, stored, str(tmp_path), ("same",), ("jpg",))
            for _ in range(4)))
    assert sum(answer.seconds is not None for answer in answers) == 1
    assert all(answer.creatives == [None] for answer in answers)  # each to read from the file
    alone = render_creative(samples.shown(), samples.photos(), SIZE, "auto", LANGUAGES, "jpg")
    assert read(str(tmp_path), "same") == alone


def test_no_file_is_made_per_creative_but_the_creative(tmp_path):
    """Creating a file costs this filesystem more than writing a creative: a lock is a byte of
    one file, not a file of its own."""
    answer = stored(str(tmp_path), ("one", "two"), ("png", "webp"))
    assert answer.seconds is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["one.creative", "two.creative", LOCKS])
    assert stored(str(tmp_path), ("one", "two"), ("png", "webp")).seconds is None  # found


def test_without_a_directory_the_creatives_come_back_themselves():
    answer = render_stored(None, ("private",), samples.shown(), samples.photos(), SIZE, "auto",
                           LANGUAGES, ("jpg",))
    assert answer.creatives == [
        render_creative(samples.shown(), samples.photos(), SIZE, "auto", LANGUAGES, "jpg")]
    assert read("/nonexistent", "private") is None


def test_prune_keeps_the_shown_creatives_and_the_locks(tmp_path):
    stored(str(tmp_path), ("kept", "gone"), ("jpg", "png"))
    (tmp_path / "kept.lock").touch()  # left by an older version
    prune(tmp_path, {"kept"}, older_than_seconds=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.creative", LOCKS]
