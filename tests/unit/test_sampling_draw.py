"""The city's 双随机 draw: reproducible from its seed, and keeping its bounds whatever the input."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.sampling import (
    NO_SECTOR,
    Inspector,
    Unit,
    allocate,
    draw,
    new_seed,
    sample_size,
    stratum_of,
)

SECTORS = ("steel", "aluminium_casting", "dust_explosion", "gas_area")
COUNTIES = ("xx", "lx", "fy")

units = st.lists(
    st.builds(
        Unit,
        id=st.uuids().map(str),
        county=st.sampled_from(COUNTIES),
        sectors=st.lists(st.sampled_from(SECTORS), unique=True, max_size=3).map(tuple),
    ),
    max_size=60,
    unique_by=lambda u: u.id,
)
rosters = st.lists(
    st.builds(Inspector, id=st.integers(1, 500).map(str), county=st.sampled_from((*COUNTIES, None))),
    max_size=15,
    unique_by=lambda i: i.id,
)
params = st.fixed_dictionaries(
    {"percent": st.integers(1, 100), "seed": st.text(max_size=12), "stratify_by_sector": st.booleans()}
)


def run(population: list[Unit], roster: list[Inspector], p: dict[str, object]):  # type: ignore[no-untyped-def]
    return draw(population, roster, sector_order=SECTORS, **p)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(units, rosters, params, st.randoms(use_true_random=False))
def test_same_seed_same_draw_whatever_the_input_order(population, roster, p, shuffler) -> None:  # type: ignore[no-untyped-def]
    first = run(population, roster, p)
    shuffled_population, shuffled_roster = list(population), list(roster)
    shuffler.shuffle(shuffled_population)
    shuffler.shuffle(shuffled_roster)
    assert run(shuffled_population, shuffled_roster, p) == first


@settings(max_examples=200, deadline=None)
@given(units, rosters, params)
def test_draw_keeps_its_bounds(population, roster, p) -> None:  # type: ignore[no-untyped-def]
    result = run(population, roster, p)
    n = len(population)
    drawn = [a.enterprise_id for a in result.assignments]
    # 抽查比例：not below the asked share, nobody twice, at least one when there is anyone.
    assert len(set(drawn)) == len(drawn)
    assert result.sample_size * 100 >= p["percent"] * n  # type: ignore[operator]
    assert result.sample_size == (min(n, max(1, math.ceil(n * p["percent"] / 100))) if n else 0)  # type: ignore[operator]
    assert set(drawn) <= {u.id for u in population}
    counties = {u.id: u.county for u in population}
    by_county = {i.id: i.county for i in roster}
    for a in result.assignments:
        # Two distinct inspectors whenever the roster has two.
        assert len(set(a.inspector_ids)) == len(a.inspector_ids)
        assert len(a.inspector_ids) == min(2, len(roster))
        others = [i for i in roster if i.county != counties[a.enterprise_id]]
        own_used = [i for i in a.inspector_ids if by_county[i] == counties[a.enterprise_id]]
        assert set(own_used) == set(a.own_county_ids)
        if len(others) >= 2:
            assert own_used == []
        else:
            assert len(own_used) == min(2, len(roster)) - len(others)
    if p["stratify_by_sector"]:
        sizes: dict[str, int] = {}
        for u in population:
            sizes[stratum_of(u, SECTORS)] = sizes.get(stratum_of(u, SECTORS), 0) + 1
        drawn_per: dict[str, int] = {}
        stratum = {u.id: stratum_of(u, SECTORS) for u in population}
        for a in result.assignments:
            assert a.stratum == stratum[a.enterprise_id]
            drawn_per[a.stratum] = drawn_per.get(a.stratum, 0) + 1
        for key, size in sizes.items():
            # Proportional within 1 of the exact share.
            assert abs(drawn_per.get(key, 0) - size * result.sample_size / n) < 1
        assert {s.key: s.sample for s in result.strata} == {k: drawn_per.get(k, 0) for k in sizes}


@settings(max_examples=100, deadline=None)
@given(units, rosters, params)
def test_workload_is_balanced(population, roster, p) -> None:  # type: ignore[no-untyped-def]
    """With everyone eligible (no county shares), nobody gets two more assignments than anybody else."""
    city_roster = [Inspector(i.id, None) for i in roster]
    result = run(population, city_roster, p)
    load = {i.id: 0 for i in city_roster}
    for a in result.assignments:
        for inspector in a.inspector_ids:
            load[inspector] += 1
    if load:
        assert max(load.values()) - min(load.values()) <= 1


def test_different_seeds_usually_differ_and_seed_is_text() -> None:
    population = [Unit(f"e{i:03}", "xx" if i % 2 else "lx", ("steel",)) for i in range(100)]
    roster = [Inspector(str(i), "xx" if i < 4 else "lx") for i in range(8)]
    a = draw(population, roster, percent=10, seed="alpha", stratify_by_sector=False)
    b = draw(population, roster, percent=10, seed="beta", stratify_by_sector=False)
    assert a.seed == "alpha" and a != b
    # An int seed and its text are the same seed (the seed is shown and stored as text).
    assert draw(population, roster, percent=10, seed=42, stratify_by_sector=False) == draw(
        population, roster, percent=10, seed="42", stratify_by_sector=False
    )


def test_city_inspectors_count_as_others_and_fallback_is_reported() -> None:
    population = [Unit("e1", "xx", ()), Unit("e2", "lx", ())]
    roster = [Inspector("a", "xx"), Inspector("b", "xx"), Inspector("c", None)]
    result = draw(population, roster, percent=100, seed=1, stratify_by_sector=False)
    by_id = {a.enterprise_id: a for a in result.assignments}
    # 兴县 enterprise: one city inspector, then one own-county inspector flagged.
    assert "c" in by_id["e1"].inspector_ids and len(by_id["e1"].own_county_ids) == 1
    assert by_id["e2"].own_county_ids == () and len(by_id["e2"].inspector_ids) == 2
    assert result.fallbacks == (by_id["e1"],)


def test_sizes_and_allocation() -> None:
    assert sample_size(0, 10) == 0
    assert sample_size(1, 10) == 1
    assert sample_size(15, 10) == 2
    assert sample_size(20, 10) == 2
    assert sample_size(5, 100) == 5
    assert allocate({"a": 5, "b": 3, "c": 2}, 3) == {"a": 1, "b": 1, "c": 1}
    assert allocate({"a": 6, "b": 3, "c": 1}, 3) == {"a": 2, "b": 1, "c": 0}
    assert sum(allocate({"a": 1, "b": 1, "c": 1}, 2).values()) == 2
    assert stratum_of(Unit("x", None, ("gas_area", "steel")), SECTORS) == "steel"
    assert stratum_of(Unit("x", None, ()), SECTORS) == NO_SECTOR


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        draw([], [], percent=0, seed=1, stratify_by_sector=False)
    with pytest.raises(ValueError):
        draw([], [], percent=10, seed=1, stratify_by_sector=False, inspectors_per_enterprise=1)


def test_new_seed_is_128_random_bits_in_hex() -> None:
    seeds = {new_seed() for _ in range(20)}
    assert len(seeds) == 20 and all(len(s) == 32 and int(s, 16) >= 0 for s in seeds)
    assert random.Random(next(iter(seeds))).random() >= 0


def test_the_share_never_goes_below_the_notices_ten_percent() -> None:
    from server.domain.sampling import MIN_SHARE_PERCENT, share_problem

    assert MIN_SHARE_PERCENT == 10
    assert share_problem(9) is not None and "10%" in (share_problem(5) or "")
    assert share_problem(10) is None and share_problem(100) is None
    assert share_problem(0) is not None and share_problem(101) is not None
