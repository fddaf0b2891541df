"""Where the case store lives: a SQLite file in the user's data folder, or PostgreSQL.

Precedence:

1. ``SKINAPP_DATABASE_URL`` set to a ``postgresql://`` URL: that server (psycopg 3). Several
   app replicas can then share one store.
2. Otherwise a SQLite file ``cases.sqlite3`` in ``SKINAPP_DATA_DIR``, by default the user's
   data folder (``$XDG_DATA_HOME/skinapp``, i.e. ``~/.local/share/skinapp`` on Linux;
   ``~/Library/Application Support/skinapp`` on macOS; ``%LOCALAPPDATA%\\skinapp`` on
   Windows). Never inside the source folder, where patient data could end up in git.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from skinapp.store.errors import StoreConfigError

__all__ = [
    "DATABASE_URL_ENV",
    "DATA_DIR_ENV",
    "SQLITE_FILE",
    "StoreConfig",
    "default_data_dir",
    "store_config",
]

DATA_DIR_ENV = "SKINAPP_DATA_DIR"
DATABASE_URL_ENV = "SKINAPP_DATABASE_URL"
SQLITE_FILE = "cases.sqlite3"
_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StoreConfig:
    """A resolved store location.

    Attributes
    ----------
    url : sqlalchemy URL
        ``sqlite:///<data_dir>/cases.sqlite3`` or ``postgresql+psycopg://...``.
    data_dir : Path or None
        The folder of the SQLite file (None for PostgreSQL).
    """

    url: URL
    data_dir: Path | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def describe(self) -> str:
        """Where the data is, for the UI (the password hidden)."""
        if self.is_sqlite:
            return f"SQLite file {self.url.database}"
        return f"PostgreSQL {self.url.render_as_string(hide_password=True)}"


def default_data_dir() -> Path:
    """The user's data folder for skinapp (not created here)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "skinapp"


def store_config(environ: os._Environ | dict | None = None) -> StoreConfig:
    """Resolve the store location from the environment (see the module docstring).

    Raises
    ------
    StoreConfigError
        The URL is not a PostgreSQL URL, or the data folder is inside the source folder.
    """
    env = os.environ if environ is None else environ
    raw_url = (env.get(DATABASE_URL_ENV) or "").strip()
    if raw_url:
        return StoreConfig(url=postgres_url(raw_url))
    raw_dir = (env.get(DATA_DIR_ENV) or "").strip()
    data_dir = Path(raw_dir).expanduser() if raw_dir else default_data_dir()
    data_dir = data_dir.resolve()
    if data_dir.is_relative_to(_REPO):
        raise StoreConfigError(
            f"The case store folder {data_dir} is inside the skinapp source folder, where "
            f"patient data could be committed to git. Set {DATA_DIR_ENV} to a folder outside "
            f"{_REPO}."
        )
    url = URL.create("sqlite", database=str(data_dir / SQLITE_FILE))
    return StoreConfig(url=url, data_dir=data_dir)


def postgres_url(raw: str) -> URL:
    """``postgresql://...`` (or ``postgres://``) as a SQLAlchemy URL for psycopg 3.

    Raises
    ------
    StoreConfigError
        Not a parseable PostgreSQL URL.
    """
    try:
        url = make_url(raw)
    except ArgumentError as err:
        raise StoreConfigError(
            f"{DATABASE_URL_ENV} is not a database URL (expected "
            f"postgresql://user:password@host:5432/dbname): {err}"
        ) from err
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg")
    raise StoreConfigError(
        f"{DATABASE_URL_ENV} must be a postgresql:// URL. Received a {url.drivername!r} URL. "
        f"Unset it to use the SQLite file in {DATA_DIR_ENV}."
    )
