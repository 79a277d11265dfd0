"""`feedserver render` works without a server: alert file and photo files in, creative out."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from support import samples

from feedserver.cli import main


def test_render_command_writes_a_creative_of_the_asked_size(tmp_path, capsys):
    alert_file = tmp_path / "alert.json"
    alert_file.write_text(json.dumps(samples.alert()), "utf-8")
    photo_file = tmp_path / "photo.jpg"
    photo_file.write_bytes(samples.portrait_photo())
    out = tmp_path / "out.png"
    code = main(
        [
            "render",
            "--alert",
            str(alert_file),
            "--size",
            "1150x160",
            "--format",
            "png",
            "-o",
            str(out),
            "--photo",
            f"p1={photo_file}",
            "--report",
        ]
    )
    assert code == 0
    assert Image.open(io.BytesIO(out.read_bytes())).size == (1150, 160)
    report = json.loads(capsys.readouterr().out)
    assert report["layout"] == "ticker" and report["size"] == "1150x160"


def test_render_command_with_a_forced_layout_and_html(tmp_path):
    alert_file = tmp_path / "alert.json"
    alert_file.write_text(json.dumps(samples.alert()), "utf-8")
    out = tmp_path / "out.html"
    code = main(
        [
            "render",
            "--alert",
            str(alert_file),
            "--size",
            "1024x768",
            "--format",
            "html",
            "--layout",
            "landscape",
            "--languages",
            "en",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    html = out.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Seen? Call 0800-6070" in html


def test_render_command_refuses_a_missing_file(tmp_path, capsys):
    code = main(
        [
            "render",
            "--alert",
            str(tmp_path / "nope.json"),
            "--size",
            "800x600",
            "-o",
            str(tmp_path / "x.png"),
        ]
    )
    assert code == 2
    assert "nope.json" in capsys.readouterr().err


def test_check_config_knows_the_layouts(tmp_path, capsys):
    config = tmp_path / "feedserver.yaml"
    text = """server: {listen: "127.0.0.1:8080", public_url: "http://127.0.0.1:8080",
                       data_dir: "%s"}
storage: sqlite
alerts: {resolved_display_seconds: 3600, offline_grace_seconds: 900}
staff: []
networks:
  - {id: n, name: N, keys: [key-0123456789], profiles: [{id: p, size: "800x600", layout: "%s"}]}
"""
    config.write_text(text % (tmp_path, "ticker"), "utf-8")
    assert main(["check-config", str(config)]) == 0
    config.write_text(text % (tmp_path, "fancy"), "utf-8")
    with pytest.raises(SystemExit):
        main(["check-config", str(config)])
    assert "unknown layout 'fancy'" in capsys.readouterr().err
