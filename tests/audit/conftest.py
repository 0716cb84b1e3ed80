from ..manage.conftest import _fast_password_hashes, staff, web  # noqa: F401  (shared fixtures)
