"""The test kit's own rules: helpers come from tests/support, never from a conftest or a test."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.add("." * node.level + (node.module or ""))
    return found


def test_no_test_file_imports_a_conftest_or_another_test_module():
    local = {path.stem for path in TESTS.rglob("*.py") if "support" not in path.parts}
    local |= {path.parent.name for path in TESTS.glob("*/__init__.py")} - {"support"}
    offenders = {
        str(path.relative_to(TESTS)): sorted(
            name for name in imported_modules(path)
            if name.startswith(".") or name.split(".")[0] in local
        )
        for path in TESTS.rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_conftest_files_hold_fixtures_only():
    """Nothing but fixtures (and hooks) at the top level of a conftest: helpers go to support."""
    for path in TESTS.rglob("conftest.py"):
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                decorators = {ast.unparse(d).split("(")[0] for d in node.decorator_list}
                assert decorators & {"pytest.fixture"} or node.name.startswith("pytest_"), (
                    f"{path.relative_to(TESTS)}: {node.name} is not a fixture")
            else:
                assert isinstance(node, ast.Import | ast.ImportFrom | ast.Expr), (
                    f"{path.relative_to(TESTS)}: line {node.lineno} is not a fixture")


def test_bench_does_not_reach_into_the_tests():
    """The benchmark stands on its own: no import from tests/, no path into it."""
    bench = TESTS.parent / "bench"
    for path in bench.glob("*.py"):
        names = imported_modules(path)
        assert not {n for n in names if n.split(".")[0] in ("tests", "support", "conftest")}, path
        strings = {node.value for node in ast.walk(ast.parse(path.read_text("utf-8")))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        paths = {s for s in strings if not any(c.isspace() for c in s)}  # not prose
        assert not {s for s in paths if s == "tests" or "tests/" in s or "/tests" in s}, path


def test_modules_that_drive_chromium_mark_it():
    """`pytest -m "not browser"` must leave out every test that needs Chromium."""
    for path in TESTS.rglob("test_*.py"):
        if any(name.startswith("playwright") for name in imported_modules(path)):
            assert "pytest.mark.browser" in path.read_text("utf-8"), path
