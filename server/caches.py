"""What the app keeps between requests besides the database: its caches of 清零 verdicts, of the dashboard's
counts and weekly trends and of scope reconciliations (each stamped with the change counter, so never stale),
and of users' sync scopes (stamped with what a scope is built from); shared by the pages, the API and sync."""

from __future__ import annotations

import gc
from typing import Any

from flask import current_app

from server import clock
from server.extensions import db
from server.services import oversight, progress_report, trends
from server.services.catalogues import InUseItemsCache
from server.services.mapclusters import MapLayersCache
from server.services.oversight.contributions import ContributionCache
from server.services.oversight.stamped import StampedCache
from server.services.reconciliation import ReconciliationCache
from server.services.scope import ScopeCache


def clearance_cache() -> oversight.ClearanceCache:
    """This app's cache of 清零 verdicts (stamped with the change counter, so never stale)."""
    return current_app.extensions.setdefault("clearance_cache", oversight.ClearanceCache())


def warm_clearance_cache(app: Any) -> None:
    """Decide every enterprise's 清零 once, and keep the map's layers, so that the first dashboard or map after
    a (re)start is not the one that pays for it; run by gunicorn in a thread as each worker starts
    (deploy/gunicorn.conf.py)."""
    with app.app_context():
        try:
            oversight.all_clearances(db.session, clock.today(), clearance_cache())
            map_layers_cache().layers(db.session, clock.today())
        except Exception:  # a cold cache is only slower: never let warming take a worker down
            current_app.logger.exception("warming the 清零 cache failed")
        finally:
            db.session.remove()


def warm_and_freeze_caches(app: Any) -> None:
    """Warm the 清零 cache and the map's layers as ``warm_clearance_cache`` does, then freeze what they keep out
    of the garbage collector's full scans; run once per worker, in a thread, by deploy/gunicorn.conf.py.

    Freezing cannot strand garbage that exists: a full collection runs just before. What is frozen is never
    walked by the cyclic collector again, but reference counting still frees it: the kept verdicts and layers
    are acyclic (dataclasses, tuples, dicts, UUIDs), so a patch or an eviction that drops them frees them as
    before. Only a reference cycle alive in a request served at that instant and dropped later would stay until
    the worker exits: at most once per worker, and a worker's first seconds serve few requests."""
    warm_clearance_cache(app)
    gc.collect()
    gc.freeze()


def reconciliation_cache() -> ReconciliationCache:
    """This app's cache of scope reconciliations (stamped with the change counter, so never stale)."""
    return current_app.extensions.setdefault("reconciliation_cache", ReconciliationCache())


def trends_cache() -> trends.TrendsCache:
    """This app's cache of the dashboard's weekly trends (stamped with the change counter, so never stale)."""
    return current_app.extensions.setdefault("trends_cache", trends.TrendsCache())


def catalogue_items_cache() -> InUseItemsCache:
    """This app's copy of the items of catalogue versions in use, for pushes (immutable, so never stale)."""
    return current_app.extensions.setdefault("catalogue_items_cache", InUseItemsCache())


def scope_cache() -> ScopeCache:
    """This app's cache of users' scopes for sync requests (stamped with what a scope is built from)."""
    return current_app.extensions.setdefault("scope_cache", ScopeCache())


def dashboard_cache() -> StampedCache:
    """This app's cache of the dashboard's coverage, 清零 and hazard counts per viewer (stamped with the change
    counter, so never stale)."""
    return current_app.extensions.setdefault("dashboard_cache", StampedCache())


def contribution_cache() -> ContributionCache:
    """This app's cache of each enterprise's part of the dashboard's coverage, hazard counts and weekly trends
    (stamped with the change counter, and patched with the enterprises written since)."""
    return current_app.extensions.setdefault("contribution_cache", ContributionCache())


def map_layers_cache() -> MapLayersCache:
    """This app's map layers kept per enterprise (stamped with the change counter, and patched with the
    enterprises written since)."""
    return current_app.extensions.setdefault("map_layers_cache", MapLayersCache())


def report_cache() -> progress_report.ReportCache:
    """This app's cache of the monthly report's figures per scope and period (stamped with the change counter, so
    never stale)."""
    return current_app.extensions.setdefault("report_cache", progress_report.ReportCache())
