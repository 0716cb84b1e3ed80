from ..manage.conftest import _fast_password_hashes, staff  # noqa: F401  (shared fixtures)
