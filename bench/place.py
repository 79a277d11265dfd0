"""The `?at=` poll rows (issue 11): a screen that says where it stands must still cost a lookup.

One feedserver (10 profiles, one core) with a national AMBER Alert and a Vermist Kind Alert of
25 km around Groningen. The rows compare a poll's server CPU per request with the same
server's poll without `?at=`: one fixed point inside the area, one outside, and 10,000
distinct points over the north of the country (a wrk script cycles through them, and
If-None-Match names both documents' ETags, so every answer is a 304). A position's place class
(one prepared-shape test per visible regional alert) is worked out on its first poll and
remembered until the alerts change; a screen polls from one place, so the rows show the
steady state.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import aiohttp

from bench.fs import feedserver
from bench.poll import cost_row
from bench.probe import Probe, Settings, conditional, measure
from bench.procs import SERVER_CPUS
from bench.table import Row

GOAL = "ratio <= 1.1"  # issue 11: within 10% of today's poll
AREA = {"circles": [{"lat": 53.2194, "lon": 6.5665, "radius_km": 25}]}
INSIDE = "53.30,6.70"
OUTSIDE = "52.0907,5.1214"  # Utrecht
NOTE = "1 national + 1 regional alert active"
# 100 x 100 positions from 52.9 to 53.6 N and 6.0 to 7.2 E: about a tenth inside the circle.
POSITIONS_LUA = """
local n = 0
request = function()
  n = n % 10000
  local lat = 52.9 + (n // 100) * 0.007
  local lon = 6.0 + (n % 100) * 0.012
  n = n + 1
  return wrk.format(nil, wrk.path .. string.format("&at=%.4f,%.4f", lat, lon))
end
"""


async def section(settings: Settings) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-place-") as tmp:
        script = Path(tmp) / "positions.lua"
        script.write_text(POSITIONS_LUA)
        async with contextlib.AsyncExitStack() as stack:
            session = await stack.enter_async_context(aiohttp.ClientSession())
            fs = await stack.enter_async_context(
                feedserver(Path(tmp) / "fs", profiles=10, cpus=SERVER_CPUS)
            )
            await fs.publish_alerts(1)
            regional = await fs.create(1, None, kind="missing_child", circumstance="runaway",
                                       regions=["NL-GR"], area=AREA, vehicles=[])
            await fs.publish(regional)
            plain = fs.feed_url()
            probes = {"feedserver 304": await conditional(session, plain, fs.pids),
                      "feedserver 200": Probe(plain, fs.pids)}
            etags = []
            for name, point in (("inside", INSIDE), ("outside", OUTSIDE)):
                probe = await conditional(session, f"{plain}&at={point}", fs.pids)
                etags.append(probe.headers["If-None-Match"])
                probes[f"feedserver 304 ?at= {name} the area"] = probe
                probes[f"feedserver 200 ?at= {name} the area"] = Probe(probe.url, fs.pids)
            probes["feedserver 304 ?at= 10,000 positions"] = Probe(
                plain, fs.pids, {"If-None-Match": ", ".join(etags)}, script=str(script))
            got = await measure(probes, settings)
    how = settings.measured(pinned=True)
    return [
        cost_row(got, f"feedserver {kind} ?at= {name}", f"feedserver {kind}", how, GOAL, NOTE)
        for kind, name in (("304", "inside the area"), ("304", "outside the area"),
                           ("304", "10,000 positions"), ("200", "inside the area"),
                           ("200", "outside the area"))
    ]
