"""deploy/nginx.conf's HTTPS server, run for real with a certificate made for the test: polls,
Server-Sent Events and WebSockets reach feedserver through TLS, with HSTS."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import aiohttp
from support.config import KEY_A, config_data
from support.proxy import nginx_in_front
from support.push import SseReader
from support.servers import ServerProcess, free_port

FEED = "/v1/feeds/net-a/landscape"


async def test_the_documented_tls_server_carries_polls_and_streams(tmp_path: Path):
    tls_port = free_port()
    config = config_data(tmp_path / "data")
    config["server"]["public_url"] = f"https://127.0.0.1:{tls_port}"
    server = ServerProcess(config, tmp_path)
    await server.start()
    prefix = tmp_path / "nginx"
    try:
        async with nginx_in_front(prefix, [server.port, server.port], tls_port=tls_port):
            trusted = ssl.create_default_context(cafile=str(prefix / "cert.pem"))
            connector = aiohttp.TCPConnector(ssl=trusted)
            async with aiohttp.ClientSession(f"https://127.0.0.1:{tls_port}",
                                             connector=connector) as session:
                async with session.get(FEED, params={"key": KEY_A}) as response:
                    assert response.status == 200 and response.headers["ETag"]
                    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
                    etag = response.headers["ETag"]
                async with session.get(FEED, params={"key": KEY_A},
                                       headers={"If-None-Match": etag}) as response:
                    assert response.status == 304
                events = await session.get(FEED + "/events", params={"key": KEY_A})
                assert (await SseReader(events).next(15))[1] == "snapshot"
                events.close()
                ws = await session.ws_connect(FEED + "/ws", params={"key": KEY_A})
                assert json.loads((await ws.receive(timeout=15)).data)["state"] == "idle"
                await ws.close()
    finally:
        server.kill()
