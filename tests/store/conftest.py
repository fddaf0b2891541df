"""Store fixtures: every store test runs against SQLite, and against PostgreSQL when one is
reachable at ``SKINAPP_TEST_POSTGRES_URL`` (``.ci/run`` starts a throw-away server).

Outside CI a missing server skips the PostgreSQL cases with the reason; with ``CI=true`` or
``SKINAPP_REQUIRE_POSTGRES=1`` it fails them, so CI cannot silently test SQLite only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from skinapp.store import CaseStore, StoreConfig, open_store, store_config
from skinapp.store.config import postgres_url

POSTGRES_ENV = "SKINAPP_TEST_POSTGRES_URL"


def _postgres_required() -> bool:
    return (
        os.environ.get("CI", "").lower() in ("1", "true", "yes")
        or os.environ.get("SKINAPP_REQUIRE_POSTGRES") == "1"
    )


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a reachable PostgreSQL server (skip or fail as described above)."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    reason = ""
    if not url:
        reason = f"{POSTGRES_ENV} is not set (.ci/run starts a throw-away PostgreSQL and sets it)"
    else:
        import psycopg

        try:
            with psycopg.connect(_libpq(url), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as err:
            reason = f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {err}"
    if reason:
        if _postgres_required():
            pytest.fail(f"PostgreSQL is required here (CI): {reason}")
        pytest.skip(reason)
    return url


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_database(postgres_server) -> Iterator[str]:
    """A fresh, empty database on the server for one test (dropped afterwards)."""
    import psycopg

    name = f"skinapp_test_{uuid.uuid4().hex[:12]}"
    admin = _libpq(postgres_server)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_config_any(request, tmp_path, monkeypatch) -> StoreConfig:
    """A store location on each backend (SQLite in ``tmp_path``)."""
    monkeypatch.setenv("SKINAPP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SKINAPP_DATABASE_URL", raising=False)
    if request.param == "sqlite":
        return store_config()
    url = request.getfixturevalue("postgres_database")
    return StoreConfig(url=postgres_url(url))


@pytest.fixture
def store(store_config_any) -> Iterator[CaseStore]:
    """An opened, empty case store on each backend."""
    opened = open_store(store_config_any)
    yield opened
    opened.dispose()
