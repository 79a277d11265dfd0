"""SIGKILL while staff write, then restart: every change that was acknowledged (2xx) is there.

A real `feedserver serve` process on a real SQLite file takes four writers' streams of photo
uploads, creates, publishes, edits, resolves and cancels; it is SIGKILLed (with its render
workers) in the middle, started again on the same file, and asked for everything it answered
2xx to. Changes in flight at the kill may or may not be there; what is there is whole.

What this cannot see: a power cut. SIGKILL ends the process, but what it handed the kernel
stays in the page cache and reaches the file anyway. A power cut (or a kernel crash) loses
whatever was written but not yet on the disk: surviving it rests on SQLite's fsync at every
commit (`synchronous=FULL`) and on a disk that honours fsync (no volatile write cache). No
test on this machine can see either (tmp_path may even be tmpfs, where fsync does nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import aiohttp
from support.alerts import amber_alert
from support.api import auth
from support.config import EDITOR, KEY_A, PUBLISHER, VIEWER
from support.push import SseReader
from support.samples import drawn_photo

ACKNOWLEDGED_BEFORE_KILL = 60


@dataclass
class Acknowledged:
    """What the server answered 2xx to, as it answered."""

    photos: set[str] = field(default_factory=set)
    versions: dict[str, dict[int, str]] = field(default_factory=dict)  # alert -> version -> action
    last: dict[str, dict] = field(default_factory=dict)  # alert -> the last answer about it
    published: set[str] = field(default_factory=set)

    def count(self) -> int:
        return len(self.photos) + sum(len(v) for v in self.versions.values())

    def alert(self, answer: dict, action: str) -> None:
        self.versions.setdefault(answer["id"], {})[answer["version"]] = action
        self.last[answer["id"]] = answer
        if action == "published":
            self.published.add(answer["id"])


async def call(session: aiohttp.ClientSession, method: str, path: str, token: str,
               **kwargs) -> dict | None:
    """The answer's body when 2xx; None when refused. A dropped connection ends the writer."""
    headers = {**auth(token), **kwargs.pop("headers", {})}
    async with session.request(method, path, headers=headers, **kwargs) as response:
        return await response.json() if response.status < 300 else None


async def writer(session: aiohttp.ClientSession, n: int, seen: Acknowledged,
                 enough: asyncio.Event) -> None:
    """One staff member's alerts, one after another: photo, draft, publish, two edits, end."""
    with contextlib.suppress(aiohttp.ClientError):
        for round_ in range(1000):
            photo = await call(session, "POST", "/v1/photos", EDITOR, data=drawn_photo(),
                               headers={"Content-Type": "image/jpeg"})
            if photo is None:
                continue
            seen.photos.add(photo["id"])
            child = {"name": f"Testkind W{n}R{round_}", "age": 9, "photo": photo["id"]}
            draft = await call(session, "POST", "/v1/alerts", EDITOR,
                               json=amber_alert(children=[child]))
            if draft is None:
                continue
            seen.alert(draft, "created")
            steps = [("POST", "/publish", None, "published"),
                     ("PATCH", "", {"message": f"tip {n}.{round_}.1"}, "edited"),
                     ("PATCH", "", {"message": f"tip {n}.{round_}.2"}, "edited"),
                     ("POST", "/resolve", {"message": {"nl": "Gevonden"}}, "resolved")
                     if round_ % 2 else
                     ("POST", "/cancel", {"reason": "onjuist"}, "cancelled")]
            for method, tail, body, action in steps:
                answer = await call(session, method, f"/v1/alerts/{draft['id']}{tail}",
                                    PUBLISHER, json=body)
                if answer is None:
                    break
                seen.alert(answer, action)
                if seen.count() >= ACKNOWLEDGED_BEFORE_KILL:
                    enough.set()



async def test_sigkill_during_writes_loses_nothing_acknowledged(server_process):
    seen, enough = Acknowledged(), asyncio.Event()
    async with aiohttp.ClientSession(server_process.url) as session:
        writers = [asyncio.create_task(writer(session, n, seen, enough)) for n in range(4)]
        waiting = asyncio.create_task(enough.wait())
        await asyncio.wait([waiting, *writers], timeout=120,
                           return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        assert enough.is_set(), [w.exception() for w in writers if w.done()]
        server_process.kill()
        await asyncio.wait_for(asyncio.gather(*writers), 30)
    assert seen.count() >= ACKNOWLEDGED_BEFORE_KILL

    await server_process.start()
    async with aiohttp.ClientSession(server_process.url) as session:
        for photo_id in seen.photos:
            async with session.get(f"/v1/photos/{photo_id}", headers=auth(VIEWER)) as response:
                assert response.status == 200, photo_id
                assert response.content_type == "image/jpeg"
        for alert_id, versions in seen.versions.items():
            history = await call(session, "GET", f"/v1/alerts/{alert_id}/history", VIEWER)
            recorded = {h["version"]: h["action"] for h in history["history"]}
            assert {v: recorded.get(v) for v in versions} == versions, alert_id
            assert sorted(recorded) == list(range(1, max(recorded) + 1)), "no gap, no half"
            now = await call(session, "GET", f"/v1/alerts/{alert_id}", VIEWER)
            last = seen.last[alert_id]
            assert now["version"] >= last["version"]
            if now["version"] == last["version"]:
                assert (now["status"], now.get("message")) == (last["status"],
                                                               last.get("message"))
        await every_publish_is_in_the_event_log(session, seen.published)


async def every_publish_is_in_the_event_log(session: aiohttp.ClientSession,
                                            published: set[str]) -> None:
    """A screen that saw nothing yet replays the log: each acknowledged publish is in it."""
    async with session.get("/v1/feeds/net-a/landscape/events",
                           params={"key": KEY_A, "since": "0"}) as response:
        assert response.status == 200
        stream = SseReader(response)
        marker = await call(session, "POST", "/v1/alerts", EDITOR, json=amber_alert())
        await call(session, "POST", f"/v1/alerts/{marker['id']}/publish", PUBLISHER)
        replayed: set[str] = set()
        while True:
            _, event, data = await stream.next(timeout=10)
            assert event != "snapshot", "the log was replayed, not summed up"
            if data["type"] == "alert.published":
                replayed.add(data["alert"]["id"])
            if data["alert"]["id"] == marker["id"]:
                break
    assert published <= replayed
