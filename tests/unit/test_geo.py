"""Tests for geographic helpers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.geo import EARTH_MEAN_RADIUS_M, distance_m, valid_lat_lon


def test_zero_distance() -> None:
    assert distance_m(37.0, 114.5, 37.0, 114.5) == 0.0


def test_one_degree_of_latitude() -> None:
    assert distance_m(0, 0, 1, 0) == pytest.approx(EARTH_MEAN_RADIUS_M * math.pi / 180, rel=1e-12)
    assert distance_m(0, 0, 1, 0) == pytest.approx(111_195.08, abs=0.01)


def test_known_city_distance() -> None:
    # Beijing (39.9042, 116.4074) to Shanghai (31.2304, 121.4737): about 1068 km on the sphere.
    assert distance_m(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1_067_000, rel=0.005)


def test_short_distance_inside_a_plant() -> None:
    # 0.001 degree of latitude is about 111 m.
    assert distance_m(37.0, 114.5, 37.001, 114.5) == pytest.approx(111.2, abs=0.1)


def test_antipodes_and_date_line() -> None:
    assert distance_m(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_MEAN_RADIUS_M)
    assert distance_m(10, 179.9, 10, -179.9) < 25_000


coords = st.tuples(st.floats(-90, 90), st.floats(-180, 180))


@given(coords, coords)
def test_symmetric_and_bounded(p: tuple[float, float], q: tuple[float, float]) -> None:
    d = distance_m(*p, *q)
    assert d == pytest.approx(distance_m(*q, *p), abs=1e-6)
    assert 0.0 <= d <= math.pi * EARTH_MEAN_RADIUS_M + 1e-6


@pytest.mark.parametrize(
    ("lat", "lon", "ok"),
    [
        (37.0, 114.5, True),
        (90, 180, True),
        (-90, -180, True),
        (0, 0, True),
        (90.0001, 0, False),
        (0, -180.5, False),
        (math.nan, 0, False),
        (0, math.inf, False),
        (True, 0, False),
        ("37", 114, False),
    ],
)
def test_valid_lat_lon(lat: float, lon: float, ok: bool) -> None:
    assert valid_lat_lon(lat, lon) is ok
