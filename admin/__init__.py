"""Staff area: login, the clerk desk and office management (presentation only)."""

from flask import Blueprint

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from . import desk, stats, views  # noqa: E402,F401
from .manage import bp as manage_bp  # noqa: E402

bp.register_blueprint(manage_bp)


@bp.context_processor
def _staff_navigation():
    from flask_login import current_user

    from .nav import nav_for

    return {"staff_nav": nav_for(current_user)}
