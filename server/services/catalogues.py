"""Adding catalogue versions from files, and keeping a version immutable once inspections use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event

from server.errors import catalogue_in_use
from server.models import Catalogue, CatalogueItem, Inspection
from server.services import DbSession

if TYPE_CHECKING:
    from server.catalogue.loader import CatalogueSpec


@dataclass(frozen=True)
class ImportOutcome:
    """What importing a catalogue file did."""

    catalogue: Catalogue
    action: str  # "created", "unchanged" or "replaced"


class InUseItemsCache:
    """A worker's copy of what it read of the items of catalogue versions that inspections use, by version id.
    Such a version never changes (``install_immutability_guard`` refuses any edit or deletion of it, and an
    inspection is never deleted, only marked so), so the copy is never stale, on any worker of any server. A
    version no inspection uses yet may still be replaced: it is never kept."""

    #: Past this many versions the copy starts again (a bureau has a handful).
    LIMIT = 100

    def __init__(self) -> None:
        self._items: dict[Any, Any] = {}

    def get(self, catalogue_id: Any) -> Any:
        """The items kept for this version, or None."""
        return self._items.get(catalogue_id)

    def keep(self, catalogue_id: Any, items: Any) -> None:
        """Keep a version's items: only once a committed inspection uses the version."""
        if len(self._items) >= self.LIMIT:
            self._items.clear()
        self._items[catalogue_id] = items


def catalogue_in_use_by_inspections(session: DbSession, catalogue_id: Any) -> bool:
    """True when any inspection references this catalogue version."""
    query = sa.select(sa.literal(1)).where(Inspection.catalogue_id == catalogue_id).limit(1)
    return session.scalar(query) is not None


def import_catalogue(session: DbSession, spec: CatalogueSpec, *, replace: bool = False) -> ImportOutcome:
    """Add the catalogue version ``spec`` describes.

    The same file twice is a no-op. A file for an existing code and version with other content is
    refused unless ``replace`` is given and no inspection uses that version yet.
    """
    same_content = session.scalar(sa.select(Catalogue).where(Catalogue.content_sha256 == spec.sha256))
    if same_content is not None:
        return ImportOutcome(same_content, "unchanged")
    existing = session.scalar(
        sa.select(Catalogue).where(Catalogue.code == spec.code, Catalogue.version == spec.version)
    )
    if existing is not None:
        if catalogue_in_use_by_inspections(session, existing.id) or not replace:
            raise catalogue_in_use(code=spec.code, version=spec.version)
        existing.items.clear()
        session.flush()
        _fill(existing, spec)
        existing.row_version += 1
        session.flush()
        return ImportOutcome(existing, "replaced")
    catalogue = Catalogue(code=spec.code, version=spec.version)
    _fill(catalogue, spec)
    session.add(catalogue)
    session.flush()
    return ImportOutcome(catalogue, "created")


def _fill(catalogue: Catalogue, spec: CatalogueSpec) -> None:
    catalogue.title = spec.title
    catalogue.source = spec.source
    catalogue.notes = spec.notes
    catalogue.effective_from = spec.effective_from
    catalogue.effective_to = spec.effective_to
    catalogue.five_terms = [list(term) for term in spec.five_terms]
    catalogue.content_sha256 = spec.sha256
    catalogue.items = [
        CatalogueItem(
            code=item.code,
            ordinal=item.ordinal,
            section=item.section,
            sector=item.sector,
            text=item.text,
            legal_basis=item.legal_basis,
            default_level=item.default_level,
            applies_when=item.applies_when.to_dict(),
            source=item.source,
            verification=item.verification,
        )
        for item in spec.items
    ]


#: Bookkeeping columns the server may touch on any row without changing what the catalogue says.
_BOOKKEEPING = frozenset({"change_no", "row_version", "updated_at", "deleted_at"})


def _content_changed(obj: Any) -> bool:
    state = sa.inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in _BOOKKEEPING)


def _refuse_changes_to_used_versions(session: DbSession, _context: Any, _instances: Any) -> None:
    """Model-level guard: no code path may edit or delete a catalogue version an inspection uses."""
    touched: set[Any] = set()
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Catalogue | CatalogueItem) and (obj in session.deleted or _content_changed(obj)):
            touched.add(obj.id if isinstance(obj, Catalogue) else obj.catalogue_id)
    for catalogue_id in touched:
        if catalogue_id is not None and catalogue_in_use_by_inspections(session, catalogue_id):
            catalogue = session.get(Catalogue, catalogue_id)
            raise catalogue_in_use(
                code=catalogue.code if catalogue else "?", version=catalogue.version if catalogue else "?"
            )


def install_immutability_guard(session_factory: Any) -> None:
    """Check every flush of sessions from ``session_factory`` against the immutability rule."""
    if not event.contains(session_factory, "before_flush", _refuse_changes_to_used_versions):
        event.listen(session_factory, "before_flush", _refuse_changes_to_used_versions)
