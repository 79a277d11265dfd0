"""The provinces of the Netherlands as outlines, for screens known only by their region.

The outlines ship as package data (see `make_provinces` for their source and licence) and are
prepared once, so a containment test costs microseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import shapely
from shapely.geometry import shape

OUTLINES = Path(__file__).with_name("provinces.geojson")


@dataclass(frozen=True)
class Province:
    code: str  # ISO 3166-2, e.g. "NL-GR"
    name: str
    outline: shapely.Geometry  # prepared; x is longitude, y latitude


@cache
def provinces() -> dict[str, Province]:
    collection = json.loads(OUTLINES.read_text())
    found = {}
    for feature in collection["features"]:
        outline = shape(feature["geometry"])
        shapely.prepare(outline)
        code = feature["properties"]["iso_3166_2"]
        found[code] = Province(code, feature["properties"]["name"], outline)
    return found


def province_at(lat: float, lon: float) -> Province | None:
    return next((p for p in provinces().values() if shapely.contains_xy(p.outline, lon, lat)), None)


def provinces_touching(area: shapely.Geometry) -> list[str]:
    """The codes of the provinces an area overlaps, in code order."""
    return [code for code, p in provinces().items() if p.outline.intersects(area)]
