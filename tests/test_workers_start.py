"""A server starting: `serve --workers 2` on a fresh store, and a reload while it starts.

Real server processes on a real SQLite file or PostgreSQL database. Where a start must be caught
in the middle, the test holds a lock the start needs (the SQLite write lock, a PostgreSQL table
lock) and lets go once the server is seen waiting for it: no sleeps, every wait bounded.
"""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import pytest
import yaml
from support import postgres
from support.cluster import pinned_session, wait_for_listeners
from support.config import KEY_A, config_data
from support.servers import ServerProcess, feedserver_command, free_port, written_config

from feedserver.store import migrations

KIOSK = f"/v1/feeds/net-a/kiosk?key={KEY_A}"
WAIT = 120  # bounds every wait: two workers start slowly on a loaded machine


def children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def holds_open(pids: set[int], path: Path) -> bool:
    """Whether one of `pids` has the file open."""
    for pid in pids:
        try:
            if any(fd.resolve() == path for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return True
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process, or one of its descriptors, went meanwhile
    return False


async def until(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            met = condition()
            if await met if isinstance(met, Awaitable) else met:
                return
            await asyncio.sleep(0.02)


async def test_two_workers_start_on_a_fresh_sqlite_file_another_process_is_writing(tmp_path):
    """The fault: both workers open a new file at once; one switches it to WAL while the other
    writes (migrates), and it fails at once with "database is locked" (SQLite does not wait
    for a lock there). Here the other writer is the test: it holds the brand-new, empty file
    (as `serve` would create it) in a write transaction while the server starts, and commits
    once a server process has opened the file. The start must wait for the lock, not fail."""
    data = config_data(tmp_path / "data")
    data["server"]["workers"] = 2
    server = ServerProcess(data, tmp_path)
    database = tmp_path / "data" / "feedserver.db"
    database.parent.mkdir(mode=0o700)
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    starting = asyncio.create_task(server.start(timeout=WAIT))
    try:
        await until(lambda: server.process is not None and (
            holds_open({server.process.pid, *children(server.process.pid)}, database)
            or "exited with" in server.log_path.read_text() or server.process.poll() is not None))
        writer.execute("COMMIT")
        writer.close()
        await starting
        await wait_for_listeners(server.port, 2, WAIT)
        log = server.log_path.read_text()
        assert "exited with" not in log, log
        assert log.count(" started (pid ") == 2, log
    finally:
        starting.cancel()
        server.kill()


OPENER = """
import asyncio, os, sys
from pathlib import Path
from feedserver.store.sqlite import SQLiteDatabase

async def open_once(path):
    db = SQLiteDatabase(Path(path))
    try:
        await db.connect()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await db.close()
    return "ok"

loop = asyncio.new_event_loop()
go = int(sys.argv[1])
for line in sys.stdin:
    os.read(go, 1)  # every opener waits here: one write lets them all go at once
    print(loop.run_until_complete(open_once(line.strip())), flush=True)
"""
ROUNDS = 200  # before the fix, 2 to 10 rounds in 100 failed here


def test_processes_opening_one_new_sqlite_file_at_once_all_open_it(tmp_path):
    """The race itself, without the server around it: two processes open the same file that
    does not exist yet at the same moment, round after round; one failed now and then with
    "database is locked"."""
    go_read, go_write = os.pipe()
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, str(go_read)], text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                pass_fds=(go_read,)) for _ in range(2)]
    try:
        for n in range(ROUNDS):
            path = tmp_path / f"round-{n}" / "feedserver.db"
            for opener in openers:
                opener.stdin.write(f"{path}\n")
                opener.stdin.flush()
            os.write(go_write, b"x" * len(openers))
            outcomes = [opener.stdout.readline().strip() for opener in openers]
            assert outcomes == ["ok", "ok"], f"round {n}: {outcomes}"
            with sqlite3.connect(path) as check:
                assert check.execute("PRAGMA user_version").fetchone() == (migrations.LATEST,)
    finally:
        for opener in openers:
            opener.stdin.close()
            opener.wait(WAIT)
        os.close(go_read)
        os.close(go_write)


async def test_a_store_from_a_newer_feedserver_stops_the_server_once_before_any_worker(
        tmp_path, storage):
    """Workers find the store ready: the supervisor opens it (and migrates it) before it starts
    them, so a store the server cannot use stops `serve --workers 2` once, with the reason,
    instead of every worker dying at start until the supervisor gives up."""
    data = {**config_data(tmp_path / "data"), "storage": storage}
    data["server"]["workers"] = 2
    if storage == "sqlite":
        (tmp_path / "data").mkdir(mode=0o700)
        with sqlite3.connect(tmp_path / "data" / "feedserver.db") as db:
            db.execute("PRAGMA user_version = 99")
    else:
        connection = await asyncpg.connect(storage)
        await connection.execute("UPDATE schema_version SET version = 99")
        await connection.close()
    done = await asyncio.to_thread(
        feedserver_command, "serve", "--config", written_config(data, tmp_path / "f.yaml"),
        "--listen", f"127.0.0.1:{free_port()}")
    assert done.returncode == 2, done.stderr
    assert "storage: the database is at schema version 99" in done.stderr
    assert "started (pid" not in done.stderr


def with_kiosk(data: dict) -> dict:
    changed = copy.deepcopy(data)
    changed["networks"][0]["profiles"].append({"id": "kiosk", "size": "1024x768"})
    return changed


async def waiting_for_a_lock(watcher: asyncpg.Connection, database: str) -> int:
    """How many of the server's sessions wait for a lock."""
    return await watcher.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'"
        " AND application_name LIKE 'feedserver %'", database)


async def answered_by_each(server: ServerProcess, pids: set[int]) -> None:
    """The kiosk profile answers 200 from every one of `pids`: new connections until the
    kernel has handed one to each (they are the processes that started, none restarted)."""
    answered: set[int] = set()
    async with asyncio.timeout(WAIT):
        while answered != pids:
            async with AsyncExitStack() as stack:
                pinned = await pinned_session(stack, server.url, server.port)
                async with pinned.session.get(KIOSK) as response:
                    await response.read()
            assert pinned.pid in pids
            if response.status == 200:
                answered.add(pinned.pid)
            else:
                await asyncio.sleep(0.05)  # the old config there still; ask again


@pytest.mark.postgres
@pytest.mark.parametrize(("workers", "how"), [(2, "SIGHUP"), (2, "feedserver reload"),
                                              (1, "feedserver reload")])
async def test_a_reload_while_the_server_starts_reaches_every_worker(
        tmp_path, postgres_database, workers, how):
    """The fault: a reload that comes while a worker starts (before its event loop took over
    SIGHUP) was dropped by that worker, which went on serving the old config. The test holds
    the alerts table locked, so every worker stops in its start where it first reads alerts
    (its config read, its SIGHUP handler not yet installed); then the config gains a profile
    and the reload is sent; then the lock goes."""
    url = postgres.url(postgres_database)
    data = {**config_data(tmp_path / "data"), "storage": url}
    data["server"]["workers"] = workers
    server = ServerProcess(data, tmp_path)
    watcher = await asyncpg.connect(url)
    holder = await asyncpg.connect(url)
    lock = holder.transaction()
    await lock.start()
    await holder.execute("LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE")
    starting = asyncio.create_task(server.start(timeout=WAIT))
    try:

        async def all_waiting() -> bool:
            return await waiting_for_a_lock(watcher, postgres_database) == workers

        await until(all_waiting)
        supervisor = server.process.pid
        starters = children(supervisor) if workers > 1 else {supervisor}
        server.config_path.write_text(yaml.safe_dump(with_kiosk(data)))
        if how == "SIGHUP":
            server.signal(signal.SIGHUP)
        else:
            done = await asyncio.to_thread(feedserver_command, "reload", "--config",
                                           str(server.config_path))
            assert done.returncode == 0, done.stderr
        if workers > 1:  # the supervisor checks the file, then passes the reload on
            await until(lambda: "passed on to workers" in server.log_path.read_text())
        await lock.rollback()
        await starting
        await wait_for_listeners(server.port, workers, WAIT)
        await answered_by_each(server, starters)
    finally:
        starting.cancel()
        server.kill()
        await holder.close()
        await watcher.close()
