import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import samples

from feedserver.render import FORMATS, render_creative


@pytest.fixture(scope="session")
def renders():
    """The sample alert at every size in every format, rendered once for all tests."""
    alert, photos = samples.alert(), samples.photos()
    return {
        size: {
            fmt: render_creative(alert, photos, samples.parse(size), "auto", ("nl", "en"), fmt)
            for fmt in FORMATS
        }
        for size in samples.SIZES
    }
