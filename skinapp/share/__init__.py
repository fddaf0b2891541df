"""Share the running app through a public ngrok tunnel (``python -m skinapp.share``).

The library half lives in :mod:`skinapp.share.ngrok` (``ShareConfig``, ``start_share``,
``stop_share``); the command line in :mod:`skinapp.share.cli`.
"""

from __future__ import annotations

from skinapp.share.ngrok import (
    NO_TOKEN_MESSAGE,
    ShareConfig,
    ShareHandle,
    credentials_from_env,
    start_share,
    stop_share,
)

__all__ = [
    "NO_TOKEN_MESSAGE",
    "ShareConfig",
    "ShareHandle",
    "credentials_from_env",
    "start_share",
    "stop_share",
]
