"""市级"双随机"抽查 / the city's random draw: the population (enterprises the counties checked), the roster
(inspectors of the city), making a draw, showing it and reproducing it from its stored seed.

Who: only a city supervisor or an admin draws and sees draws. County supervisors do not: the city's draw
checks the counties' own work, so the county is not told in advance which of its enterprises are drawn.
Enterprise accounts never see anything of a draw (四不两直).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, tzinfo

import sqlalchemy as sa

from server.domain import sampling as rules
from server.domain.inspections import InspectionKind
from server.domain.roles import Role
from server.domain.sectors import Sector
from server.errors import (
    draw_not_allowed,
    no_campaign_to_draw,
    nothing_to_draw,
    redraw_reason_required,
    redraw_unconfirmed,
    roster_too_small,
    share_below_floor,
    share_not_a_percent,
)
from server.models import (
    Campaign,
    Enterprise,
    Inspection,
    Region,
    RegionLevel,
    SamplingAssignment,
    SamplingDraw,
    User,
)
from server.models.base import utcnow
from server.models.enterprise import SECTOR_COLUMNS
from server.services import DbSession, audit
from server.services.oversight import Window, campaign_for, campaign_window, counting_inspections
from server.services.scope import visible_enterprise_ids, visible_region_ids

#: The counties' own checks: what the city samples from.
COUNTY_KINDS = (InspectionKind.county.value, InspectionKind.unannounced.value)
#: Roles that draw and see draws.
DRAW_ROLES = frozenset({Role.city_supervisor, Role.admin})
#: The fixed order that decides the stratum of an enterprise with several sectors.
SECTOR_ORDER = tuple(s.value for s in Sector)


def may_draw(user: User) -> bool:
    """Whether ``user`` may draw and see draws (city supervisor or admin)."""
    return user.role in DRAW_ROLES


def _county_of(regions: dict[int, Region], region_id: int | None) -> int | None:
    """The county a region lies in (a zone's parent county); None for the city level or above."""
    node = regions.get(region_id) if region_id is not None else None
    while node is not None and node.level != RegionLevel.county:
        node = regions.get(node.parent_id) if node.parent_id is not None else None
    return node.id if node is not None else None


def _regions(session: DbSession) -> dict[int, Region]:
    return {r.id: r for r in session.scalars(sa.select(Region))}


def population(session: DbSession, user: User, campaign: Campaign, window: Window | None) -> list[rules.Unit]:
    """Enterprises in the user's scope with a counting county or unannounced inspection in the campaign's days."""
    query = sa.select(Inspection.enterprise_id).where(
        Inspection.id.in_(counting_inspections(session, user)),
        Inspection.kind.in_(COUNTY_KINDS),
    )
    if window is not None:
        query = query.where(window.inside(Inspection.finished_at))
    columns = [getattr(Enterprise, c) for c in SECTOR_COLUMNS.values()]
    rows = session.execute(
        sa.select(Enterprise.id, Enterprise.region_id, *columns).where(
            Enterprise.id.in_(visible_enterprise_ids(session, user)), Enterprise.id.in_(query.distinct())
        )
    ).all()
    regions = _regions(session)
    units = []
    for row in rows:
        sectors = tuple(s.value for s, flag in zip(SECTOR_COLUMNS, row[2:], strict=True) if flag)
        county = _county_of(regions, row.region_id)
        units.append(rules.Unit(str(row.id), None if county is None else str(county), sectors))
    return sorted(units, key=lambda u: u.id)


def roster(session: DbSession, user: User) -> list[rules.Inspector]:
    """Active inspectors in the user's scope; one whose region is the city itself is a city inspector."""
    query = sa.select(User.id, User.region_id).where(User.role == Role.inspector, User.active.is_(True))
    scope = visible_region_ids(session, user)
    if scope is not None:
        query = query.where(User.region_id.in_(scope))
    regions = _regions(session)
    inspectors = []
    for user_id, region_id in session.execute(query).all():
        county = _county_of(regions, region_id)
        inspectors.append(rules.Inspector(str(user_id), None if county is None else str(county)))
    return sorted(inspectors, key=lambda i: i.id)


def parse_percent(raw: str | int | None, campaign: Campaign) -> int:
    """The share asked for; never below the campaign's minimum nor the notice's 10 % (the domain's floor)."""
    minimum = max(campaign.sampling_percent or rules.MIN_SHARE_PERCENT, rules.MIN_SHARE_PERCENT)
    if raw is None or str(raw).strip() == "":
        return minimum
    text = str(raw).strip()
    if not text.isdigit():
        raise share_not_a_percent(value=text)
    percent = int(text)
    if not 1 <= percent <= 100:
        raise share_not_a_percent(value=text)
    if rules.share_problem(percent) is not None:
        raise share_below_floor(rule="通知", rule_en="notice", minimum=rules.MIN_SHARE_PERCENT)
    if percent < minimum:
        raise share_below_floor(rule="本次专项行动", rule_en="campaign", minimum=minimum)
    return percent


def official_draw(session: DbSession, campaign: Campaign, phase_code: str | None) -> SamplingDraw | None:
    """The phase's official draw: its latest (a re-draw replaces the one before, which stays on record)."""
    draws = session.scalars(
        sa.select(SamplingDraw)
        .where(SamplingDraw.campaign_id == campaign.id)
        .order_by(SamplingDraw.drawn_at.desc(), SamplingDraw.id)
    ).all()
    return next((d for d in draws if draw_phase(d) == phase_code), None)


def draw_phase(row: SamplingDraw) -> str | None:
    """The code of the campaign phase a draw was made in (None: made outside every phase)."""
    phase = row.notes.get("phase")
    return str(phase) if phase is not None else None


def make_draw(
    session: DbSession,
    user: User,
    percent: str | int | None,
    stratify: bool,
    *,
    today: date,
    tz: tzinfo,
    redraw_reason: str | None = None,
    confirmed: bool = False,
) -> SamplingDraw:
    """Draw with a seed from the cryptographic random source, write the draw and its assignments and audit it
    (``sampling.draw``); the caller commits.

    One official draw per campaign phase: a second one in the same phase is a re-draw, made only with a written
    reason and an explicit confirmation; it replaces the official draw, whose assignments are withdrawn from
    the inspectors' tablets, while the replaced draw stays listed and audited.
    """
    if not may_draw(user):
        raise draw_not_allowed()
    campaign = campaign_for(session, user)
    if campaign is None:
        raise no_campaign_to_draw()
    share = parse_percent(percent, campaign)
    phase = campaign.phase_on(today)
    phase_code = phase.code if phase is not None else None
    replaced = official_draw(session, campaign, phase_code)
    reason = (redraw_reason or "").strip()
    if replaced is not None:
        if len(reason) < rules.MIN_REDRAW_REASON:
            raise redraw_reason_required(min_chars=rules.MIN_REDRAW_REASON)
        if not confirmed:
            raise redraw_unconfirmed()
    seed_text = rules.new_seed()
    window = campaign_window(campaign, tz)
    units = population(session, user, campaign, window)
    if not units:
        raise nothing_to_draw()
    inspectors = roster(session, user)
    if len(inspectors) < rules.MIN_INSPECTORS:
        raise roster_too_small()
    result = rules.draw(units, inspectors, percent=share, seed=seed_text, stratify_by_sector=stratify,
                        sector_order=SECTOR_ORDER)  # fmt: skip
    row = SamplingDraw(
        campaign_id=campaign.id, drawn_by_id=user.id, seed=result.seed, percent=share, stratified=stratify,
        population_size=result.population_size, sample_size=result.sample_size,
        notes={
            # Everything the algorithm was given, so reproduction never depends on later data.
            "population": [[u.id, u.county, list(u.sectors)] for u in units],
            "roster": [[i.id, i.county] for i in inspectors],
            "inspectors_per_enterprise": result.inspectors_per_enterprise,
            "sector_order": list(SECTOR_ORDER),
            "strata": [[s.key, s.population, s.sample] for s in result.strata],
            "window": None if window is None else [window.starts_on.isoformat(), window.ends_on.isoformat()],
            "phase": phase_code,
            "seed_source": "secrets.token_hex(16)",
            "replaces": str(replaced.id) if replaced is not None else None,
            "redraw_reason": reason if replaced is not None else None,
        },
    )  # fmt: skip
    session.add(row)
    session.flush()
    ordinal = 0
    for assignment in result.assignments:
        for inspector_id in assignment.inspector_ids:
            ordinal += 1
            session.add(SamplingAssignment(
                draw_id=row.id, enterprise_id=uuid.UUID(assignment.enterprise_id), inspector_id=int(inspector_id),
                ordinal=ordinal, own_county=inspector_id in assignment.own_county_ids,
            ))  # fmt: skip
    if replaced is not None:
        withdrawn = utcnow()
        for called_off in replaced.assignments:
            if called_off.deleted_at is None:
                # A tombstone the inspectors' next pull carries: the replaced draw's visits are called off.
                called_off.deleted_at = withdrawn
                called_off.row_version += 1
    audit.record(session, user, "sampling.redraw" if replaced is not None else "sampling.draw", "sampling_draw", row.id, {
        "seed": result.seed, "percent": share, "stratified": stratify, "campaign_id": campaign.id,
        "population_size": result.population_size, "sample_size": result.sample_size,
        "enterprise_ids": [a.enterprise_id for a in result.assignments], "phase": phase_code,
        "replaces": str(replaced.id) if replaced is not None else None, "reason": reason or None,
    })  # fmt: skip
    session.flush()
    return row


def visible_draws(session: DbSession, user: User) -> sa.Select[SamplingDraw]:
    """Draws the user may see: none unless a city supervisor or admin; then those of campaigns in or
    above the user's region (the rule campaign_for uses)."""
    query = sa.select(SamplingDraw).order_by(SamplingDraw.drawn_at.desc(), SamplingDraw.id)
    if not may_draw(user):
        return query.where(sa.false())
    regions = visible_region_ids(session, user)
    if regions is None:
        return query
    above = {r.id for r in user.region.ancestors_and_self()} if user.region is not None else set()
    return query.where(
        SamplingDraw.campaign_id.in_(sa.select(Campaign.id).where(Campaign.region_id.in_(regions | above)))
    )


def reproduce(row: SamplingDraw) -> rules.Draw:
    """The draw the algorithm makes again from the stored seed, population and roster."""
    notes = row.notes
    units = [rules.Unit(i, c, tuple(s)) for i, c, s in notes["population"]]
    inspectors = [rules.Inspector(i, c) for i, c in notes["roster"]]
    return rules.draw(units, inspectors, percent=row.percent, seed=row.seed, stratify_by_sector=row.stratified,
                      inspectors_per_enterprise=notes["inspectors_per_enterprise"],
                      sector_order=notes["sector_order"])  # fmt: skip


def stored_assignments(row: SamplingDraw) -> dict[str, tuple[str, ...]]:
    """The stored assignments: enterprise id → inspector ids in the order drawn."""
    stored: dict[str, list[str]] = {}
    for a in sorted(row.assignments, key=lambda a: a.ordinal):
        stored.setdefault(str(a.enterprise_id), []).append(str(a.inspector_id))
    return {k: tuple(v) for k, v in stored.items()}


def reproduces(row: SamplingDraw) -> bool:
    """Whether re-running the algorithm with the stored seed and inputs gives the stored assignments."""
    again = reproduce(row)
    return {a.enterprise_id: a.inspector_ids for a in again.assignments} == stored_assignments(row)


@dataclass(frozen=True)
class DrawnInspector:
    """An assigned inspector as the draw's page shows them."""

    name: str
    badge_no: str | None
    county: str
    own_county: bool


@dataclass(frozen=True)
class DrawnEnterprise:
    """A drawn enterprise with its stratum and inspectors."""

    id: uuid.UUID
    name: str
    county: str
    stratum: str
    inspectors: list[DrawnInspector]

    @property
    def fallback(self) -> bool:
        """Own-county inspectors had to be used, or fewer than two were available."""
        return any(i.own_county for i in self.inspectors) or len(self.inspectors) < rules.MIN_INSPECTORS


def stratum_label(key: str) -> str:
    """The Chinese name of a stratum key."""
    if key == rules.NO_SECTOR:
        return "无行业标记"
    if key == rules.UNSTRATIFIED:
        return "全部（未分层）"
    try:
        return Sector(key).label_zh
    except ValueError:
        return key


def drawn_enterprises(session: DbSession, row: SamplingDraw) -> list[DrawnEnterprise]:
    """The draw's enterprises, by name, each with its inspectors in the order drawn."""
    regions = _regions(session)

    def county_name(region_id: int | None) -> str:
        county = _county_of(regions, region_id)
        return regions[county].name if county is not None else "市级"

    strata = {u[0]: rules.stratum_of(rules.Unit(u[0], u[1], tuple(u[2])), row.notes["sector_order"])
              for u in row.notes["population"]} if row.stratified else {}  # fmt: skip
    grouped: dict[uuid.UUID, list[SamplingAssignment]] = {}
    for a in sorted(row.assignments, key=lambda a: a.ordinal):
        grouped.setdefault(a.enterprise_id, []).append(a)
    result = []
    for enterprise_id, assignments in grouped.items():
        enterprise = assignments[0].enterprise
        result.append(DrawnEnterprise(
            id=enterprise_id, name=enterprise.name, county=county_name(enterprise.region_id),
            stratum=stratum_label(strata.get(str(enterprise_id), rules.UNSTRATIFIED)),
            inspectors=[DrawnInspector(a.inspector.display_name, a.inspector.badge_no,
                                       county_name(a.inspector.region_id), a.own_county) for a in assignments],
        ))  # fmt: skip
    return sorted(result, key=lambda e: (e.county, e.name))
