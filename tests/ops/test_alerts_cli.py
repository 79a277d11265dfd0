"""`feedserver alerts list|show|cancel` on the store, while the server runs: an emergency
cancel from the host's shell reaches the running server's screens, and the history names the
operator."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import yaml
from support.alerts import amber_alert
from support.api import auth
from support.config import EDITOR, KEY_A, PUBLISHER, VIEWER, config_data
from support.servers import ServerProcess


def feedserver(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "feedserver", *args], capture_output=True,
                          text=True, timeout=120)


async def test_an_emergency_cancel_from_the_shell_reaches_the_screens(tmp_path: Path):
    server = ServerProcess(config_data(tmp_path / "data"), tmp_path)
    await server.start()
    config = str(server.config_path)
    feed = f"{server.url}/v1/feeds/net-a/landscape?key={KEY_A}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(server.url + "/v1/alerts", json=amber_alert(),
                                    headers=auth(EDITOR)) as response:
                alert = await response.json()
            async with session.post(f"{server.url}/v1/alerts/{alert['id']}/publish",
                                    headers=auth(PUBLISHER)) as response:
                assert response.status == 200
            async with session.get(feed) as response:
                assert [a["id"] for a in (await response.json())["alerts"]] == [alert["id"]]

            listed = await asyncio.to_thread(feedserver, "alerts", "list", "--status", "active",
                                             "--config", config)
            assert listed.returncode == 0 and alert["id"] in listed.stdout
            shown = await asyncio.to_thread(feedserver, "alerts", "show", alert["id"],
                                            "--config", config)
            assert json.loads(shown.stdout)["status"] == "active"
            done = await asyncio.to_thread(
                feedserver, "alerts", "cancel", alert["id"], "--reason",
                "console unreachable; cancelled by phone order", "--as", "nachtdienst",
                "--config", config)
            assert done.returncode == 0, done.stderr

            async with asyncio.timeout(10):  # the server follows the event log
                while True:
                    async with session.get(feed) as response:
                        if (await response.json())["alerts"] == []:
                            break
                    await asyncio.sleep(0.1)
            async with session.get(f"{server.url}/v1/alerts/{alert['id']}/history",
                                   headers=auth(VIEWER)) as response:
                last = (await response.json())["history"][-1]
            assert last["actor"] == "cli:nachtdienst" and last["action"] == "cancelled"
            assert last["note"]["reason"] == "console unreachable; cancelled by phone order"
    finally:
        server.kill()


def test_refusals_are_clear(tmp_path: Path):
    data = config_data(tmp_path / "data")
    config_path = tmp_path / "feedserver.yaml"
    config_path.write_text(yaml.safe_dump(data))
    missing = feedserver("alerts", "cancel", "a_0000000000000000", "--reason", "x",
                         "--config", str(config_path))
    assert missing.returncode == 1 and "a_0000000000000000" in missing.stderr
    no_reason = feedserver("alerts", "cancel", "a_0000000000000000", "--config",
                           str(config_path))
    assert no_reason.returncode == 1 and "--reason" in no_reason.stderr
