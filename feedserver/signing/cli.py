"""`feedserver keys show|rotate`: the signing keys from the command line.

A rotation takes effect when the server next starts (or reloads); until the rotation after
this one, the JWKS at /v1/keys holds the old key too, so screens that cached it keep verifying.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from feedserver.config import Config
from feedserver.signing.keys import common_name, ring_of, rotate


def _show(config: Config) -> int:
    ring = ring_of(config)
    for slot, pair in (("current", ring.current), ("previous", ring.previous)):
        if pair is not None:
            print(f"{slot}: kid {pair.kid} {pair.jws_alg} certificate SHA-256 {pair.fingerprint}")
    print(json.dumps(ring.jwks(), indent=2))
    return 0


def _rotate(config: Config) -> int:
    if config.signing.key:
        print("signing.key is set in the config: rotate by installing a new key and "
              "certificate there; the server makes and rotates only its own keys")
        return 2
    ring = rotate(config.data_dir / "signing", common_name(config))
    print(f"new current key {ring.current.kid} (certificate SHA-256 {ring.current.fingerprint});"
          f" previous {ring.previous.kid if ring.previous else '-'}; restart the server to use it")
    return 0


def add_keys_command(subparsers: argparse._SubParsersAction,
                     load: Callable[[str], Config], default_config: str) -> None:
    cmd = subparsers.add_parser("keys", help="show or rotate the signing keys")
    cmd.add_argument("action", choices=("show", "rotate"))
    cmd.add_argument("--config", default=default_config)
    actions = {"show": _show, "rotate": _rotate}
    cmd.set_defaults(run=lambda args: actions[args.action](load(args.config)))
