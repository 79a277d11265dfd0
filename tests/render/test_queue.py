"""The render queue hands the pool what is most wanted first."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path

from support import samples

from feedserver.render import render_creative, shared
from feedserver.render.queue import PRIMARY, REST, URGENT, Job, RenderQueue


def job(name: str, size: tuple[int, int]) -> Job:
    return Job(name, samples.shown(), size, "auto", ("nl",), "jpg", name)


async def test_urgent_then_primary_then_the_rest_largest_first_and_one_render_per_digest():
    finished: list[str] = []
    with ProcessPoolExecutor(max_workers=1) as pool:
        queue = RenderQueue(pool, 1, lambda j, f: finished.append(j.digest))
        rest = [queue.submit(job(f"rest-{i}", (800 + i, 600)), {}, REST) for i in range(3)]
        primary = queue.submit(job("primary", (1920, 1080)), {}, PRIMARY)
        bumped = queue.waiting("rest-2")
        again = queue.submit(job("rest-2", (802, 600)), {}, REST)
        assert bumped is rest[2] and again is rest[2]
        assert queue.waiting("nothing") is None
        queue.start()
        try:
            results = await asyncio.wait_for(asyncio.gather(*rest, primary), 120)
        finally:
            await queue.stop()
    assert finished == ["rest-2", "primary", "rest-1", "rest-0"]  # the larger first
    assert all(r.content_type == "image/jpeg" for r in results)
    assert URGENT < PRIMARY < REST


async def test_nothing_is_queued_after_stop():
    with ProcessPoolExecutor(max_workers=1) as pool:
        queue = RenderQueue(pool, 1, lambda j, f: None)
        queue.start()
        await queue.stop()
        assert queue.submit(job("late", (800, 600)), {}, URGENT).cancelled()


class Recording(Executor):
    """A real process pool that also notes the formats each pool call was given."""

    def __init__(self, pool: Executor) -> None:
        self.pool, self.calls = pool, []

    def submit(self, fn, /, *args, **kwargs):
        self.calls.append(args[-1])  # render_stored's formats
        return self.pool.submit(fn, *args, **kwargs)


async def test_a_profiles_other_formats_share_one_call_after_every_primary(tmp_path):
    alert, photos = samples.shown(), samples.photos()

    def of(size: tuple[int, int], fmt: str) -> Job:
        return Job(f"{size}-{fmt}", alert, size, "auto", ("nl",), fmt, str(size))

    big, small = (1024, 768), (480, 270)
    with ProcessPoolExecutor(max_workers=1) as processes:
        pool = Recording(processes)
        queue = RenderQueue(pool, 1, lambda j, f: None, str(tmp_path), lambda digest: True)
        jobs = [(of(size, fmt), PRIMARY if fmt == "jpg" else REST)
                for size in (big, small) for fmt in ("jpg", "png", "webp", "html")]
        futures = {job.fmt + str(job.size): queue.submit(job, photos, p) for job, p in jobs}
        queue.start()
        try:
            await asyncio.wait_for(asyncio.gather(*futures.values()), 120)
        finally:
            await queue.stop()
    rest = ["html", "png", "webp"]
    assert [sorted(call) for call in pool.calls] == [["jpg"], ["jpg"], rest, rest]
    for job, _ in jobs:  # each what it would be alone, also as stored for the other processes
        alone = render_creative(alert, photos, job.size, "auto", ("nl",), job.fmt)
        assert futures[job.fmt + str(job.size)].result() == alone
        assert (tmp_path / f"{job.digest}.creative").read_bytes().endswith(alone.body)


class InFlight(Executor):
    """A real process pool that notes the most calls it held at once."""

    def __init__(self, pool: Executor) -> None:
        self.pool, self.held, self.most = pool, 0, 0

    def submit(self, fn, /, *args, **kwargs):
        self.held += 1
        self.most = max(self.most, self.held)
        future = self.pool.submit(fn, *args, **kwargs)
        future.add_done_callback(lambda f: setattr(self, "held", self.held - 1))
        return future


async def test_a_worker_finds_its_next_job_waiting_in_the_pool(tmp_path):
    """A worker that finishes a render starts the next at once, without waiting for the
    server's event loop to hand it one; yet no more than one job per worker waits, so that a
    new alert's primary creatives still overtake an older backlog."""
    alert, photos = samples.shown(), samples.photos()
    with ProcessPoolExecutor(max_workers=1) as processes:
        pool = InFlight(processes)
        queue = RenderQueue(pool, 1, lambda j, f: None, str(tmp_path), lambda digest: True)
        futures = [queue.submit(Job(f"job-{i}", alert, (640 + i, 360), "auto", ("nl",), "jpg",
                                    f"canvas-{i}"), photos, PRIMARY) for i in range(4)]
        queue.start()
        try:
            await asyncio.wait_for(asyncio.gather(*futures), 120)
        finally:
            await queue.stop()
    assert pool.most == 2


class ForgetsAsItAnswers(Executor):
    """A real process pool; as its first call answers, another process of the host forgets
    the creatives it rendered into the shared directory (their alert changed there)."""

    def __init__(self, pool: Executor) -> None:
        self.pool, self.directories = pool, []

    def submit(self, fn, /, *args, **kwargs):
        directory, digests = args[0], args[1]
        self.directories.append(directory)
        answer: Future = Future()

        def forget(done: Future) -> None:
            if len(self.directories) == 1:
                shared.forget(Path(directory), digests)
            answer.set_result(done.result())

        self.pool.submit(fn, *args, **kwargs).add_done_callback(forget)
        return answer


async def test_a_creative_forgotten_before_it_is_read_is_rendered_again_for_this_process(
        tmp_path):
    alert, photos = samples.shown(), samples.photos()
    with ProcessPoolExecutor(max_workers=1) as processes:
        pool = ForgetsAsItAnswers(processes)
        queue = RenderQueue(pool, 1, lambda j, f: None, str(tmp_path), lambda digest: True)
        future = queue.submit(Job("gone", alert, (640, 360), "auto", ("nl",), "jpg", "gone"),
                              photos, PRIMARY)
        queue.start()
        try:
            creative = await asyncio.wait_for(future, 120)
        finally:
            await queue.stop()
    assert creative == render_creative(alert, photos, (640, 360), "auto", ("nl",), "jpg")
    assert pool.directories == [str(tmp_path), None]  # the second time privately
