"""Configuration: interpolation and refusals that name the place."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from support.config import config_data

from feedserver.cli import demo_warning
from feedserver.config import ConfigError, interpolate, load_config, parse_config

REPO = Path(__file__).resolve().parent.parent


def test_demo_config_is_valid():
    config = load_config(REPO / "config" / "feedserver.yaml", environ={})
    billboards, atm = config.networks
    assert [p.size for p in billboards.profiles] == [(1920, 1080), (1080, 1920), (1400, 400),
                                                     (840, 400)]
    assert [p.size for p in atm.profiles] == [(800, 600), (1024, 768), (1280, 1024)]
    assert any(s.role == "publisher" for s in config.staff)


def test_environment_interpolation():
    env = {"KEY": "from-env", "EMPTY": ""}
    assert interpolate("a ${KEY} b", env) == "a from-env b"
    assert interpolate("${MISSING:-fallback}", env) == "fallback"
    assert interpolate("${EMPTY:-fallback}", env) == "fallback"
    with pytest.raises(ConfigError, match="MISSING is not set"):
        interpolate("${MISSING}", env)


def test_environment_sets_tokens(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text((REPO / "config" / "feedserver.yaml").read_text())
    config = load_config(path, environ={"FEEDSERVER_PUBLISHER_TOKEN": "secret-from-env"})
    assert "secret-from-env" in [s.token for s in config.staff]


def test_environment_values_are_taken_as_they_are(tmp_path):
    """A token may hold any character: it goes into the parsed value, not into the YAML text."""
    path = tmp_path / "c.yaml"
    path.write_text((REPO / "config" / "feedserver.yaml").read_text())
    for token in ['se"cret: #1 \\x', "line one\nline two #", "'quoted' ${NOT_A_VAR}"]:
        config = load_config(path, environ={"FEEDSERVER_PUBLISHER_TOKEN": token})
        assert token in [s.token for s in config.staff]


def test_environment_values_are_not_parsed_as_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("server:\n  listen: ${LISTEN}\n  data_dir: ${DIR:-./data}\n"
                    "staff: []\nnetworks: []\n")
    config = load_config(path, environ={"LISTEN": "127.0.0.1:9000"})
    assert (config.server.listen, config.server.data_dir) == ("127.0.0.1:9000", "./data")
    with pytest.raises(ConfigError, match=r"server\.listen: .* is not HOST:PORT"):
        load_config(path, environ={"LISTEN": "[1, 2]"})
    with pytest.raises(ConfigError, match="LISTEN is not set"):
        load_config(path, environ={})


def broken(path: str, value) -> dict:
    data = copy.deepcopy(config_data(Path("/tmp/unused")))
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(("path", "value", "message"), [
    ("networks.0.profiles.1.size", "1920x", "networks[0].profiles[1].size: '1920x' is not "
                                            "WIDTHxHEIGHT"),
    ("networks.1.profiles.0.formats", ["jpg", "gif"], "networks[1].profiles[0].formats[1]: 'gif'"),
    ("networks.0.profiles.0.kinds", ["amber", "cats"], "networks[0].profiles[0].kinds[1]"),
    ("networks.0.profiles.0.regions", ["Utrecht"], "networks[0].profiles[0].regions[0]"),
    ("networks.0.profiles.0.location", {"lat": 95, "lon": 5},
     "networks[0].profiles[0].location.lat: must be a number from -90 to 90"),
    ("networks.0.profiles.0.location", {"lat": 52.1}, "networks[0].profiles[0].location.lon"),
    ("networks.0.profiles.0.location", {"lat": 52.1, "lon": 5.1, "alt": 3},
     "networks[0].profiles[0].location.alt: unknown key"),
    ("networks.1.id", "net-a", "networks[1].id: duplicate id 'net-a'"),
    ("networks.0.profiles.1.id", "landscape", "networks[0].profiles[1].id: duplicate id"),
    ("staff.0.role", "boss", "staff[0].role: 'boss' is not one of"),
    ("alerts.offline_grace_seconds", -5, "alerts.offline_grace_seconds: must be a positive"),
    ("server.public_url", "feeds.example", "server.public_url: 'feeds.example' is not an http"),
    ("storage", "mysql://x", "storage: 'mysql://x'"),
    ("server.listen", "8080", "server.listen: '8080' is not HOST:PORT"),
    ("server.fetch_allow", ["images.test:80", "images.test"],
     "server.fetch_allow[1]: 'images.test' is not HOST:PORT"),
])
def test_refusals_name_the_place(path, value, message):
    with pytest.raises(ConfigError) as info:
        parse_config(broken(path, value))
    assert message in str(info.value)


def test_render_push_and_webhook_settings_have_defaults_and_can_be_set():
    data = config_data(Path("/tmp/unused"))
    defaults = parse_config(data)
    assert defaults.render.workers == len(os.sched_getaffinity(0))  # one per usable core
    assert defaults.push.keepalive_seconds == 15.0 and defaults.push.queue_limit == 64
    assert defaults.webhooks.retry_for_seconds == 26 * 3600
    data.update(render={"workers": 4}, push={"keepalive_seconds": 5, "send_buffer_bytes": 8192},
                webhooks={"backoff_seconds": 0.5, "retry_for_seconds": 7200})
    config = parse_config(data)
    assert config.render.workers == 4
    assert (config.push.keepalive_seconds, config.push.send_buffer_bytes) == (5.0, 8192)
    assert config.push.replay_limit == defaults.push.replay_limit
    assert (config.webhooks.backoff_seconds, config.webhooks.retry_for_seconds) == (0.5, 7200.0)


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("render", "workers", 0, "render.workers: must be 1 to 64 processes, not 0"),
    ("render", "workers", "two", "render.workers: must be a number"),
    ("push", "queue_limit", 2.5, "push.queue_limit: must be a number, not 2.5"),
    ("push", "keepalive_seconds", 0, "push.keepalive_seconds: must be a positive number"),
    ("webhooks", "retry_for_seconds", -1, "webhooks.retry_for_seconds: must be a positive"),
    ("webhooks", "backoff_seconds", True, "webhooks.backoff_seconds: must be a number"),
    ("webhooks", "retries", 3, "webhooks.retries: unknown key"),
])
def test_settings_refusals_name_the_place(section, key, value, message):
    data = config_data(Path("/tmp/unused"))
    data[section] = {key: value}
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert message in str(info.value)


def test_unknown_key_is_refused():
    data = config_data(Path("/tmp/unused"))
    data["networks"][0]["profiles"][0]["colour"] = "red"
    with pytest.raises(ConfigError, match=r"networks\[0\]\.profiles\[0\]\.colour: unknown key"):
        parse_config(data)


def test_unknown_layout_is_refused():
    data = config_data(Path("/tmp/unused"))
    data["networks"][0]["profiles"][0]["layout"] = "fancy"
    with pytest.raises(ConfigError, match=r"profiles\[0\]\.layout: unknown layout 'fancy'"):
        parse_config(data, layouts=frozenset({"auto", "landscape"}))


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "feedserver", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=60)


def test_check_config_command(tmp_path):
    ok = run_cli("check-config", "config/feedserver.yaml")
    assert ok.returncode == 0 and "ok (2 networks, 7 profiles" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(broken("networks.0.profiles.1.size", "1920x")))
    refused = run_cli("check-config", str(bad))
    assert refused.returncode == 2
    assert "networks[0].profiles[1].size: '1920x' is not WIDTHxHEIGHT" in refused.stderr


@pytest.mark.parametrize(("listen", "warned"), [("127.0.0.1:8080", False), ("[::1]:8080", False),
                                                ("0.0.0.0:8080", True), ("10.1.2.3:80", True)])
def test_serve_warns_when_the_demo_tokens_guard_a_reachable_server(listen, warned):
    config = load_config(Path(__file__).parents[1] / "config" / "feedserver.yaml", environ={})
    warning = demo_warning(replace(config, server=replace(config.server, listen=listen)))
    assert (warning is not None) == warned
    if warned:
        assert "demo-publisher" in warning and "anyone can publish" in warning
