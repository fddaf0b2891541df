"""Start the Streamlit app and expose it through a public ngrok tunnel, with pyngrok.

Order of work in :func:`start_share`, each step failing with a one-line :class:`ShareError`:

1. ``NGROK_AUTHTOKEN`` must be set; the app file must exist; a given port must be free.
2. A private ngrok config is written to a fresh ``0700`` temporary folder: the authtoken (so it
   never appears on the agent's command line, where ``ps`` would show it) and ``web_addr`` bound
   to ``127.0.0.1`` on a free port. pyngrok drives the agent through that local API, so it
   cannot be switched off (pyngrok refuses ``web_addr: false``); binding it to loopback keeps the
   inspector off the network, and the tunnel is opened with ``inspect: false`` so the agent
   keeps no copy of requests (uploaded photos) for it to show.
3. The agent is downloaded by pyngrok if missing (bounded by ``install_timeout``), then
   ``pyngrok.ngrok.connect`` opens an HTTPS-only tunnel with basic auth (unless ``no_auth``).
4. Streamlit is started as a child process, bound to ``127.0.0.1`` (reachable only through the
   tunnel or locally), headless, XSRF and CORS protection on, and ``server.allowedHosts`` set to
   the tunnel host plus ``localhost``/``127.0.0.1``. ngrok forwards the public ``Host`` header
   unchanged, so the browser's WebSocket is same-origin and needs no CORS exception; the host
   allow-list additionally refuses DNS-rebinding pages that target the local port.
5. We wait for ``/_stcore/health``. Any failure tears down what was started.

:func:`stop_share` (also registered with :mod:`atexit`) disconnects the tunnel, kills the agent
with ``ngrok.kill``, terminates Streamlit and deletes the private config. The authtoken and the
basic-auth password are redacted from pyngrok's log records and from every error message
(ngrok echoes a rejected token back in its error text).
"""

from __future__ import annotations

import atexit
import errno
import functools
import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import yaml
from pyngrok import conf, ngrok
from pyngrok.exception import (
    PyngrokError,
    PyngrokNgrokError,
    PyngrokNgrokHTTPError,
    PyngrokNgrokInstallError,
    PyngrokNgrokURLError,
)

from skinapp.errors import ShareError

logger = logging.getLogger(__name__)

TOKEN_ENV = "NGROK_AUTHTOKEN"
USER_ENV = "SKINAPP_SHARE_USER"
PASSWORD_ENV = "SKINAPP_SHARE_PASSWORD"
DEFAULT_USER = "skinapp"
TOKEN_URL = "https://dashboard.ngrok.com/get-started/your-authtoken"
NO_TOKEN_MESSAGE = f"Set {TOKEN_ENV}: get one at {TOKEN_URL}"
LOCALHOST = "127.0.0.1"
DEFAULT_APP = Path(__file__).resolve().parents[2] / "app.py"
#: ngrok's basic-auth limits (its docs: password 8 to 128 characters).
PASSWORD_MIN, PASSWORD_MAX = 8, 128
#: Environment variables the Streamlit child does not need and must not see.
_CHILD_ENV_DROP = (TOKEN_ENV, "NGROK_API_KEY", PASSWORD_ENV)
#: pyngrok loggers whose records may carry the token or the password.
_PYNGROK_LOGGERS = (
    "pyngrok.ngrok",
    "pyngrok.process",
    "pyngrok.process.ngrok",
    "pyngrok.installer",
)


class AppProcess(Protocol):
    """What :func:`stop_share` needs from the Streamlit child (a :class:`subprocess.Popen`)."""

    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


#: ``launch_app(argv, cwd=..., env=...)`` starts the app; the default is :func:`launch_streamlit`.
LaunchApp = Callable[..., AppProcess]


# === Config ===


@dataclass(frozen=True)
class ShareConfig:
    """How to share the app. The ngrok authtoken is never here: it is read from the environment.

    Args:
        port: Local port for Streamlit; ``0`` (default) picks a free one. A given port that is
            already taken is an error, not silently replaced.
        basic_auth: ``(user, password)`` the tunnel asks for. Required unless ``no_auth``.
            The password must be 8 to 128 characters (ngrok's limits).
        no_auth: Share without a password. Must be asked for explicitly.
        app_path: The Streamlit entry script (default: the repository's ``app.py``).
        ngrok_path: The ngrok agent binary; default pyngrok's (``~/.config/ngrok/ngrok``),
            downloaded on first use.
        install_timeout: Seconds allowed for downloading the agent.
        startup_timeout: Seconds allowed for the agent to connect to ngrok.
        ready_timeout: Seconds allowed for Streamlit to answer its health check.
    """

    port: int = 0
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    no_auth: bool = False
    app_path: Path = DEFAULT_APP
    ngrok_path: Path | None = None
    install_timeout: float = 120.0
    startup_timeout: int = 15
    ready_timeout: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(
                f"port must be 0 (any free port) or 1-65535. Received: port={self.port}"
            )
        if self.basic_auth is None and not self.no_auth:
            raise ValueError(
                "A public tunnel needs basic_auth=(user, password); pass no_auth=True to share "
                "without a password. Received: basic_auth=None"
            )
        if self.basic_auth is not None and self.no_auth:
            raise ValueError("Pass basic_auth or no_auth=True, not both. Received: both")
        if self.basic_auth is not None:
            user, password = self.basic_auth
            if not user or ":" in user:
                raise ValueError(
                    f"The share user name must be non-empty and contain no ':'. Received: {user!r}"
                )
            if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
                raise ValueError(
                    f"The share password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters "
                    f"(ngrok's limit). Received: a password of {len(password)} characters"
                )
        for name in ("install_timeout", "startup_timeout", "ready_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0. Received: {name}={getattr(self, name)}")


def credentials_from_env(env: Mapping[str, str] | None = None) -> tuple[tuple[str, str], bool]:
    """Basic-auth credentials from ``SKINAPP_SHARE_USER``/``SKINAPP_SHARE_PASSWORD``.

    Without a password in the environment a strong one is generated with
    :func:`secrets.token_urlsafe` (32 characters). Returns ``((user, password), generated)``.
    """
    env = os.environ if env is None else env
    user = env.get(USER_ENV, "").strip() or DEFAULT_USER
    password = env.get(PASSWORD_ENV, "")
    if password:
        return (user, password), False
    return (user, secrets.token_urlsafe(24)), True


# === Handle ===


@dataclass
class ShareHandle:
    """A running share. ``public_url`` is set once the tunnel is open."""

    port: int
    local_url: str
    pyngrok_config: conf.PyngrokConfig = field(repr=False)
    public_url: str | None = None
    tunnel: Any = field(default=None, repr=False)
    app: AppProcess | None = field(default=None, repr=False)
    stopped: bool = False
    workdir: Path | None = field(default=None, repr=False)
    _redactor: _Redactor | None = field(default=None, repr=False)
    _atexit_hook: Callable[[], None] | None = field(default=None, repr=False)

    def wait(self) -> int:
        """Block until the Streamlit child exits (Ctrl-C raises KeyboardInterrupt); its code."""
        if self.app is None:
            raise ShareError("The share was not started.")
        return self.app.wait()


# === Start / stop ===


def start_share(cfg: ShareConfig, *, launch_app: LaunchApp | None = None) -> ShareHandle:
    """Open a public ngrok tunnel and start the Streamlit app behind it.

    :param cfg: What to share and how; the authtoken comes from ``NGROK_AUTHTOKEN``.
    :param launch_app: Starts the app, ``launch_app(argv, cwd=..., env=...)``; defaults to
        :func:`launch_streamlit` (a seam for tests and embedding).
    :return: The running share; pass it to :func:`stop_share`.
    :raises: :class:`~skinapp.errors.ShareError`: with a one-line, actionable message for a
        missing or rejected token, no network, a failed agent download, a busy port, or an app
        that does not start. Everything started so far is torn down first.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ShareError(NO_TOKEN_MESSAGE)
    app_path = Path(cfg.app_path).resolve()
    if not app_path.is_file():
        raise ShareError(
            f"Streamlit app not found: {app_path} (run from the repository root or pass --app)"
        )
    if cfg.port:
        _ensure_port_free(cfg.port)
    port = cfg.port or find_free_port()

    hidden = [token] + ([cfg.basic_auth[1]] if cfg.basic_auth else [])
    workdir = Path(tempfile.mkdtemp(prefix="skinapp-share-"))
    handle = ShareHandle(
        port=port,
        local_url=f"http://{LOCALHOST}:{port}",
        pyngrok_config=_pyngrok_config(cfg, workdir, token),
        workdir=workdir,
        _redactor=_Redactor(hidden),
    )
    handle._redactor.attach()
    handle._atexit_hook = functools.partial(stop_share, handle)
    atexit.register(handle._atexit_hook)
    try:
        _open_tunnel(handle, cfg)
        argv = streamlit_command(app_path, port, allowed_hosts=_allowed_hosts(handle.public_url))
        logger.info("Starting Streamlit on %s", handle.local_url)
        handle.app = (launch_app or launch_streamlit)(argv, cwd=app_path.parent, env=_child_env())
        _wait_until_ready(handle.app, port, cfg.ready_timeout)
    except BaseException as err:
        stop_share(handle)
        if isinstance(err, PyngrokError):
            raise _share_error(err, cfg, hidden) from err
        raise
    return handle


def stop_share(handle: ShareHandle, *, app_timeout: float = 10.0) -> None:
    """Tear a share down; safe to call twice, never raises.

    Order: disconnect the tunnel (public access ends), kill the ngrok agent, terminate the
    Streamlit child (kill it after ``app_timeout`` seconds), delete the private config.
    """
    if handle.stopped:
        return
    handle.stopped = True
    if handle._atexit_hook is not None:
        atexit.unregister(handle._atexit_hook)
    pyngrok_config = handle.pyngrok_config
    if handle.public_url:
        try:
            ngrok.disconnect(handle.public_url, pyngrok_config=pyngrok_config)
        except Exception as err:  # the agent may already be gone (Ctrl-C reaches it too)
            logger.debug("Tunnel disconnect failed: %s", _redact(str(err), handle._redactor))
    try:
        ngrok.kill(pyngrok_config=pyngrok_config)
    except Exception as err:
        logger.warning("Could not kill the ngrok agent: %s", _redact(str(err), handle._redactor))
    if handle.app is not None:
        _terminate(handle.app, app_timeout)
    if handle._redactor is not None:
        handle._redactor.detach()
    if handle.workdir is not None:
        shutil.rmtree(handle.workdir, ignore_errors=True)
    logger.debug("Share torn down")


# === Streamlit child ===


def streamlit_command(app_path: Path, port: int, *, allowed_hosts: Iterable[str]) -> list[str]:
    """The ``streamlit run`` command line for serving behind the tunnel.

    Bound to loopback, headless, XSRF and CORS protection explicitly on (a local
    ``.streamlit/config.toml`` cannot switch them off for a public share), no file watcher,
    no usage statistics, and ``server.allowedHosts`` limited to ``allowed_hosts``.
    """
    argv = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path),
        "--server.headless",
        "true",
        "--server.address",
        LOCALHOST,
        "--server.port",
        str(port),
        "--server.enableXsrfProtection",
        "true",
        "--server.enableCORS",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    for host in allowed_hosts:
        argv += ["--server.allowedHosts", host]
    return argv


def launch_streamlit(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> subprocess.Popen:
    """Start the app as a child process; its output goes to this terminal."""
    return subprocess.Popen(list(argv), cwd=cwd, env=dict(env))


def _allowed_hosts(public_url: str | None) -> list[str]:
    hosts = [urlsplit(public_url).hostname] if public_url else []
    return [h for h in hosts if h] + ["localhost", LOCALHOST]


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _CHILD_ENV_DROP}


def _wait_until_ready(app: AppProcess, port: int, timeout: float) -> None:
    url = f"http://{LOCALHOST}:{port}/_stcore/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + timeout
    while True:
        code = app.poll()
        if code is not None:
            raise ShareError(
                f"Streamlit exited with code {code} before it was ready: see its output above"
            )
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise ShareError(
                f"Streamlit did not answer on {url} within {timeout:g} s: see its output above"
            )
        time.sleep(0.2)


def _terminate(app: AppProcess, timeout: float) -> None:
    try:
        if app.poll() is None:
            app.terminate()
            try:
                app.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
    except OSError as err:
        logger.warning("Could not stop Streamlit: %s", err)


# === ngrok agent ===


def _pyngrok_config(cfg: ShareConfig, workdir: Path, token: str) -> conf.PyngrokConfig:
    """A pyngrok config with a private agent config (token inside, inspector on loopback)."""
    config_path = workdir / "ngrok.yml"
    agent_config = {
        "version": "2",
        "authtoken": token,
        "web_addr": f"{LOCALHOST}:{find_free_port()}",
    }
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(agent_config, handle)
    pyngrok_config = conf.PyngrokConfig(
        ngrok_path=str(cfg.ngrok_path) if cfg.ngrok_path else None,
        config_path=str(config_path),
        startup_timeout=cfg.startup_timeout,
    )
    # PyngrokConfig falls back to $NGROK_AUTHTOKEN and would pass it as `--authtoken` on the
    # agent's command line; the private config file already carries it.
    pyngrok_config.auth_token = None
    return pyngrok_config


def _open_tunnel(handle: ShareHandle, cfg: ShareConfig) -> None:
    pyngrok_config = handle.pyngrok_config
    ngrok_path = pyngrok_config.ngrok_path
    if not os.path.exists(ngrok_path):
        logger.info("Downloading the ngrok agent to %s (first run only)", ngrok_path)
        try:
            _call_with_deadline(lambda: ngrok.install_ngrok(pyngrok_config), cfg.install_timeout)
        except TimeoutError:
            raise ShareError(
                f"Downloading the ngrok agent took longer than {cfg.install_timeout:g} s: check "
                "the network, or install ngrok yourself and pass --ngrok-path"
            ) from None
    options: dict[str, Any] = {"schemes": ["https"], "inspect": False}
    if cfg.basic_auth is not None:
        options["basic_auth"] = [":".join(cfg.basic_auth)]
    logger.info("Opening the ngrok tunnel")
    # pyngrok reads the agent's log line by line; a silent agent would block it forever.
    deadline = cfg.startup_timeout + 3 * pyngrok_config.request_timeout + 5
    try:
        tunnel = _call_with_deadline(
            lambda: ngrok.connect(
                f"{LOCALHOST}:{handle.port}",
                proto="http",
                pyngrok_config=pyngrok_config,
                **options,
            ),
            deadline,
        )
    except TimeoutError:
        raise ShareError(
            f"The ngrok agent did not connect within {deadline:g} s: check the network "
            "(outbound HTTPS to ngrok) and try again"
        ) from None
    except OSError as err:  # the binary exists but cannot be executed
        raise ShareError(
            f"Cannot run the ngrok agent at {ngrok_path} ({err.strerror or err}): delete it to "
            "download a fresh one, or pass --ngrok-path"
        ) from err
    handle.tunnel = tunnel
    handle.public_url = tunnel.public_url
    logger.info("Tunnel open: %s -> %s", handle.public_url, handle.local_url)


def _call_with_deadline(fn: Callable[[], Any], timeout: float) -> Any:
    """Run ``fn`` in a daemon thread; raise :class:`TimeoutError` if it is not done in time."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as err:
            outcome["error"] = err

    worker = threading.Thread(target=target, name="skinapp-share-ngrok", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# === Ports ===


def find_free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return sock.getsockname()[1]


def _ensure_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOCALHOST, port))
        except OSError as err:
            if err.errno in (errno.EADDRINUSE, errno.EACCES):
                raise ShareError(
                    f"Port {port} is already in use on {LOCALHOST}: stop the program using it, "
                    "or choose another with --port (0 picks a free one)"
                ) from None
            raise ShareError(f"Cannot use port {port}: {err.strerror or err}") from None


# === Errors and secrets ===

_ERR_CODE = re.compile(r"ERR_NGROK_(\d+)")
_TOKEN_CODES = {"105", "106", "107", "4018"}  # malformed, v1, revoked, missing
_NETWORK_HINTS = (
    "failed to dial",
    "no such host",
    "lookup ",
    "i/o timeout",
    "deadline exceeded",
    "connection refused",
    "connection reset",
    "network is unreachable",
    "tls handshake",
)


def _share_error(err: PyngrokError, cfg: ShareConfig, hidden: Sequence[str]) -> ShareError:
    """Map a pyngrok exception to a one-line, actionable :class:`ShareError`."""

    def clean(text: str) -> str:
        return _one_line(_redact(text, hidden))

    if isinstance(err, PyngrokNgrokInstallError):
        reason = clean(str(err).rsplit(": ", 1)[-1]).removeprefix("<urlopen error ").rstrip(">")
        return ShareError(
            f"Could not download the ngrok agent ({reason}): connect to the internet, or "
            "install ngrok yourself and pass --ngrok-path"
        )
    detail = str(err)
    if isinstance(err, PyngrokNgrokError) and err.ngrok_error:
        detail = err.ngrok_error
    if isinstance(err, PyngrokNgrokHTTPError):
        detail = _http_error_detail(err.body) or detail
    text = clean(detail)
    code = _ERR_CODE.search(text)
    if (code and code.group(1) in _TOKEN_CODES) or "authentication failed" in text.lower():
        label = f" (ERR_NGROK_{code.group(1)})" if code else ""
        return ShareError(
            f"ngrok rejected {TOKEN_ENV}{label}: copy your authtoken from {TOKEN_URL} "
            f"and set {TOKEN_ENV} again"
        )
    if code and code.group(1) == "108":
        return ShareError(
            "ngrok allows only one agent session on this account (ERR_NGROK_108): stop the "
            "other ngrok agent (https://dashboard.ngrok.com/agents) and try again"
        )
    if code:
        n = code.group(1)
        first = _first_sentence(text)
        return ShareError(
            f"ngrok refused the tunnel (ERR_NGROK_{n}: {first}): see "
            f"https://ngrok.com/docs/errors/err_ngrok_{n}/"
        )
    if any(hint in text.lower() for hint in _NETWORK_HINTS):
        return ShareError(
            f"Cannot reach ngrok's servers ({_first_sentence(text)}): check the internet "
            "connection, proxy or firewall (outbound TCP 443), then try again"
        )
    if isinstance(err, PyngrokNgrokURLError):
        return ShareError(
            f"The local ngrok agent did not answer ({clean(str(err.reason))}): try again; "
            "SKINAPP_LOG_LEVEL=DEBUG shows its log"
        )
    if "unable to start" in text:
        return ShareError(
            f"The ngrok agent did not start within {cfg.startup_timeout} s: check the network "
            "and try again; SKINAPP_LOG_LEVEL=DEBUG shows its log"
        )
    return ShareError(f"ngrok failed: {_first_sentence(text)}")


def _http_error_detail(body: str | None) -> str:
    try:
        data = json.loads(body or "")
    except ValueError:
        return body or ""
    if not isinstance(data, dict):
        return str(data)
    details = data.get("details")
    err = details.get("err", "") if isinstance(details, dict) else ""
    parts = [str(data.get("msg", "")), str(err)]
    return ": ".join(p for p in parts if p)


def _one_line(text: str) -> str:
    text = text.replace("\\r", " ").replace("\\n", " ")
    return " ".join(text.split())


def _first_sentence(text: str, limit: int = 200) -> str:
    text = text.removeprefix("The ngrok process errored on start: ")
    text = text.rstrip(". ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _redact(text: str, hidden: Iterable[str] | _Redactor | None) -> str:
    if isinstance(hidden, _Redactor):
        hidden = hidden.hidden
    for secret in hidden or ():
        if secret:
            text = text.replace(secret, "***")
    return text


class _Redactor(logging.Filter):
    """Replaces the token and password in pyngrok's log records with ``***``."""

    def __init__(self, hidden: Iterable[str]) -> None:
        super().__init__()
        self.hidden = [s for s in hidden if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _redact(message, self.hidden)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True

    def attach(self) -> None:
        for name in _PYNGROK_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def detach(self) -> None:
        for name in _PYNGROK_LOGGERS:
            logging.getLogger(name).removeFilter(self)
