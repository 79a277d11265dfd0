"""Who gets an alert: the one reach rule that feeds, streams, webhooks and receipts share.

Contract (API.md, "Reach by place"): an alert with an `area` reaches a screen whose location
lies inside it; a screen with no location is reached when the area overlaps one of its
provinces. An alert with only ISO 3166-2 regions reaches screens in those provinces. A regional
alert never reaches a screen known only as national (`NL`). A national alert (an ISO 3166-1
region and no area) reaches every screen in that country, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely

from feedserver.alerts.model import Alert
from feedserver.config import Profile
from feedserver.geo.areas import area_geometry
from feedserver.geo.provinces import provinces

Point = tuple[float, float]  # (lat, lon)
MAX_REMEMBERED_POINTS = 100_000


@dataclass(frozen=True)
class Place:
    """Where a screen stands: a point when it is known, and the regions it is listed under."""

    point: Point | None
    regions: tuple[str, ...]


def screen_place(profile: Profile, at: Point | None, region: str | None) -> Place:
    """`?at=`, else the profile's `location`; `?region=`, else the profile's `regions`."""
    return Place(at or profile.location, (region,) if region else profile.regions)


def region_within(screen: str, alert: str) -> bool:
    """A screen listed in NL-UT is within NL-UT and within NL; one listed as NL is not in NL-UT."""
    return screen == alert or screen.startswith(alert + "-")


@dataclass(frozen=True)
class AlertReach:
    """The parts of one alert version that decide where it is shown."""

    kind: str
    test: bool
    countries: tuple[str, ...]     # ISO 3166-1 regions: shown nationwide (unless an area)
    subdivisions: tuple[str, ...]  # ISO 3166-2 regions
    geometry: shapely.Geometry | None  # where it is shown, prepared; None: nationwide
    has_area: bool                     # the geometry is the alert's own area (not provinces)
    # Points already tested: screens poll and stream from the same place every time.
    _inside: dict[Point, bool] = field(default_factory=dict, compare=False, repr=False)

    @property
    def regional(self) -> bool:
        return self.geometry is not None or not self.countries

    def contains(self, point: Point) -> bool:
        if self.geometry is None:
            return False
        inside = self._inside.get(point)
        if inside is None:
            if len(self._inside) >= MAX_REMEMBERED_POINTS:
                self._inside.clear()
            inside = self._inside[point] = bool(
                shapely.contains_xy(self.geometry, point[1], point[0]))
        return inside

    def covers_place(self, place: Place) -> bool:
        """Whether a screen at this place is inside the alert's territory (kinds aside)."""
        if not self.regional:
            return any(region_within(r, c) for r in place.regions for c in self.countries)
        if place.point is not None and self.geometry is not None:
            return self.contains(place.point)
        outlines = provinces()
        for region in place.regions:
            province = outlines.get(region)
            if self.has_area and province is not None:
                if province.outline.intersects(self.geometry):
                    return True
            elif any(region_within(region, s) for s in self.subdivisions):
                return True
        return False


def could_reach(alert: Alert, profile: Profile) -> bool:
    """Whether some screen of this profile may get the alert: any screen can say where it
    stands (`?at=`), so only the profile's kinds and test setting rule it out."""
    return alert.kind in profile.kinds and (profile.test_alerts or not alert.test)


def profile_reached(alert: AlertReach, profile: Profile) -> bool:
    """Whether the profile's screens, placed by its `location` else its `regions` (no `?at=`),
    get the alert."""
    return reaches(alert, profile, screen_place(profile, None, None))


def reaches(alert: AlertReach, profile: Profile, place: Place) -> bool:
    """Whether a screen of this profile at this place gets the alert."""
    if alert.kind not in profile.kinds or (alert.test and not profile.test_alerts):
        return False
    return alert.covers_place(place)


def reach_of(alert: Alert) -> AlertReach:
    """The reach of an alert as given (also content that is no stored version yet)."""
    regions = alert.regions
    countries = tuple(r for r in regions if "-" not in r)
    subdivisions = tuple(r for r in regions if "-" in r)
    geometry = None
    area = alert.area
    if area:
        geometry = area_geometry(area)
    elif not countries:
        outlines = provinces()
        known = [outlines[r].outline for r in subdivisions if r in outlines]
        if known:
            geometry = shapely.union_all(known)
            shapely.prepare(geometry)
    return AlertReach(alert.kind, alert.test, countries, subdivisions, geometry,
                      bool(area))


_CACHE: dict[tuple[str, int], AlertReach] = {}
_CACHE_LIMIT = 1024


def alert_reach(alert: Alert) -> AlertReach:
    """The reach of an alert version; a version never changes, so it is worked out once."""
    key = (alert.id, alert.version)
    reach = _CACHE.get(key)
    if reach is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        reach = _CACHE[key] = reach_of(alert)
    return reach
