"""Great-circle distances on WGS-84 coordinates, for geofencing inspections and photos."""

from __future__ import annotations

import math

EARTH_MEAN_RADIUS_M = 6371008.8
"""The WGS-84 mean radius (IUGG R1); the haversine error against the ellipsoid stays under 0.5 %."""


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the haversine distance in metres between two WGS-84 points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    # Rounding can push `a` a hair outside [0, 1] for antipodal points, where asin would fail.
    a = min(1.0, max(0.0, a))
    return 2 * EARTH_MEAN_RADIUS_M * math.asin(math.sqrt(a))


def valid_lat_lon(lat: float, lon: float) -> bool:
    """Return True when lat is in [-90, 90] and lon in [-180, 180], both finite numbers (not bools)."""
    for v in (lat, lon):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return False
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0
