from ..manage.conftest import staff, web  # noqa: F401  (shared fixtures)
