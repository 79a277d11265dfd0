"""A console server with four eyes on and two publishers, and what a browser test needs."""

from __future__ import annotations

import io
from pathlib import Path

from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestServer
from PIL import Image, ImageDraw

from feedserver.access_log import PathOnlyAccessLogger
from feedserver.app import create_app
from feedserver.config import parse_config
from support.config import config_data

SECOND_PUBLISHER = "t-publisher-2"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def console_config(data_dir: Path, **alerts: object):
    data = config_data(data_dir)
    data["alerts"].update({"four_eyes": True, **alerts})
    data["staff"].append({"name": "quinn-publisher", "role": "publisher",
                          "token": SECOND_PUBLISHER})
    return parse_config(data)


async def start_console(aiohttp_client, data_dir: Path):
    """The client keeps no cookies: each request carries exactly the session it names."""
    server = TestServer(create_app(console_config(data_dir)))
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    return await aiohttp_client(server, cookie_jar=DummyCookieJar())


def drawn_face() -> bytes:
    """An invented face: a head and shoulders drawn as shapes, as a PNG."""
    image = Image.new("RGB", (480, 600), (190, 205, 220))
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 90, 330, 300), fill=(235, 200, 170))
    draw.rectangle((110, 330, 370, 600), fill=(180, 30, 40))
    draw.ellipse((195, 170, 215, 190), fill=(40, 40, 40))
    draw.ellipse((265, 170, 285, 190), fill=(40, 40, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
