"""deploy/feedserver.service: systemd accepts it, and its strictest option holds.

`MemoryDenyWriteExecute=yes` kills a process that maps memory writable and executable (a JIT,
a libffi trampoline); the unit keeps it only because a real server under the kernel's same
restriction (prctl PR_SET_MDWE, inherited by the render workers) decodes a photo and renders
every creative format.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
from support.alerts import amber_alert
from support.api import auth
from support.cluster import publish_over
from support.config import EDITOR, KEY_A, config_data
from support.samples import drawn_photo
from support.servers import ServerProcess

UNIT = Path(__file__).parents[2] / "deploy" / "feedserver.service"

# Refuse W+X memory from here on (PR_SET_MDWE = 65, PR_MDWE_REFUSE_EXEC_GAIN = 1), prove it
# is refused, then run feedserver as `python -m feedserver` would.
NO_WRITE_EXECUTE = """
import ctypes, mmap, runpy, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:
    sys.exit("PR_SET_MDWE failed")
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("writable and executable memory was not refused")
except PermissionError:
    pass
sys.argv[0] = "feedserver"
runpy.run_module("feedserver", run_name="__main__", alter_sys=True)
"""


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path):
    feedserver = Path(sys.executable).parent / "feedserver"
    unit = tmp_path / "feedserver.service"
    unit.write_text(UNIT.read_text().replace("/opt/feedserver/bin/feedserver", str(feedserver)))
    done = subprocess.run([shutil.which("systemd-analyze") or "systemd-analyze", "verify",
                           str(unit)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_unit_options_the_docs_promise():
    options = {tuple(line.split("=", 1)) for line in UNIT.read_text().splitlines()
               if "=" in line and not line.startswith("#")}
    settings = dict(options)
    assert settings["ExecReload"].endswith("feedserver reload --config "
                                           "/etc/feedserver/feedserver.yaml")
    assert settings["KillSignal"] == "SIGTERM" and settings["KillMode"] == "mixed"
    for option in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "MemoryDenyWriteExecute"):
        assert settings[option] == "yes"
    assert settings["ProtectSystem"] == "strict" and settings["CapabilityBoundingSet"] == ""
    assert ("SystemCallFilter", "@system-service") in options


async def test_a_server_without_writable_executable_memory_renders_every_format(tmp_path):
    data = config_data(tmp_path / "data")
    server = ServerProcess(data, tmp_path, launcher=(sys.executable, "-c", NO_WRITE_EXECUTE))
    await server.start()
    async with aiohttp.ClientSession(server.url) as session:
        async with session.post("/v1/photos", data=drawn_photo(),
                                headers={**auth(EDITOR), "Content-Type": "image/jpeg"}) as r:
            assert r.status == 201, await r.text()
            photo = (await r.json())["id"]
        alert = amber_alert()
        alert["children"][0]["photo"] = photo
        await publish_over(session, alert)
        async with session.get("/v1/feeds/net-a/landscape", params={"key": KEY_A}) as response:
            renders = (await response.json())["alerts"][0]["renders"]
        assert set(renders) == {"jpg", "png", "webp", "html"}
        for url in renders.values():
            async with session.get(url.replace("http://feeds.test", "")) as response:
                assert response.status == 200, await response.text()
    server.kill()
    assert "writable and executable" not in server.log_path.read_text()
