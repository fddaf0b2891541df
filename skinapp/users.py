"""``python -m skinapp.users``: administer the personal accounts of ``SKINAPP_AUTH=accounts``.

Works on the case store of ``SKINAPP_DATABASE_URL`` / ``SKINAPP_DATA_DIR`` (the same database
the app uses). Passwords are asked twice on the terminal, or read from the first line of
standard input with ``--password-stdin`` (scripts); they are never taken on the command line,
where other users of the machine could see them. Every change is written to the audit trail.

  python -m skinapp.users add alice --role admin
  python -m skinapp.users add bob                      # a clinician
  python -m skinapp.users add carol@clinic.org --no-password  # logs in through OIDC/proxy
  python -m skinapp.users reset bob                    # new password, unlocks
  python -m skinapp.users disable bob | enable bob
  python -m skinapp.users role bob admin
  python -m skinapp.users list
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from skinapp.auth import ROLES, Accounts, AuditLog, auth_config
from skinapp.errors import SkinappError
from skinapp.store import open_store

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m skinapp.users",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="clinician")
    add.add_argument("--no-password", action="store_true", help="for OIDC or proxy logins")
    add.add_argument("--password-stdin", action="store_true")
    reset = sub.add_parser("reset", help="set a new password and unlock")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    for name, text in (("disable", "forbid logging in"), ("enable", "allow again, unlock")):
        sub.add_parser(name, help=text).add_argument("username")
    role = sub.add_parser("role", help="change a role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    sub.add_parser("list", help="list the accounts")
    return p


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise SkinappError("The two passwords differ; nothing was changed.")
    return first


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = auth_config()
        store = open_store()
        accounts, audit = Accounts(store.engine, config), AuditLog(store.engine)
        actor, cmd = _actor(), args.command
        if cmd == "list":
            _print_users(accounts)
            return 0
        if cmd == "add":
            password = None if args.no_password else _password(args.password_stdin)
            name = accounts.add(args.username, password, args.role)
            audit.record(actor, "user_add", detail=f"{name} ({args.role})", client="cli")
            print(f"Added {name} ({args.role}).")
        elif cmd == "reset":
            accounts.reset(args.username, _password(args.password_stdin))
            audit.record(actor, "user_reset", detail=args.username.lower(), client="cli")
            print(f"New password set for {args.username.lower()}; the account is unlocked.")
        elif cmd in ("disable", "enable"):
            accounts.set_disabled(args.username, cmd == "disable")
            audit.record(actor, f"user_{cmd}", detail=args.username.lower(), client="cli")
            print(f"{args.username.lower()} is {cmd}d.")
        elif cmd == "role":
            accounts.set_role(args.username, args.role)
            audit.record(actor, "user_role", detail=f"{args.username.lower()} -> {args.role}")
            print(f"{args.username.lower()} is now {args.role}.")
    except SkinappError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted; nothing was changed.", file=sys.stderr)
        return 130
    if config.mode.value != "accounts" and cmd != "list":
        print(
            "note: the app asks for these passwords when it runs with SKINAPP_AUTH=accounts "
            f"(make serve sets it; this shell has {os.environ.get('SKINAPP_AUTH', 'none')!r}).",
            file=sys.stderr,
        )
    return 0


def _print_users(accounts: Accounts) -> None:
    rows = accounts.list()
    if not rows:
        print("No accounts yet: python -m skinapp.users add NAME --role admin")
        return
    print(f"{'user':<32} {'role':<10} {'state':<28} last login (UTC)")
    for u in rows:
        state = "disabled" if u.disabled else "active"
        if u.locked_until is not None:
            state += f", locked until {u.locked_until:%Y-%m-%d %H:%M}"
        if not u.has_password:
            state += ", no password"
        last = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never"
        print(f"{u.username:<32} {u.role:<10} {state:<28} {last}")


if __name__ == "__main__":
    sys.exit(main())
