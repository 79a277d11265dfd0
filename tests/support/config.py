"""The main suite's config: two networks whose profiles differ in every filter the feed applies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

VIEWER, EDITOR, PUBLISHER, ADMIN = "t-viewer-1", "t-editor-1", "t-publisher-1", "t-admin-1"
KEY_A, KEY_B = "key-network-a", "key-network-b"


def config_data(data_dir: Path) -> dict[str, Any]:
    """Four staff (one per role) and two networks, as the parsed YAML would hold them."""
    return {
        "server": {"listen": "127.0.0.1:0", "public_url": "http://feeds.test",
                   "data_dir": str(data_dir)},
        "storage": "sqlite",
        "alerts": {"resolved_display_seconds": 3600, "offline_grace_seconds": 900},
        "staff": [
            {"name": "vera-viewer", "role": "viewer", "token": VIEWER},
            {"name": "eddie-editor", "role": "editor", "token": EDITOR},
            {"name": "pia-publisher", "role": "publisher", "token": PUBLISHER},
            {"name": "ada-admin", "role": "admin", "token": ADMIN},
        ],
        "networks": [
            {"id": "net-a", "name": "Network A", "keys": [KEY_A], "profiles": [
                {"id": "landscape", "size": "1920x1080", "languages": ["nl", "en"]},
                {"id": "amber-only", "size": "1400x400", "kinds": ["amber"]},
                {"id": "utrecht", "size": "840x400", "regions": ["NL-UT"]},
                {"id": "tests", "size": "800x600", "test_alerts": True},
            ]},
            {"id": "net-b", "name": "Network B", "keys": [KEY_B], "profiles": [
                {"id": "atm", "size": "800x600", "languages": ["en"]},
            ]},
        ],
    }
