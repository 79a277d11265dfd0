"""The walls between the parts (DESIGN.md "The house and its walls", README "How the code is
laid out"): what each part must never import, checked on the source, not on good intentions."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from feedserver.alerts.model import FIELD_NAMES

PACKAGE = Path(__file__).resolve().parent.parent / "feedserver"

DOMAIN = ("feedserver.alerts", "feedserver.feeds", "feedserver.push", "feedserver.interop",
          "feedserver.render", "feedserver.store", "feedserver.app")
WALLS = {
    # the typed alert: every part (the pure renderer too) may use it, so it uses no part
    "alerts/model.py": ("feedserver", "aiohttp", "PIL", "lxml", "shapely"),
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
    "limits/*.py": DOMAIN,
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


def test_the_alert_model_imports_only_the_standard_library():
    found = imports((PACKAGE / "alerts" / "model.py").read_text("utf-8"), "feedserver.alerts")
    assert {name for name in found if name.split(".")[0] not in sys.stdlib_module_names} == set()


# What holds an alert (or a part of one) is named so: `alert`, `event.alert`, `current`, `child`.
ALERT_HOLDER = re.compile(r"(^|_)(alert|current|previous|existing|target|clean|shown|child|"
                          r"suspect|vehicle|person|seen|resolution)$")
MODEL = "alerts/model.py"


def _holder(node: ast.expr) -> str | None:
    name = node.id if isinstance(node, ast.Name) else \
        node.attr if isinstance(node, ast.Attribute) else None
    return name if name and ALERT_HOLDER.search(name) else None


def key_reads(source: str) -> list[str]:
    """Where a module reads an alert's field by string key (`alert["children"]`,
    `child.get("photo")`, `"purged_at" in alert`) instead of as the model's attribute."""
    found = []
    for node in ast.walk(ast.parse(source)):
        holder = key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            holder, key = node.value, node.slice.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "get" and node.args \
                and isinstance(node.args[0], ast.Constant):
            holder, key = node.func.value, node.args[0].value
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) \
                and isinstance(node.ops[0], ast.In | ast.NotIn):
            holder, key = node.comparators[0], node.left.value
        if holder is not None and key in FIELD_NAMES and _holder(holder):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_alerts_are_read_as_the_typed_model_not_by_string_key():
    """One model (alerts/model.py) reads the stored document; everyone else uses attributes,
    so the alert's shape is declared once and cannot erode field by field."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = str(path.relative_to(PACKAGE))
        if relative != MODEL and (reads := key_reads(path.read_text("utf-8"))):
            found[relative] = reads
    assert found == {}


def test_the_key_check_sees_a_string_key_read():
    source = ('def f(alert, event, child, rows):\n'
              '    a = alert["children"]\n'
              '    b = event.alert.get("status")\n'
              '    c = child.get("photo")\n'
              '    d = "purged_at" in alert\n'
              '    e = rows["children"], alert["not_a_field"], alert.children\n')
    assert [line.split(":")[0] for line in key_reads(source)] == ["2", "3", "4", "5"]
