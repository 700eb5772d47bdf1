"""`flask catalogue import`: validation with line/item named, new versions, immutability once used."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.catalogue.loader import default_catalogue_path
from server.domain.inspections import InspectionKind
from server.extensions import db
from server.models import Catalogue, CatalogueItem, Enterprise, Inspection
from sync.problems import Problem


def _run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def _variant(tmp_path: Path, old: str, new: str, name: str = "cat.toml") -> Path:
    text = default_catalogue_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_default_catalogue_is_loaded_with_25_key_items(app: Flask) -> None:
    with app.app_context():
        catalogue = db.session.scalar(sa.select(Catalogue))
        assert catalogue is not None
        key = [i for i in catalogue.items if i.section == "key"]
        assert len(key) == 25
        assert [i.code for i in key][:3] == ["ST-1", "ST-2", "ST-3"]
        dust = next(i for i in key if i.code == "DU-1")
        assert dust.applies_when["min_dust_workers"] == 10
        assert any(i.section == "management" for i in catalogue.items)


def test_importing_the_same_file_again_changes_nothing(app: Flask) -> None:
    code, output = _run(app, "catalogue", "import", str(default_catalogue_path()))
    assert code == 0, output
    assert "unchanged" in output


def test_new_version_is_added_beside_the_old(app: Flask, tmp_path: Path) -> None:
    path = _variant(tmp_path, "version = 1", "version = 2")
    code, output = _run(app, "catalogue", "import", str(path))
    assert code == 0, output
    assert "created" in output and "25 key items" in output
    with app.app_context():
        versions = db.session.scalars(sa.select(Catalogue.version).order_by(Catalogue.version)).all()
    assert versions == [1, 2]


def test_broken_file_is_refused_naming_line_and_item(app: Flask, tmp_path: Path) -> None:
    path = _variant(tmp_path, 'code = "DU-2"', 'code = "DU-1"')
    code, output = _run(app, "catalogue", "import", str(path))
    assert code == 1
    assert "DU-1" in output
    assert "cat.toml:" in output  # file:line
    syntax = tmp_path / "syntax.toml"
    syntax.write_text("[catalogue]\ncode = \n", encoding="utf-8")
    code, output = _run(app, "catalogue", "import", str(syntax))
    assert code == 1
    assert "syntax.toml:2" in output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Catalogue)) == 1


def test_version_used_by_an_inspection_is_immutable(app: Flask, tmp_path: Path) -> None:
    # Version 2, which no inspection uses yet (the demo's inspections use version 1).
    code, output = _run(
        app, "catalogue", "import", str(_variant(tmp_path, "version = 1", "version = 2", name="v2.toml"))
    )
    assert code == 0 and "created" in output, output
    changed = _variant(tmp_path, "version = 1", "version = 2\n# a county's correction", name="changed.toml")
    # Unused: a replacement is allowed, but only when asked for explicitly.
    code, output = _run(app, "catalogue", "import", str(changed))
    assert code == 1 and "不可修改" in output
    code, output = _run(app, "catalogue", "import", "--replace", str(changed))
    assert code == 0 and "replaced" in output, output
    with app.app_context():
        catalogue = db.session.scalar(sa.select(Catalogue).where(Catalogue.version == 2))
        enterprise = db.session.scalar(sa.select(Enterprise).limit(1))
        assert catalogue is not None and enterprise is not None
        db.session.add(
            Inspection(
                id=uuid.uuid4(), enterprise=enterprise, catalogue=catalogue, kind=InspectionKind.county,
                started_at=datetime.now(UTC),
            )
        )  # fmt: skip
        db.session.commit()
    again = _variant(tmp_path, "version = 1", "version = 2\n# another correction", name="again.toml")
    code, output = _run(app, "catalogue", "import", "--replace", str(again))
    assert code == 1
    assert "不可修改" in output and "cannot change" in output
    with app.app_context():
        item = db.session.scalar(
            sa.select(CatalogueItem)
            .join(Catalogue)
            .where(Catalogue.version == 2, CatalogueItem.code == "ST-1")
        )
        assert item is not None
        item.text = "改过的文字"
        with pytest.raises(Problem) as refused:
            db.session.flush()
        assert refused.value.code == "409.2"
        db.session.rollback()
