"""`feedserver backup` under write load, `feedserver restore`, and what they refuse.

A real server process takes a stream of creates while `feedserver backup` runs in another
process; the backup restores into a fresh data directory, passes SQLite's integrity check and
holds every change the server acknowledged before the backup began."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import yaml
from support.alerts import amber_alert
from support.api import auth
from support.config import EDITOR, VIEWER, config_data
from support.servers import ServerProcess

from feedserver.ops.backup import integrity

ENOUGH_BEFORE_BACKUP = 20


def feedserver(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "feedserver", *args], capture_output=True,
                          text=True, timeout=120)


async def creating(session: aiohttp.ClientSession, url: str, acknowledged: list[str],
                   stop: asyncio.Event) -> None:
    while not stop.is_set():
        async with session.post(url + "/v1/alerts", json=amber_alert(),
                                headers=auth(EDITOR)) as response:
            if response.status == 201:
                acknowledged.append((await response.json())["id"])


async def test_a_backup_under_write_load_restores_whole(tmp_path: Path):
    data = config_data(tmp_path / "live")
    server = ServerProcess(data, tmp_path)
    await server.start()
    acknowledged: list[str] = []
    stop = asyncio.Event()
    out = tmp_path / "backup.db"
    try:
        async with aiohttp.ClientSession() as session:
            writers = [asyncio.create_task(creating(session, server.url, acknowledged, stop))
                       for _ in range(3)]
            async with asyncio.timeout(60):
                while len(acknowledged) < ENOUGH_BEFORE_BACKUP:
                    await asyncio.sleep(0.05)
            before = list(acknowledged)
            done = await asyncio.to_thread(feedserver, "backup", str(out), "--config",
                                           str(server.config_path))
            stop.set()
            await asyncio.gather(*writers)
    finally:
        server.kill()
    assert done.returncode == 0, done.stderr
    assert "integrity ok" in done.stdout
    assert out.stat().st_mode & 0o077 == 0  # children's data: this user only
    assert len(acknowledged) > len(before)  # the writers kept going during the backup

    restored = config_data(tmp_path / "restored")
    config_path = tmp_path / "restored.yaml"
    config_path.write_text(yaml.safe_dump(restored))
    done = feedserver("restore", str(out), "--config", str(config_path))
    assert done.returncode == 0, done.stderr
    store = tmp_path / "restored" / "feedserver.db"
    assert integrity(store) == "ok"
    (tmp_path / "second").mkdir()
    second = ServerProcess(restored, tmp_path / "second")
    await second.start()
    try:
        async with aiohttp.ClientSession() as session:
            for alert_id in before:
                async with session.get(f"{second.url}/v1/alerts/{alert_id}",
                                       headers=auth(VIEWER)) as response:
                    assert response.status == 200, alert_id
    finally:
        second.kill()


def test_restore_refuses_a_damaged_copy_and_an_existing_store(tmp_path: Path):
    data = config_data(tmp_path / "data")
    config_path = tmp_path / "feedserver.yaml"
    config_path.write_text(yaml.safe_dump(data))
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    done = feedserver("restore", str(damaged), "--config", str(config_path))
    assert done.returncode == 1 and "not a sound SQLite database" in done.stderr
    assert not (tmp_path / "data" / "feedserver.db").exists()  # nothing half written

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "feedserver.db").write_bytes(b"the live store")
    good = tmp_path / "good.db"
    with contextlib.closing(sqlite3.connect(good)) as db:
        db.execute("CREATE TABLE t (x)")
        db.commit()
    done = feedserver("restore", str(good), "--config", str(config_path))
    assert done.returncode == 1 and "--force" in done.stderr
    assert (tmp_path / "data" / "feedserver.db").read_bytes() == b"the live store"


def test_backup_never_overwrites_and_names_pg_dump_for_postgresql(tmp_path: Path):
    data = config_data(tmp_path / "data")
    config_path = tmp_path / "feedserver.yaml"
    config_path.write_text(yaml.safe_dump(data))
    existing = tmp_path / "existing.db"
    existing.write_text("keep me")
    done = feedserver("backup", str(existing), "--config", str(config_path))
    assert done.returncode == 1 and "never overwrites" in done.stderr
    assert existing.read_text() == "keep me"
    data["storage"] = "postgresql://postgres@127.0.0.1:5432/feedserver"
    config_path.write_text(yaml.safe_dump(data))
    done = feedserver("backup", str(tmp_path / "b.db"), "--config", str(config_path))
    assert done.returncode == 2 and "pg_dump" in done.stderr
