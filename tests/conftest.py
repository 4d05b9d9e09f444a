from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from storage.db import Database
from tests.support import databases


def pytest_collection_modifyitems(config, items):
    """A test that never asks for the test database (`db_url`, directly or through another fixture)
    is `backend_free`: scripts/test.sh runs it once, in the SQLite pass, and the PostgreSQL pass
    (`-m "not backend_free"`) runs only what touches the database."""
    for item in items:
        path = item.path.as_posix()
        if path.endswith("tests/sandbox/test_browser.py"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        elif path.endswith("tests/sandbox/test_sandbox_cli.py") or "/tests/e2e/" in path:
            item.add_marker(pytest.mark.slow)  # subprocesses, or the bot polling over HTTP
        if "db_url" not in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.backend_free)


@pytest.fixture(scope="session")
def _db_backend(tmp_path_factory):
    base = databases.pg_base_url()
    if base:
        url = databases.create_pg_database(base)  # fails loudly when PostgreSQL is missing
        yield ("postgresql", url)
        databases.drop_pg_database(base, url)
    else:
        yield ("sqlite", databases.make_sqlite_template(tmp_path_factory.mktemp("template")))


@pytest.fixture
def db_url(_db_backend, tmp_path) -> str:
    kind, value = _db_backend
    if kind == "sqlite":
        return databases.sqlite_copy(Path(value), tmp_path)
    return value


@pytest.fixture
async def db(db_url, _db_backend):
    database = Database(db_url)
    if _db_backend[0] == "postgresql":
        await databases.truncate_all(database)
    yield database
    await database.dispose()


@pytest.fixture
async def session(db):
    async with db.session() as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(_env_file=None, bot_token="123456:TEST-token-never-logged", database_url=db_url)
