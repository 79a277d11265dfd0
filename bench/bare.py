"""The bare aiohttp reference: the same bytes from memory, with the least code aiohttp allows.

Run as `python -m bench.bare --port P --feed FILE --jpg FILE [--headers FILE] [--uvloop]
[--reuse-port]`. GET /feed answers 200 with the feed bytes and their strong ETag, or 304 when
If-None-Match matches; GET /current.jpg answers the JPEG bytes. `--headers` names a JSON file
{"200": {...}, "304": {...}}: the headers feedserver's own 200 and 304 carry (caching, Vary,
nosniff, the signature), so that both servers write the same bytes; without it, only the
ETag and the content type.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from aiohttp import web

from bench.loops import new_loop


def etag_of(data: bytes) -> str:
    """A strong ETag for bytes (quoted, as it goes on the wire)."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def make_app(feed: bytes, jpg: bytes, headers: dict[str, dict[str, str]]) -> web.Application:
    etag = etag_of(feed)
    unchanged = {**headers.get("304", {}), "ETag": etag}
    whole = {"Content-Type": "application/json", **headers.get("200", {}), "ETag": etag}

    async def feed_handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=unchanged)
        return web.Response(body=feed, headers=whole)

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
    parser.add_argument("--headers", type=Path)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--reuse-port", action="store_true")
    args = parser.parse_args()
    web.run_app(
        make_app(args.feed.read_bytes(), args.jpg.read_bytes(),
                 json.loads(args.headers.read_text()) if args.headers else {}),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        reuse_port=args.reuse_port,
        loop=new_loop(uvloop=args.uvloop),
    )


if __name__ == "__main__":
    main()
