"""``python -m skinapp.share`` (``make share``): share the app through a public ngrok link.

Starts ``streamlit run app.py`` on a local port and opens an HTTPS ngrok tunnel to it, then
prints the public URL. Stop with Ctrl-C: the tunnel is closed and the app stopped.

Environment:
  NGROK_AUTHTOKEN         required; https://dashboard.ngrok.com/get-started/your-authtoken
  SKINAPP_SHARE_USER      basic-auth user name (default: skinapp)
  SKINAPP_SHARE_PASSWORD  basic-auth password, 8-128 characters (default: a strong one is
                          generated and printed once)

The link asks for that user name and password unless you pass --no-auth.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from skinapp.auth.config import auth_config
from skinapp.errors import ShareError, SkinappError
from skinapp.logs import setup_logging
from skinapp.share.ngrok import (
    DEFAULT_APP,
    PASSWORD_ENV,
    LaunchApp,
    ShareConfig,
    ShareHandle,
    credentials_from_env,
    start_share,
    stop_share,
)

NO_AUTH_WARNING = (
    "WARNING: --no-auth: the public link has no password. Anyone who has or guesses the link "
    "can open the app and see every patient photo uploaded to it. Use de-identified images "
    "only, and press Ctrl-C as soon as you are done."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.share",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--port", type=int, default=0, help="local Streamlit port (default: 0 = any free port)"
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="share WITHOUT a password: anyone with the link sees the app and its uploads",
    )
    p.add_argument("--app", type=Path, default=DEFAULT_APP, help="Streamlit script to serve")
    p.add_argument(
        "--ngrok-path",
        type=Path,
        default=None,
        help="an installed ngrok v3 agent (default: pyngrok's copy, downloaded on first use)",
    )
    return p


def main(argv: list[str] | None = None, *, launch_app: LaunchApp | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    generated = False
    try:
        auth = None
        if not args.no_auth:
            auth, generated = credentials_from_env()
        cfg = ShareConfig(
            port=args.port,
            basic_auth=auth,
            no_auth=args.no_auth,
            app_path=args.app,
            ngrok_path=args.ngrok_path,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.no_auth:
        print(NO_AUTH_WARNING, file=sys.stderr)

    with _signals_interrupt(), _quiet_pyngrok() as pyngrok_logger:
        try:
            handle = start_share(cfg, launch_app=launch_app)
        except ShareError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("Interrupted; nothing is shared.", file=sys.stderr)
            return 130
        if pyngrok_logger.level > logging.WARNING:  # now show ngrok's warnings (reconnects)
            pyngrok_logger.setLevel(logging.WARNING)
        try:
            _print_share(handle, cfg, generated)
            code = handle.wait()
            print(
                f"error: Streamlit exited with code {code}; the tunnel is closed", file=sys.stderr
            )
            return 2
        except KeyboardInterrupt:
            print("Stopping: closing the tunnel and the app.", file=sys.stderr)
            return 0
        finally:
            stop_share(handle)


def _print_share(handle: ShareHandle, cfg: ShareConfig, generated: bool) -> None:
    print(f"Skinapp is shared at: {handle.public_url}")
    if cfg.basic_auth is None:
        print("  no password: anyone with this link can open the app")
    else:
        user, password = cfg.basic_auth
        print(f"  user: {user}")
        if generated:
            print(f"  password: {password}  (generated for this session; not stored)")
        else:
            print(f"  password: the value of {PASSWORD_ENV}")
    if _personal_logins():
        print("  then a personal login (SKINAPP_AUTH accounts: python -m skinapp.users)")
    print(f"  local: {handle.local_url}")
    print("Press Ctrl-C to stop sharing.", flush=True)


def _personal_logins() -> bool:
    """True when the shared app also asks for a personal login (SKINAPP_AUTH)."""
    try:
        return auth_config().has_login
    except SkinappError:
        return False


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (terminal closed) stop the share like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    names = ("SIGTERM", "SIGHUP")
    signums = [getattr(signal, n) for n in names if hasattr(signal, n)]
    previous = {s: signal.signal(s, interrupt) for s in signums}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def _quiet_pyngrok() -> Iterator[logging.Logger]:
    """Keep ngrok's own log lines off the console while starting (our message says it all);
    ``SKINAPP_LOG_LEVEL=DEBUG`` shows them."""
    pyngrok_logger = logging.getLogger("pyngrok")
    old = pyngrok_logger.level
    if os.environ.get("SKINAPP_LOG_LEVEL", "").upper() != "DEBUG":
        pyngrok_logger.setLevel(logging.CRITICAL + 1)
    try:
        yield pyngrok_logger
    finally:
        pyngrok_logger.setLevel(old)
