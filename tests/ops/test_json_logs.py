"""`logging: {format: json}`: a real server's log is one JSON object per line, the access log
included, and holds neither a child's name nor a network key."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import aiohttp
import pytest
from support.alerts import amber_alert
from support.cluster import publish_over
from support.config import KEY_A, config_data
from support.servers import ServerProcess

from feedserver.config import ConfigError, parse_config

CHILD = "Zilvia Verzonnenkind"


async def test_the_json_log_is_one_object_per_line_without_personal_data(tmp_path: Path):
    data = config_data(tmp_path / "data")
    data["server"]["access_log"] = True
    data["logging"] = {"format": "json"}
    server = ServerProcess(data, tmp_path)
    await server.start()
    alert = amber_alert()
    alert["children"][0]["name"] = CHILD
    async with aiohttp.ClientSession(server.url) as session:
        published = await publish_over(session, alert)
        for params in ({"key": KEY_A, "screen": "hal-3"}, {"key": "not-a-key-at-all"}):
            async with session.get("/v1/feeds/net-a/landscape", params=params) as response:
                await response.read()
    server.signal(signal.SIGTERM)
    assert await server.exit_code(60) == 0

    text = server.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line["message"].startswith("======== Running on") for line in lines)
    access = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert {(a["method"], a["path"], a["status"]) for a in access} >= {
        ("POST", f"/v1/alerts/{published['id']}/publish", 200),
        ("GET", "/v1/feeds/net-a/landscape", 200),
        ("GET", "/v1/feeds/net-a/landscape", 401),
    }
    assert all(isinstance(a["duration_ms"], float) for a in access)
    for secret in (CHILD, "Zilvia", KEY_A, "not-a-key-at-all", "hal-3"):
        assert secret not in text


def test_an_unknown_log_format_is_refused_with_its_place():
    data = config_data(Path("data"))
    data["logging"] = {"format": "xml"}
    with pytest.raises(ConfigError, match=r"^logging.format: 'xml' is not one of text, json$"):
        parse_config(data)
