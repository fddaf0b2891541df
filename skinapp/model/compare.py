"""Moved to :mod:`skinapp.compare`: ``python -m skinapp.model.compare`` keeps working."""

from skinapp.compare import build_parser, combination_table, main, view_log_odds

__all__ = ["build_parser", "combination_table", "main", "view_log_odds"]

if __name__ == "__main__":
    raise SystemExit(main())
