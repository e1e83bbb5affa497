"""The sync suite's `backend` and `project` fixtures: the prefetch helper is tested on the
same targets as the sync itself."""
from tests.sync.conftest import backend, project  # noqa: F401 - fixtures, found by name
