"""Unbound extension singletons; create_app() binds them with init_app."""

from typing import TYPE_CHECKING, cast

from flask import Flask, current_app, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager as FlaskLoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase
from werkzeug.local import LocalProxy

from .sessions import QueueSession


class Base(DeclarativeBase):
    pass


# QueueSession: reads outside a unit of work without a transaction on PostgreSQL (sessions.py)
db = SQLAlchemy(model_class=Base, session_options={"class_": QueueSession})
# the base class of the models: db.Model (Base with Flask-SQLAlchemy's table names and session);
# type checkers see Base, since an attribute of an instance cannot be resolved as a base class
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
socketio = SocketIO()


class LoginManager(FlaskLoginManager):
    """Flask-Login's manager, with its session protection skipped for an empty session."""

    def _session_protection_failed(self) -> bool:
        # Flask-Login hashes the client's address and agent on every request before it looks
        # at the session (about 35 Python calls), and then checks nothing when the session is
        # empty (a kiosk's, a bearer token's, an anonymous request)
        if not session:
            return False
        return super()._session_protection_failed()


login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def app_object() -> Flask:
    """The application behind ``current_app``, for a thread or a later call outside this
    context (the proxy itself only works inside it)."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()
