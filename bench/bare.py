"""The bare aiohttp reference: the same bytes from memory, with the least code aiohttp allows.

Run as `python -m bench.bare --port P --feed FILE --jpg FILE [--uvloop] [--reuse-port]`.
GET /feed answers 200 with the feed bytes and their strong ETag, or 304 when If-None-Match
matches; GET /current.jpg answers the JPEG bytes.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from aiohttp import web

from bench.loops import new_loop


def etag_of(data: bytes) -> str:
    """A strong ETag for bytes (quoted, as it goes on the wire)."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def make_app(feed: bytes, jpg: bytes) -> web.Application:
    etag = etag_of(feed)

    async def feed_handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=feed, content_type="application/json", headers={"ETag": etag})

    async def jpg_handler(request: web.Request) -> web.Response:
        return web.Response(body=jpg, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/feed", feed_handler)
    app.router.add_get("/current.jpg", jpg_handler)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--feed", type=Path, required=True)
    parser.add_argument("--jpg", type=Path, required=True)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--reuse-port", action="store_true")
    args = parser.parse_args()
    web.run_app(
        make_app(args.feed.read_bytes(), args.jpg.read_bytes()),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        reuse_port=args.reuse_port,
        loop=new_loop(uvloop=args.uvloop),
    )


if __name__ == "__main__":
    main()
