"""An alert's `area`: circles and polygons, checked and turned into one geometry.

Input and storage keep the contract's order (`lat`, `lon`; polygon points as `[lat, lon]`);
shapely works in x = longitude, y = latitude. A circle becomes a polygon of points at the
given geodesic distance from its centre (pyproj on the WGS84 ellipsoid), so "inside the area"
means the same thing for circles, polygons and province outlines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.validation import explain_validity

from feedserver.geo.provinces import provinces_touching

MAX_RADIUS_KM = 300.0  # the whole country fits in a circle of 200 km; more is a typing error
MAX_SHAPES = 20
MAX_POINTS = 1000
CIRCLE_POINTS = 128
_GEOD = pyproj.Geod(ellps="WGS84")

Fail = Callable[[str, str], None]


def _number(value: Any, field: str, low: float, high: float, fail: Fail) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        fail(field, "must be a number")
        return None
    if not low <= value <= high:
        fail(field, f"must be from {low:g} to {high:g}")
        return None
    return float(value)


def _point(value: Any, field: str, fail: Fail) -> tuple[float, float] | None:
    if not isinstance(value, list | tuple) or len(value) != 2:
        fail(field, "must be a [lat, lon] pair")
        return None
    lat = _number(value[0], f"{field}[0]", -90, 90, fail)
    lon = _number(value[1], f"{field}[1]", -180, 180, fail)
    return None if lat is None or lon is None else (lat, lon)


def _circle(value: Any, field: str, fail: Fail) -> dict | None:
    if not isinstance(value, dict):
        fail(field, "must be an object with lat, lon and radius_km")
        return None
    for key in value:
        if key not in ("lat", "lon", "radius_km"):
            fail(f"{field}.{key}", "unknown field")
    lat = _number(value.get("lat"), f"{field}.lat", -90, 90, fail)
    lon = _number(value.get("lon"), f"{field}.lon", -180, 180, fail)
    radius = value.get("radius_km")
    radius_km = _number(radius, f"{field}.radius_km", 0, MAX_RADIUS_KM, fail)
    if radius_km == 0:
        fail(f"{field}.radius_km", "must be more than 0")
        return None
    if lat is None or lon is None or radius_km is None:
        return None
    return {"lat": lat, "lon": lon, "radius_km": radius_km}


def _polygon(value: Any, field: str, fail: Fail) -> list[list[float]] | None:
    if not isinstance(value, list):
        fail(field, "must be a list of [lat, lon] points")
        return None
    if len(value) > MAX_POINTS:
        fail(field, f"must have at most {MAX_POINTS} points")
        return None
    points = [_point(p, f"{field}[{i}]", fail) for i, p in enumerate(value)]
    if any(p is None for p in points):
        return None
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()  # a closed ring: the closing point repeats the first
    if len(set(points)) < 3:
        fail(field, "must have at least 3 distinct points")
        return None
    ring = shapely.Polygon([(lon, lat) for lat, lon in points])
    if not ring.is_valid:
        fail(field, f"must not cross itself ({explain_validity(ring)})")
        return None
    return [[lat, lon] for lat, lon in points]


def check_area(value: Any, fail: Fail, field: str = "area") -> dict | None:
    """The area normalised (`{"circles": [...], "polygons": [...]}`), or None for no area."""
    if value is None:
        return None
    if not isinstance(value, dict):
        fail(field, "must be an object with circles and/or polygons, or null")
        return None
    for key in value:
        if key not in ("circles", "polygons"):
            fail(f"{field}.{key}", "unknown field")
    shapes: dict[str, list] = {}
    for key, item in (("circles", _circle), ("polygons", _polygon)):
        given = value.get(key) or []
        if not isinstance(given, list):
            fail(f"{field}.{key}", "must be a list")
            given = []
        if len(given) > MAX_SHAPES:
            fail(f"{field}.{key}", f"must have at most {MAX_SHAPES} entries")
            given = []
        checked = [item(entry, f"{field}.{key}[{i}]", fail) for i, entry in enumerate(given)]
        shapes[key] = [shape for shape in checked if shape is not None]
    if not value.get("circles") and not value.get("polygons"):
        fail(field, "must have at least one circle or polygon (or be null for no area)")
        return None
    return shapes


def circle_geometry(lat: float, lon: float, radius_km: float) -> shapely.Polygon:
    """The points `radius_km` from the centre along the ellipsoid, as a lon/lat polygon."""
    azimuths = np.linspace(0.0, 360.0, CIRCLE_POINTS, endpoint=False)
    lons, lats, _ = _GEOD.fwd(np.full(CIRCLE_POINTS, lon), np.full(CIRCLE_POINTS, lat),
                              azimuths, np.full(CIRCLE_POINTS, radius_km * 1000.0))
    return shapely.Polygon(np.column_stack([lons, lats]))


def area_geometry(area: dict) -> shapely.Geometry:
    """One prepared geometry for the whole area (x = lon, y = lat)."""
    parts = [circle_geometry(c["lat"], c["lon"], c["radius_km"]) for c in area["circles"]]
    parts += [shapely.Polygon([(lon, lat) for lat, lon in ring]) for ring in area["polygons"]]
    geometry = shapely.union_all(parts)
    shapely.prepare(geometry)
    return geometry



def checked_area(value: Any) -> dict | None:
    """The area if it passes every check, else None (for areas read from upstream data)."""
    errors: list[str] = []
    area = check_area(value, lambda field, message: errors.append(field))
    return None if errors else area


def area_regions(area: dict) -> list[str]:
    """The provinces an area touches (ISO 3166-2), or ["NL"] when it touches none of them."""
    return provinces_touching(area_geometry(area)) or ["NL"]
