"""Case history: visits of a lesion saved on request, compared over time.

- :func:`open_store` / :class:`CaseStore` (:mod:`skinapp.store.cases`): save, list, erase,
  export; SQLite by default, PostgreSQL with ``SKINAPP_DATABASE_URL``
  (:mod:`skinapp.store.config`), schema migrations in :mod:`skinapp.store.db`.
- :func:`new_visit` (:mod:`skinapp.store.records`): an analysis plus the form becomes a visit.
- :func:`assess_change` (:mod:`skinapp.store.change`): the review heuristic.
- :func:`align_pair` (:mod:`skinapp.store.compare`): two visits side by side at one scale.

Core code: no Streamlit here.
"""

from skinapp.store.cases import CaseStore, open_store
from skinapp.store.config import StoreConfig, store_config
from skinapp.store.errors import CaseInputError, StoreConfigError, StoreError, StoreUnavailableError
from skinapp.store.records import BODY_SITES, NewVisit, Visit, new_visit

__all__ = [
    "BODY_SITES",
    "CaseInputError",
    "CaseStore",
    "NewVisit",
    "StoreConfig",
    "StoreConfigError",
    "StoreError",
    "StoreUnavailableError",
    "Visit",
    "new_visit",
    "open_store",
    "store_config",
]
