"""One place that configures logging handlers for the command-line entry points."""

from __future__ import annotations

import logging
import os


def setup_logging(level: str | None = None) -> None:
    """Rich console logging at ``level`` (default ``SKINAPP_LOG_LEVEL`` or INFO)."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=(level or os.environ.get("SKINAPP_LOG_LEVEL", "INFO")).upper(),
        format="%(message)s",
        datefmt="[%X]",
        handlers=[RichHandler(show_path=False, rich_tracebacks=False)],
        force=True,
    )
