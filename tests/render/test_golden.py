"""Golden images: a few small creatives compared with committed PNGs, within a tolerance, so a
change of fonts, layout or painter that moves pixels is noticed. Regenerate deliberately with
FEEDSERVER_UPDATE_GOLDEN=1 and look at the new files before committing them: such a run writes
them and reports each test as skipped, never as passed (it compared nothing)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat
from support.samples import all_renders

GOLDEN = Path(__file__).parent / "golden"
SIZES = ["480x270", "728x90", "432x1008", "600x600"]
MEAN_DIFF = 1.5  # mean absolute difference per channel, 0..255
CHANGED_SHARE = 0.005  # share of pixels whose difference (as grey) may exceed 48


@pytest.mark.parametrize("size", SIZES)
def test_matches_golden_image(size):
    image = Image.open(io.BytesIO(all_renders()[size]["png"].body)).convert("RGB")
    path = GOLDEN / f"{size}.png"
    if os.environ.get("FEEDSERVER_UPDATE_GOLDEN"):
        image.save(path, optimize=True)
        pytest.skip(f"wrote {path.name}; look at it, then run again without the variable")
    golden = Image.open(path).convert("RGB")
    assert golden.size == image.size
    diff = ImageChops.difference(image, golden)
    assert max(ImageStat.Stat(diff).mean) <= MEAN_DIFF
    strong = diff.convert("L").point(lambda v: 255 if v > 48 else 0)
    changed = ImageStat.Stat(strong).mean[0] / 255
    assert changed <= CHANGED_SHARE
