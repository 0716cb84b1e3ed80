from ..manage.conftest import staff  # noqa: F401  (shared fixtures)
