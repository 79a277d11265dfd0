"""`feedserver render`: one creative from an alert JSON file, without a server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from feedserver.alerts.model import Alert
from feedserver.formats import FORMATS, parse_size

from . import LAYOUT_NAMES, PhotoData, render_creative
from .digest import rendered_part


def _size(text: str) -> tuple[int, int]:
    size = parse_size(text)
    if size is None:
        raise argparse.ArgumentTypeError(
            f"size must be WIDTHxHEIGHT (16 to 7680 pixels each), e.g. 1920x1080, not {text!r}")
    return size


def _photo(text: str) -> tuple[str, Path]:
    photo_id, sep, path = text.partition("=")
    if not sep or not photo_id or not path:
        raise argparse.ArgumentTypeError(f"photo must be ID=PATH, not {text!r}")
    return photo_id, Path(path)


def render(args: argparse.Namespace) -> int:
    try:
        alert = json.loads(Path(args.alert).read_text("utf-8"))
        photos = {pid: PhotoData.from_bytes(pid, path.read_bytes()) for pid, path in args.photo}
    except (OSError, ValueError) as exc:
        print(f"feedserver render: {exc}", file=sys.stderr)
        return 2
    if not isinstance(alert, dict):
        print("feedserver render: the alert file must hold a JSON object", file=sys.stderr)
        return 2
    languages = tuple(args.languages.split(",")) if args.languages else ()
    shown = rendered_part(Alert.from_document(alert))
    creative = render_creative(shown, photos, args.size, args.layout, languages, args.format)
    Path(args.output).write_bytes(creative.body)
    if args.report:
        print(json.dumps(creative.report, ensure_ascii=False, indent=2))
    return 0


def add_render_command(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser("render", help="render one creative of an alert file, no server")
    cmd.add_argument("--alert", required=True, help="alert JSON file (as GET /v1/alerts/{id})")
    cmd.add_argument("--size", required=True, type=_size, help="WIDTHxHEIGHT")
    cmd.add_argument("--format", default="png", choices=FORMATS)
    cmd.add_argument("--layout", default="auto", choices=sorted(LAYOUT_NAMES))
    cmd.add_argument("--languages", help="comma-separated, e.g. nl,en (default: the alert's)")
    cmd.add_argument(
        "--photo",
        action="append",
        default=[],
        type=_photo,
        metavar="ID=PATH",
        help="a photo file for a photo id the alert names (repeatable)",
    )
    cmd.add_argument("--report", action="store_true", help="print the layout report as JSON")
    cmd.add_argument("-o", "--output", required=True)
    cmd.set_defaults(run=render)
