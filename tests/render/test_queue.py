"""The render queue hands the pool what is most wanted first."""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor

from support import samples

from feedserver.render.queue import PRIMARY, REST, URGENT, Job, RenderQueue


def job(name: str, size: tuple[int, int]) -> Job:
    return Job(name, samples.shown(), size, "auto", ("nl",), "jpg")


async def test_urgent_then_primary_then_the_rest_and_one_render_per_digest():
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
    assert finished == ["rest-2", "primary", "rest-0", "rest-1"]
    assert all(r.content_type == "image/jpeg" for r in results)
    assert URGENT < PRIMARY < REST


async def test_nothing_is_queued_after_stop():
    with ProcessPoolExecutor(max_workers=1) as pool:
        queue = RenderQueue(pool, 1, lambda j, f: None)
        queue.start()
        await queue.stop()
        assert queue.submit(job("late", (800, 600)), {}, URGENT).cancelled()
