"""Generate `provinces.geojson`, the outlines of the twelve Dutch provinces, once, by hand.

Source: Natural Earth 1:10m "Admin 1 – States, Provinces" (v4.1.0, public domain), as the QGIS
project generalised it into `world_map.gpkg`, which Debian ships in the `qgis-common` package
(`/usr/share/qgis/resources/data/`). Run:

    apt-get download qgis-common && dpkg -x qgis-common_*.deb qgis
    python -m feedserver.geo.make_provinces qgis/usr/share/qgis/resources/data/world_map.gpkg

The outlines are coarse (30-75 points each, a few hundred metres off along the borders): they
decide which provinces a circle touches and where an unlocated screen's province lies, never
whether a located screen is inside an alert's area (that is the area itself).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import shapely
from shapely import wkb

from feedserver.geo.provinces import OUTLINES

# ISO 3166-2 code per Natural Earth `fips` code of the province.
ISO_BY_FIPS = {
    "NL01": "NL-DR", "NL16": "NL-FL", "NL02": "NL-FR", "NL03": "NL-GE", "NL04": "NL-GR",
    "NL05": "NL-LI", "NL06": "NL-NB", "NL07": "NL-NH", "NL15": "NL-OV", "NL09": "NL-UT",
    "NL10": "NL-ZE", "NL11": "NL-ZH",
}
ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
PRECISION = 1e-4  # degrees, about 10 m


def gpkg_geometry(blob: bytes) -> shapely.Geometry:
    """A GeoPackage geometry: an 8-byte header, an optional envelope, then standard WKB."""
    envelope = ENVELOPE_BYTES[(blob[3] >> 1) & 0b111]
    return wkb.loads(bytes(blob[8 + envelope:]))


def features(gpkg: Path) -> list[dict]:
    with sqlite3.connect(gpkg) as db:
        rows = db.execute("SELECT fips, name, geom FROM states_provinces"
                          " WHERE adm0_a3 = 'NLD' AND fips IS NOT NULL").fetchall()
    found = []
    for fips, name, blob in rows:
        outline = shapely.make_valid(shapely.set_precision(gpkg_geometry(blob), PRECISION))
        found.append({"type": "Feature",
                      "properties": {"iso_3166_2": ISO_BY_FIPS[fips], "name": name},
                      "geometry": shapely.geometry.mapping(outline)})
    if sorted(f["properties"]["iso_3166_2"] for f in found) != sorted(ISO_BY_FIPS.values()):
        raise SystemExit(f"expected the twelve provinces, found {len(found)}")
    return sorted(found, key=lambda f: f["properties"]["iso_3166_2"])


def main() -> None:
    collection = {
        "type": "FeatureCollection",
        "source": "Natural Earth 1:10m Admin 1 States, Provinces v4.1.0, generalised by the"
                  " QGIS project (world_map.gpkg, Debian package qgis-common)",
        "licence": "Public domain (Natural Earth terms of use); made with Natural Earth,"
                   " naturalearthdata.com",
        "features": features(Path(sys.argv[1])),
    }
    OUTLINES.write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
