"""HTTP endpoints of the sync protocol: push, pull and (via blob_views) photo uploads."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from sync import engine, problems
from sync.backend import BackendGetter, SyncBackend
from sync.principal import Principal
from sync.protocol import (
    ChangeEncoder,
    ProblemSchema,
    PullQuerySchema,
    PullReplySchema,
    PushReplySchema,
    PushRequestSchema,
)

log = logging.getLogger(__name__)

_DOC_AUTH = "Requires `Authorization: Bearer <device token>` (POST /api/devices issues it)."


class _BodyKeepingParser(FlaskParser):
    """webargs' parser, keeping the JSON body it decoded for the view (a push needs the mutations as sent too,
    and decoding hundreds of them twice was a visible part of a push)."""

    def _raw_load_json(self, req: Any) -> Any:
        body = super()._raw_load_json(req)
        g.sync_json_body = body
        return body


class _SyncBlueprint(Blueprint):
    """A blueprint whose views can read the decoded JSON body (``g.sync_json_body``) without decoding it again."""

    ARGUMENTS_PARSER = _BodyKeepingParser()


def create_blueprint(backend: BackendGetter) -> Blueprint:
    """The /api/sync blueprint, bound to the application's backend."""
    blp = _SyncBlueprint("sync", __name__, url_prefix="/api/sync", description="Sync protocol / 同步协议")

    @blp.before_request
    def _limit_push_size() -> None:
        if request.endpoint == "sync.push":
            limit = backend().limits.max_push_bytes
            size = request.content_length
            if size is not None and size > limit:
                raise problems.batch_too_large(limit=limit, size=size)

    @blp.route("/push", methods=["POST"])
    @blp.arguments(PushRequestSchema)
    @blp.response(200, PushReplySchema)
    @blp.alt_response(
        503,
        schema=ProblemSchema,
        description="503.1: the database is busy with other devices' pushes; nothing was changed. Retry after "
        "the `Retry-After` seconds.",
        headers={
            "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
        },
    )
    @blp.doc(description=_DOC_AUTH + " Applies the batch exactly once and in seq order (DESIGN §4).")
    def push(payload: dict[str, Any]) -> Any:
        """Push a batch of outbox mutations."""
        sync = backend()
        principal = sync.authenticate()
        limit = sync.limits.max_mutations
        if len(payload["mutations"]) > limit:
            raise problems.too_many_mutations(limit=limit, count=len(payload["mutations"]))
        # The body as webargs decoded it before loading the payload from it: the mutations as sent, for digests.
        raw = g.pop("sync_json_body")["mutations"]
        mutations = [
            engine.parse_mutation({**loaded, "_raw": sent})
            for loaded, sent in zip(payload["mutations"], raw, strict=True)
        ]
        # One push at a time per process on a single-writer database, in arrival order (sync.gate).
        with sync.push_gate():
            reply = _apply_push(sync, principal, payload, mutations)
        asked = payload.get("pull")
        if asked is None or principal.held is not None:
            return reply
        encoder = _change_encoder()
        page = _pull_after_push(sync, principal, asked, encoder)
        if page is None:
            return reply
        if encoder is not None and page.encoded is not None:
            # The results as the schema dumps them, the page joined from its changes' texts (as a pull's).
            body = encoder.with_page(PushReplySchema().dump(reply), "pull", encoder.page(page))
            if body is not None:
                return current_app.response_class(f"{body}\n", mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]
        reply["pull"] = page.reply()
        return reply

    @blp.route("/pull", methods=["GET"])
    @blp.arguments(PullQuerySchema, location="query")
    @blp.response(200, PullReplySchema)
    @blp.doc(description=_DOC_AUTH + " Pages changes in commit order; `reset` asks the client to resync.")
    def pull(args: dict[str, Any]) -> Any:
        """Pull the changes visible to this device's user since the cursor."""
        sync = backend()
        principal = sync.authenticate()
        if principal.held is not None:
            raise principal.held  # nothing more reaches a revoked (perhaps lost) device
        encoder = _change_encoder()
        page = _pull_page(sync, principal, args.get("cursor"), args["limit"], encoder)
        if encoder is None or page.encoded is None:
            return page.reply()
        # The reply joins the changes' texts (the page's byte budget was counted from them too), exactly as the
        # app's JSON provider would have written the whole reply.
        body = encoder.page(page)
        return current_app.response_class(f"{body}\n", mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]

    from sync.blob_views import register_blob_routes

    register_blob_routes(blp, backend)
    return blp


def _change_encoder() -> ChangeEncoder | None:
    """Encodes changes as the app's JSON provider writes a reply (compact, its key order and escaping); None
    when the provider writes otherwise (indented in debug mode, or another provider)."""
    provider = current_app.json
    if not isinstance(provider, DefaultJSONProvider):
        return None
    if provider.compact is False or (provider.compact is None and current_app.debug):
        return None
    return ChangeEncoder(ensure_ascii=provider.ensure_ascii, sort_keys=provider.sort_keys)


def _pull_page(
    sync: SyncBackend,
    principal: Principal,
    cursor: str | None,
    limit: int,
    encoder: ChangeEncoder | None = None,
) -> engine.PullPage:
    """One page of the changes the principal may see after ``cursor``, in its own transaction."""
    session = sync.session()
    try:
        reply = engine.pull_page(
            session,
            sync.registry,
            sync.ledger,
            principal,
            cursor,
            min(limit, sync.limits.max_pull_limit),
            sync.cursor_secret,
            max_bytes=sync.limits.max_pull_bytes,
            encode=encoder,
        )
        session.commit()  # keeps the device's last-seen time
    except BaseException:
        session.rollback()
        raise
    return reply


def _pull_after_push(
    sync: SyncBackend, principal: Principal, asked: dict[str, Any], encoder: ChangeEncoder | None
) -> engine.PullPage | None:
    """The pull page a push asked for, made after the push committed (so exactly what a pull sent now would get);
    None when the pull would fail (a cursor the server does not know …): the device then pulls, and hears why."""
    try:
        return _pull_page(sync, principal, asked.get("cursor"), asked["limit"], encoder)
    # The push is committed: its reply must reach the device whatever the pull does.
    except Exception as error:
        log.info("push reply without its pull page: %s", error)
        return None


def _apply_push(
    sync: SyncBackend, principal: Principal, payload: dict[str, Any], mutations: list[engine.Mutation]
) -> dict[str, Any]:
    """Apply one push in one transaction: committed whole, or rolled back whole."""
    session = sync.session()
    try:
        reply = engine.apply_push(
            session, sync.registry, sync.ledger, principal, payload["device_id"], payload["schema"], mutations
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return reply
