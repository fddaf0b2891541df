"""Where the store lives: SQLite under SKINAPP_DATA_DIR or the user's data folder (never in
the source tree), PostgreSQL for a postgresql:// URL, clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from skinapp.store import StoreConfigError, store_config
from skinapp.store.config import SQLITE_FILE, default_data_dir

REPO = Path(__file__).resolve().parents[2]


def test_sqlite_file_in_the_data_dir(tmp_path):
    config = store_config({"SKINAPP_DATA_DIR": str(tmp_path)})
    assert config.is_sqlite
    assert config.data_dir == tmp_path.resolve()
    assert config.url.database == str(tmp_path.resolve() / SQLITE_FILE)


def test_default_is_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "skinapp"
    assert store_config({}).data_dir == default_data_dir().resolve()
    assert not default_data_dir().resolve().is_relative_to(REPO)


def test_a_data_dir_inside_the_source_folder_is_refused():
    with pytest.raises(StoreConfigError, match="committed to git"):
        store_config({"SKINAPP_DATA_DIR": str(REPO / "data")})


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_a_postgresql_url_selects_psycopg(scheme):
    config = store_config({"SKINAPP_DATABASE_URL": f"{scheme}://u:secret@db:5432/cases"})
    assert not config.is_sqlite
    assert config.url.drivername == "postgresql+psycopg"
    assert "secret" not in config.describe()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_other_urls_are_refused(url):
    with pytest.raises(StoreConfigError, match="SKINAPP_DATABASE_URL"):
        store_config({"SKINAPP_DATABASE_URL": url})
