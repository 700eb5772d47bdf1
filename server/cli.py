"""`flask` commands: seed-demo, demo-logins, create-user, user/region/campaign, version, catalogue import,
import-enterprises, ledger, qr-posters."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from server.domain.roles import Role
from server.extensions import current_backend, db
from sync.problems import Problem

if TYPE_CHECKING:
    from server.models import Enterprise

catalogue_cli = AppGroup("catalogue", help="Checklist catalogues / 检查目录")
audit_cli = AppGroup("audit", help="The audit log / 审计日志")
ledger_cli = AppGroup("ledger", help="Self-inspection ledgers in Excel / 隐患自查台账")
region_cli = AppGroup("region", help="Regions / 行政区域")
campaign_cli = AppGroup("campaign", help="Campaigns and their phases / 专项行动")
user_cli = AppGroup("user", help="User accounts / 用户账号")
photo_store_cli = AppGroup("photo-store", help="The photo store (local folder or S3) / 照片存储")


def _problem_exit(problem: Problem) -> None:
    db.session.rollback()
    _fail(f"{problem.message('zh')}\n{problem.message('en')}")


@click.command("version")
@with_appcontext
def version_command() -> None:
    """The running version, the schema this code expects and the schema the database is at."""
    from server.services import operations

    database = operations.database_schema(db.session)
    expected = operations.code_schema_heads()
    click.echo(f"field-inspection {operations.app_version()}")
    click.echo(f"schema: code {', '.join(expected)}; database {', '.join(database) or '(not migrated)'}")
    if database != expected:
        click.echo(
            "数据库结构与代码不符，请运行 flask db upgrade / database schema differs: run flask db upgrade"
        )


@region_cli.command("create")
@click.option("--code", required=True, help="administrative code, e.g. 141123")
@click.option("--name", required=True)
@click.option("--level", type=click.Choice(["city", "county", "zone"]), required=True)
@click.option("--parent", "parent_code", default=None, help="the parent region's code (none for a city)")
@click.option("--authority", default=None, help="the issuing bureau, e.g. 兴县应急管理局")
def region_create_command(
    code: str, name: str, level: str, parent_code: str | None, authority: str | None
) -> None:
    """Add a region (city, county in a city, zone in a county)."""
    from server.models import RegionLevel
    from server.services.administration import create_region

    try:
        region = create_region(db.session, code=code, name=name, level=RegionLevel(level),
                               parent_code=parent_code, authority=authority)  # fmt: skip
    except Problem as problem:
        _problem_exit(problem)
        return
    db.session.commit()
    click.echo(f"created region {region.code} {region.name} ({region.level.value})")


@region_cli.command("list")
def region_list_command() -> None:
    """List regions."""
    import sqlalchemy as sa

    from server.models import Region

    for region in db.session.scalars(sa.select(Region).order_by(Region.code)):
        parent = region.parent.code if region.parent else "-"
        click.echo(f"{region.code}  {region.level.value:<6}  parent {parent:<8}  {region.name}")


def _phase(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[Any]:
    """--phase CODE:START:END (dates as YYYY-MM-DD)."""
    from datetime import date

    from server.services.administration import PhasePlan

    plans = []
    for value in values:
        try:
            code, start, end = value.split(":")
            plans.append(PhasePlan(code.strip(), date.fromisoformat(start), date.fromisoformat(end)))
        except ValueError:
            raise click.BadParameter(f"{value!r}: CODE:YYYY-MM-DD:YYYY-MM-DD") from None
    return plans


@campaign_cli.command("create")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--region", "region_code", required=True, help="the region it covers")
@click.option("--sampling-percent", default=10, show_default=True, type=int)
@click.option("--phase", "phases", multiple=True, callback=_phase, required=True,
              help="CODE:START:END, once per phase (deployment, self_inspection, county_coverage, city_sampling, "
                   "look_back)")  # fmt: skip
def campaign_create_command(
    code: str, name: str, region_code: str, sampling_percent: int, phases: list[Any]
) -> None:
    """Add a campaign with its phases."""
    from server.services.administration import create_campaign

    try:
        campaign = create_campaign(db.session, code=code, name=name, region_code=region_code,
                                   sampling_percent=sampling_percent, phases=phases)  # fmt: skip
    except Problem as problem:
        _problem_exit(problem)
        return
    db.session.commit()
    click.echo(f"created campaign {campaign.code} with {len(campaign.phases)} phases")


@campaign_cli.command("list")
def campaign_list_command() -> None:
    """List campaigns and their phases."""
    import sqlalchemy as sa

    from server.models import Campaign

    for campaign in db.session.scalars(sa.select(Campaign).order_by(Campaign.code)):
        click.echo(f"{campaign.code}  {campaign.region.code}  {campaign.name}")
        for phase in campaign.phases:
            click.echo(f"    {phase.code:<16} {phase.starts_on} .. {phase.ends_on}  {phase.name}")


@user_cli.command("list")
def user_list_command() -> None:
    """List accounts with their role, scope and state."""
    import sqlalchemy as sa

    from server.models import User

    for user in db.session.scalars(sa.select(User).order_by(User.username)):
        scope = user.region.code if user.region else "-"
        state = "active" if user.active else "DISABLED"
        click.echo(f"{user.username:<20} {user.role.value:<18} {scope:<8} {state}")


@user_cli.command("disable")
@click.argument("username")
def user_disable_command(username: str) -> None:
    """Disable an account: its sessions and its tablets stop working at once."""
    _set_active(username, False)


@user_cli.command("enable")
@click.argument("username")
def user_enable_command(username: str) -> None:
    """Enable a disabled account again."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    from server.services.administration import set_active

    try:
        set_active(db.session, username, active)
    except Problem as problem:
        _problem_exit(problem)
        return
    db.session.commit()
    click.echo(f"{'enabled' if active else 'disabled'} {username}")


@user_cli.command("reset-password")
@click.argument("username")
@click.password_option(help="10+ characters of two kinds, not the user name; asked for when not given")
def user_reset_password_command(username: str, password: str) -> None:
    """Give an account a new password."""
    from server.services.administration import reset_password

    try:
        reset_password(db.session, username, password)
    except Problem as problem:
        _problem_exit(problem)
        return
    db.session.commit()
    click.echo(f"password reset for {username}")


@audit_cli.command("verify")
def audit_verify_command() -> None:
    """Check the audit log's keyed hash chain and its anchor file; name every broken row."""
    from server.services.audit import settings, verify_all

    held, breaks = verify_all(db.session, settings())
    if not breaks:
        click.echo(f"审计链完整 / audit chain intact: {held} rows")
        return
    for broken in breaks:
        where = (
            f"第 {broken.row_id} 行 / row {broken.row_id}"
            if broken.row_id is not None
            else "锚定文件 / anchor"
        )
        click.echo(f"审计链断开 / audit chain broken: {where}: {broken.reason}", err=True)
    _fail(f"审计链有 {len(breaks)} 处断开 / {len(breaks)} breaks ({held} rows hold)")


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.command("seed-demo")
@with_appcontext
@click.option("--i-know-this-is-a-demo", "is_demo", is_flag=True, help="run although DEMO=1 is not set")
def seed_demo_command(is_demo: bool) -> None:
    """Load the demo county (idempotent): regions, users, enterprises, catalogue, campaign, and the
    campaign's activity so far (tablets, inspections, hazards, photos in the media store).

    Refused outside a demo setup (DEMO=1): its accounts share a published password."""
    from server.demo.county import seed_demo

    if not (is_demo or current_app.config["DEMO"]):
        _fail(
            "拒绝执行：演示数据的账号使用公开的密码，不能装入正式系统。演示环境请设置 DEMO=1 或加 --i-know-this-is-a-demo。\n"
            "Refused: the demo's accounts share a published password and must never reach a real installation. "
            "For a demo setup set DEMO=1 or pass --i-know-this-is-a-demo.",
            2,
        )

    summary = seed_demo(db.session)
    db.session.commit()
    click.echo(summary)


@click.command("demo-logins")
@with_appcontext
def demo_logins_command() -> None:
    """Print the demo users' logins."""
    from server.demo.county import demo_logins_text

    click.echo(demo_logins_text())


@click.command("create-user")
@with_appcontext
@click.option("--username", required=True)
@click.option("--name", "display_name", default="", help="display name (defaults to the user name)")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--region", "region_code", default=None, help="region code, e.g. 141123")
@click.option("--enterprise", "credit_code", default=None, help="credit code, for an enterprise user")
@click.option("--badge-no", default=None, help="执法证号 of an inspector")
@click.password_option(help="10+ characters of two kinds, not the user name; asked for when not given")
def create_user_command(
    username: str,
    display_name: str,
    role: str,
    region_code: str | None,
    credit_code: str | None,
    badge_no: str | None,
    password: str,
) -> None:
    """Create a user with a role and a scope."""
    import sqlalchemy as sa

    from server.models import Enterprise, Region
    from server.services.users import create_user

    region = enterprise = None
    if region_code:
        region = db.session.scalar(sa.select(Region).where(Region.code == region_code))
        if region is None:
            _fail(f"区域 {region_code} 不存在 / no region with code {region_code}")
    if credit_code:
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == credit_code))
        if enterprise is None:
            _fail(f"企业 {credit_code} 不存在 / no enterprise with credit code {credit_code}")
    try:
        user = create_user(
            db.session,
            username=username,
            password=password,
            display_name=display_name,
            role=Role(role),
            region=region,
            enterprise=enterprise,
            badge_no=badge_no,
        )
    except Problem as problem:
        _fail(f"{problem.message('zh')} / {problem.message('en')}")
        return
    db.session.commit()
    click.echo(f"created user {user.username} ({user.role.value}) id={user.id}")


@catalogue_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="replace an existing version that no inspection uses yet")
def catalogue_import_command(path: Path, replace: bool) -> None:
    """Validate a catalogue file and add it as a new version."""
    from server.catalogue.loader import CatalogueError, load_catalogue_file
    from server.services.catalogues import import_catalogue

    try:
        spec = load_catalogue_file(path)
    except CatalogueError as error:
        _fail(f"检查目录文件有误 / invalid catalogue file {path.name}:\n{error}")
        return
    try:
        outcome = import_catalogue(db.session, spec, replace=replace)
    except Problem as problem:
        db.session.rollback()
        _fail(f"{problem.message('zh')}\n{problem.message('en')}")
        return
    db.session.commit()
    key = sum(1 for item in spec.items if item.section == "key")
    click.echo(
        f"{outcome.action}: {spec.code} v{spec.version} — {key} key items, "
        f"{len(spec.items) - key} management items"
    )


@catalogue_cli.command("list")
def catalogue_list_command() -> None:
    """List catalogue versions."""
    import sqlalchemy as sa

    from server.models import Catalogue
    from server.services.catalogues import catalogue_in_use_by_inspections

    for cat in db.session.scalars(sa.select(Catalogue).order_by(Catalogue.code, Catalogue.version)):
        used = "in use" if catalogue_in_use_by_inspections(db.session, cat.id) else "unused"
        click.echo(f"{cat.code} v{cat.version}  {len(cat.items)} items  {used}  {cat.title}")


@click.command("import-enterprises")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--region", "default_region", default=None, help="region code for rows that name none")
@click.option("--dry-run", is_flag=True, help="check the file and report, write nothing")
@click.option("--strict", is_flag=True, help="write nothing when any row is bad")
def import_enterprises_command(path: Path, default_region: str | None, dry_run: bool, strict: bool) -> None:
    """Import or update enterprises from .xlsx or .csv (Chinese headers); re-import updates by credit code."""
    from server.services.enterprise_import import import_enterprises

    try:
        report = import_enterprises(
            db.session, path, default_region_code=default_region, dry_run=dry_run, strict=strict
        )
    except Problem as problem:
        db.session.rollback()
        _fail(f"{problem.message('zh')}\n{problem.message('en')}")
        return
    if dry_run or (strict and report.errors):
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(report.as_text())
    if report.errors:
        sys.exit(1)


def _enterprise_by_code(credit_code: str) -> Enterprise:
    """The enterprise with this credit code (exits with a message when there is none)."""
    import sqlalchemy as sa

    from server.models import Enterprise

    enterprise = db.session.scalar(
        sa.select(Enterprise).where(Enterprise.credit_code == credit_code.strip().upper())
    )
    if enterprise is None:
        _fail(f"找不到统一社会信用代码为 {credit_code} 的企业 / no enterprise with credit code {credit_code}")
        raise SystemExit(1)
    return enterprise


@ledger_cli.command("template")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def ledger_template_command(out: Path) -> None:
    """Write the empty ledger template (.xlsx) with drop-downs, an example row and a 说明 sheet."""
    from server.services.ledger_excel import ledger_template

    out.write_bytes(ledger_template())
    click.echo(f"台账模板已写入 / template written: {out}")


@ledger_cli.command("import")
@click.argument("credit_code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="check the file and report, write nothing")
@click.option("--strict", is_flag=True, help="write nothing when any row is bad")
def ledger_import_command(credit_code: str, path: Path, dry_run: bool, strict: bool) -> None:
    """Import an enterprise's self-inspection ledger (.xlsx or .csv); re-importing the same file changes nothing."""
    from server.services.ledger_excel import import_ledger

    enterprise = _enterprise_by_code(credit_code)
    try:
        report = import_ledger(db.session, enterprise, path, actor=None, dry_run=dry_run, strict=strict)
    except Problem as problem:
        db.session.rollback()
        _fail(f"{problem.message('zh')}\n{problem.message('en')}")
        return
    if report.written:
        db.session.commit()
    else:
        db.session.rollback()
    click.echo(report.as_text())
    if report.errors:
        sys.exit(1)


@ledger_cli.command("export")
@click.argument("credit_code")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def ledger_export_command(credit_code: str, out: Path) -> None:
    """Write an enterprise's ledger (its own entries, and the regulators' findings of submitted inspections)."""
    from server.services.ledger_excel import export_ledger

    enterprise = _enterprise_by_code(credit_code)
    out.write_bytes(export_ledger(db.session, enterprise))
    click.echo(f"台账已导出 / ledger exported: {out}")


@click.command("qr-posters")
@with_appcontext
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="output folder (default: instance/qr-posters)",
)
@click.option(
    "--reissue", "reissue", multiple=True, help="credit code whose code to re-issue (revokes the old)"
)
def qr_posters_command(out_dir: Path | None, reissue: tuple[str, ...]) -> None:
    """Write a PNG poster per enterprise plus one printable sheet (HTML and PDF) for all."""
    from server.documents.posters import write_posters

    target = out_dir or Path(current_app.instance_path) / "qr-posters"
    try:
        result = write_posters(db.session, target, reissue=list(reissue))
    except Problem as problem:
        db.session.rollback()
        _fail(f"{problem.message('zh')}\n{problem.message('en')}")
        return
    db.session.commit()
    click.echo(result.as_text())


@photo_store_cli.command("check")
def photo_store_check_command() -> None:
    """Whether the photo store answers, and how many recorded photos have no bytes in it."""
    from server.services.photo_backup import recorded_blobs

    store = current_backend().blobs
    try:
        store.check()
    except Problem as problem:
        _problem_exit(problem)
        return
    lost = [sha for sha in recorded_blobs(db.session) if not store.has(sha)]
    click.echo(
        f"photo store ({current_app.config['PHOTO_STORE']}) reachable; {len(lost)} recorded photos lack their bytes"
    )
    for sha in lost:
        click.echo(f"missing: {sha}")
    if lost:
        sys.exit(1)


@photo_store_cli.command("export")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--link-dest", "previous", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="a previous export: files it holds are hard-linked instead of copied")  # fmt: skip
def photo_store_export_command(dest: Path, previous: Path | None) -> None:
    """Copy every recorded photo out of the store into DEST (hash-checked); fails if any is missing."""
    from server.services.photo_backup import export_blobs

    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    report = export_blobs(db.session, current_backend().blobs, dest, previous)
    click.echo(report.as_text())
    if report.missing:
        sys.exit(1)


@photo_store_cli.command("import")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def photo_store_import_command(source: Path) -> None:
    """Put the photos of an export (or a local media folder) into the configured store, verified."""
    from server.services.photo_backup import import_blobs

    report = import_blobs(current_backend().blobs, source)
    click.echo(report.as_text())
    if report.missing:
        sys.exit(1)


def init_app(app: Flask) -> None:
    """Register the commands on ``app``."""
    for command in (
        seed_demo_command,
        demo_logins_command,
        create_user_command,
        import_enterprises_command,
        qr_posters_command,
        version_command,
    ):
        app.cli.add_command(command)
    for group in (region_cli, campaign_cli, user_cli, photo_store_cli):
        app.cli.add_command(group)
    app.cli.add_command(catalogue_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(ledger_cli)
