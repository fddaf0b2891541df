"""``python -m skinapp.auth check --address ADDR``: may the configured SKINAPP_AUTH serve on
ADDR? Exit 0 (printing the opt-out warning if there is one) or 2 with what to do. Used by
``deploy/serve.sh`` before it opens the clinic's address."""

from __future__ import annotations

import argparse
import sys

from skinapp.auth.config import auth_config, check_exposure
from skinapp.errors import SkinappError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skinapp.auth", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check SKINAPP_AUTH against a listening address")
    check.add_argument("--address", required=True, help="the address users connect to")
    args = p.parse_args(argv)
    try:
        config = auth_config()
        warning = check_exposure(config, args.address)
    except SkinappError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if warning:
        print(warning, file=sys.stderr)
    print(f"SKINAPP_AUTH={config.mode.value} may serve on {args.address}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
