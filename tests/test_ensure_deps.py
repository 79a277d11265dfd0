"""`.ci/ensure-test-deps` (run by `make test`) against stand-ins for apt-get, dpkg-query, id and
the PostgreSQL tools: what it installs or starts as root, and where it stops otherwise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "ensure-test-deps"
STUBS = {
    # each records its arguments in calls.log; dpkg-query says "installed" unless told otherwise
    "dpkg-query": 'for p in $MISSING; do [ "${!#}" = "$p" ] && exit 1; done;'
                  ' echo "install ok installed"',
    "id": 'echo "$FAKE_UID"',
    "apt-get": "",
    "pg_isready": '[ -e "$STATE/pg-up" ]',
    "pg_lsclusters": 'echo "15 main 5432 down postgres /var/lib/postgresql/15/main log"',
    "pg_ctlcluster": 'touch "$STATE/pg-up"',
    "pg_createcluster": "",
    "psql": "",
    "wrk": "",
}


@pytest.fixture
def world(tmp_path):
    """A PATH whose system tools are stand-ins; returns a runner and the calls they saw."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        stub = bin_dir / name
        stub.write_text(f'#!/bin/bash\necho "{name} $*" >> "$STATE/calls.log"\n{body}\n')
        stub.chmod(0o755)
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)

    def run(uid: int = 0, missing: str = "", chromium_there: bool = True, pg_up: bool = True):
        if pg_up:
            (tmp_path / "pg-up").touch()
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "STATE": str(tmp_path), "FAKE_UID": str(uid),
               "MISSING": missing, "HOME": str(tmp_path), "PYTHON": "python3",
               "CHROMIUM": str(chromium if chromium_there else tmp_path / "no-chromium")}
        done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
        log = tmp_path / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        calls = [c for c in lines if not c.startswith(("dpkg-query", "id "))]
        return done, calls

    return run


def test_as_root_it_installs_what_is_missing(world):
    done, calls = world(missing="libnginx-mod-nchan", chromium_there=False)
    assert done.returncode == 0, done.stderr
    assert "apt-get update -q" in calls
    assert "apt-get install -y -q --no-install-recommends chromium libnginx-mod-nchan" in calls


def test_not_root_it_stops_at_once_naming_the_command(world):
    done, calls = world(uid=1000, chromium_there=False)
    assert done.returncode == 1
    assert "chromium" in done.stderr and "sudo" in done.stderr and "ensure-test-deps" in done.stderr
    assert not [c for c in calls if c.startswith("apt-get")]


def test_as_root_it_starts_a_cluster_that_is_down(world):
    done, calls = world(pg_up=False)
    assert done.returncode == 0, done.stderr
    assert "pg_ctlcluster --skip-systemctl-redirect 15 main start" in calls


def test_not_root_a_cluster_that_is_down_is_a_stop(world):
    done, calls = world(uid=1000, pg_up=False)
    assert done.returncode == 1 and "sudo" in done.stderr
    assert not [c for c in calls if c.startswith("pg_ctlcluster")]


def test_with_everything_there_it_changes_nothing(world):
    done, calls = world()
    assert done.returncode == 0, done.stderr
    assert not [c for c in calls if c.startswith(("apt-get", "pg_ctlcluster", "pg_create"))]
