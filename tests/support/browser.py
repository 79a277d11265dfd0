"""Debian's headless Chromium, driven by Playwright; nothing downloads a browser.

Tests that use it carry `@pytest.mark.browser` (`pytest -m "not browser"` leaves them out).
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
