"""The walls between the parts (DESIGN.md "The house and its walls", README "How the code is
laid out"): what each part must never import, checked on the source, not on good intentions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "feedserver"

DOMAIN = ("feedserver.alerts", "feedserver.feeds", "feedserver.push", "feedserver.interop",
          "feedserver.render", "feedserver.store", "feedserver.app")
WALLS = {
    # the rules of an alert: no store, transport or pixels
    "alerts/fields.py": ("feedserver.store", "feedserver.feeds", "feedserver.push",
                         "feedserver.interop", "feedserver.render", "aiohttp", "PIL"),
    "alerts/rules.py": ("feedserver.store", "feedserver.feeds", "feedserver.push",
                        "feedserver.interop", "feedserver.render", "aiohttp", "PIL"),
    "alerts/texts.py": ("feedserver.store", "feedserver.feeds", "feedserver.push",
                        "feedserver.interop", "feedserver.render", "aiohttp", "PIL"),
    # painters and resolver: a pure function of (alert, photos, layout, size, format)
    "render/*.py": ("feedserver.feeds", "feedserver.store", "feedserver.push",
                    "feedserver.interop", "feedserver.alerts.service", "feedserver.appkeys",
                    "feedserver.app", "aiohttp"),
    # the store: no transport, no pixels
    "store/*.py": ("aiohttp", "PIL", "feedserver.render", "feedserver.feeds", "feedserver.push",
                   "feedserver.interop", "feedserver.appkeys", "feedserver.app"),
    # what derives from the store's events stays on its side
    "feeds/*.py": ("feedserver.push", "feedserver.interop"),
    "interop/*.py": ("feedserver.push",),
    "push/*.py": ("feedserver.interop.views",),
    # signatures over bytes: no knowledge of what is signed, nor of HTTP
    "signing/*.py": (*DOMAIN, "aiohttp"),
    # shared helpers know no domain service
    "errors.py": DOMAIN, "http.py": DOMAIN, "formats.py": DOMAIN, "timeutil.py": DOMAIN,
    "tasks.py": DOMAIN, "config.py": DOMAIN, "appkeys.py": DOMAIN, "auth.py": DOMAIN,
    "liveconfig.py": DOMAIN, "lifecycle.py": DOMAIN, "logs.py": DOMAIN,
}


def imports(source: str, package: str) -> set[str]:
    """Modules a module of `package` imports at run time (imports only for the type checker do
    not count); a relative import counts as the absolute name it stands for."""
    tree = ast.parse(source)
    typing_only = {id(node) for stmt in ast.walk(tree) if isinstance(stmt, ast.If)
                   and ast.unparse(stmt.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for node in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
                found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return found


def breaches(pattern: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for path in sorted(PACKAGE.glob(pattern)):
        package = ".".join(("feedserver", *path.relative_to(PACKAGE).parent.parts))
        bad = sorted(name for name in imports(path.read_text("utf-8"), package)
                     if any(name == f or name.startswith(f + ".") for f in forbidden))
        if bad:
            out[str(path.relative_to(PACKAGE))] = bad
    return out


@pytest.mark.parametrize("pattern", sorted(WALLS))
def test_no_part_imports_across_its_wall(pattern):
    found = breaches(pattern, WALLS[pattern])
    assert found == {}


def test_the_check_sees_a_breach():
    """The checker itself: relative and absolute imports count, TYPE_CHECKING ones do not."""
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from feedserver.store.base import Store\n"
              "from ..feeds import document\nfrom . import paint\nimport aiohttp\n")
    found = imports(source, "feedserver.render")
    assert {"feedserver.feeds.document", "feedserver.render.paint", "aiohttp"} <= found
    assert not any(name.startswith("feedserver.store") for name in found)
