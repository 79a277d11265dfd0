"""The package as pip installs it (not `-e`): built into a wheel, installed into a fresh venv,
it renders with its own layouts and serves its own OpenAPI document. And the layouts an
operator puts in FEEDSERVER_LAYOUTS replace the packaged ones, file by file.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from PIL import Image
from support import samples

REPO = Path(__file__).resolve().parents[1]
NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", "data", "build", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".ruff_cache", "tests", "bench")


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True,
                          timeout=300, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; its dependencies come from the project's venv through
    a .pth line (no download), which does not run that venv's editable-install hook."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                "--no-index", "-w", work / "dist", source)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (work / "dist").glob("feedserver-*.whl")
    target = work / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    Path(site.stdout.strip(), "project-deps.pth").write_text(sysconfig.get_paths()["purelib"])
    done = run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
               "--no-index", "--ignore-installed", wheel)
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def env_outside_the_checkout() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FEEDSERVER_LAYOUTS")}


def test_the_wheel_renders_a_png_with_its_packaged_layouts(installed, tmp_path):
    (tmp_path / "alert.json").write_text(json.dumps(samples.alert()), "utf-8")
    (tmp_path / "photo.jpg").write_bytes(samples.portrait_photo())
    done = run(installed / "bin" / "feedserver", "render", "--alert", "alert.json",
               "--photo", "p1=photo.jpg", "--size", "800x600", "--format", "png",
               "-o", "out.png", cwd=tmp_path, env=env_outside_the_checkout())
    assert done.returncode == 0, done.stderr
    image = Image.open(io.BytesIO((tmp_path / "out.png").read_bytes()))
    assert image.format == "PNG" and image.size == (800, 600)
    where = run(installed / "bin" / "python", "-c",
                "import feedserver.render.layouts as l; print(l.PACKAGED); print(l.check())",
                cwd=tmp_path, env=env_outside_the_checkout())
    assert where.returncode == 0, where.stderr
    packaged, said = where.stdout.splitlines()
    assert Path(packaged).is_relative_to(installed) and said == "layouts: the packaged defaults"


def test_the_wheel_serves_its_openapi_document(installed, tmp_path):
    script = ("from feedserver.meta_views import OPENAPI; import sys; "
              "print(OPENAPI); sys.stdout.flush(); sys.stdout.buffer.write(OPENAPI.read_bytes())")
    done = run(installed / "bin" / "python", "-c", script, cwd=tmp_path,
               env=env_outside_the_checkout())
    assert done.returncode == 0, done.stderr
    where, _, body = done.stdout.partition("\n")
    assert Path(where).is_relative_to(installed)
    assert body == (REPO / "feedserver" / "spec" / "openapi.yaml").read_text("utf-8")


def render_png(tmp_path: Path, layouts_dir: Path | None) -> subprocess.CompletedProcess:
    (tmp_path / "alert.json").write_text(json.dumps(samples.alert()), "utf-8")
    env = env_outside_the_checkout()
    if layouts_dir is not None:
        env["FEEDSERVER_LAYOUTS"] = str(layouts_dir)
    return run(sys.executable, "-m", "feedserver", "render", "--alert", "alert.json",
               "--size", "800x600", "--format", "png", "-o", "out.png", cwd=tmp_path, env=env)


def test_an_operator_layout_file_replaces_the_packaged_one(tmp_path):
    assert render_png(tmp_path, None).returncode == 0
    default = Image.open(tmp_path / "out.png").convert("RGB")
    own = tmp_path / "layouts"
    own.mkdir()
    palette = (REPO / "feedserver" / "layouts" / "palette.yaml").read_text("utf-8")
    assert 'page: {fill: "#FFFFFF"' in palette
    (own / "palette.yaml").write_text(palette.replace('page: {fill: "#FFFFFF"',
                                                      'page: {fill: "#E0F0E0"'), "utf-8")
    (own / "README.md").write_text("not a layout file: ignored")
    done = render_png(tmp_path, own)
    assert done.returncode == 0, done.stderr
    mine = Image.open(tmp_path / "out.png").convert("RGB")
    page_green = (0xE0, 0xF0, 0xE0)
    assert page_green not in {rgb for _, rgb in default.getcolors(1 << 20)}
    assert page_green in {rgb for _, rgb in mine.getcolors(1 << 20)}


def test_a_misnamed_operator_layout_file_stops_the_server_from_starting(tmp_path):
    own = tmp_path / "layouts"
    own.mkdir()
    (own / "landscpae.yaml").write_text("about: a typo", "utf-8")
    env = {**env_outside_the_checkout(), "FEEDSERVER_LAYOUTS": str(own)}
    done = run(sys.executable, "-m", "feedserver", "serve", "--config",
               REPO / "config" / "feedserver.yaml", "--listen", "127.0.0.1:1", env=env,
               cwd=tmp_path)
    assert done.returncode == 2
    assert "landscpae.yaml is no layout file" in done.stderr
