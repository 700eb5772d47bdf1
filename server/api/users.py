"""Managing another user's access: an admin (or the user's supervisor) signs them out everywhere."""

from __future__ import annotations

from flask_smorest import Blueprint

from server.api.access import current_user, signed_in
from server.api.schemas import ProblemSchema
from server.extensions import db
from server.models import User
from server.services.users import may_manage, sign_out_everywhere
from sync import problems

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users / 用户")


@blp.route("/<int:user_id>/sign-out", methods=["POST"])
@blp.response(204)
@blp.alt_response(404, schema=ProblemSchema)
@signed_in
def sign_out(user_id: int) -> None:
    """End every session of the user at once (a lost phone, a departure); 404 outside the caller's scope."""
    actor = current_user()
    user = db.session.get(User, user_id)
    if user is None or not may_manage(db.session, actor, user):
        raise problems.not_found()
    sign_out_everywhere(db.session, user, by=actor, reason="requested")
    db.session.commit()
