"""Runs the real server in its own process with quick webhook retries, for crash tests."""

from __future__ import annotations

import sys
from dataclasses import replace

from aiohttp import web

from feedserver.app import create_app
from feedserver.appkeys import WEBHOOK_SETTINGS
from feedserver.config import load_config


def main(config_path: str, port: int) -> None:
    app = create_app(load_config(config_path))
    app[WEBHOOK_SETTINGS] = replace(app[WEBHOOK_SETTINGS], backoff_seconds=0.05,
                                    backoff_max_seconds=0.2)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
