"""``python -m skinapp.share``: ngrok tunnel + Streamlit child, tested without reaching ngrok.

Three layers:
- the pyngrok boundary patched (``pyngrok.ngrok.connect/disconnect/kill``) and the Streamlit child
  replaced by a tiny in-process health server: CLI output, auth, error messages, cleanup;
- a fake ngrok *agent* (a script speaking pyngrok's log/API protocol) under the real pyngrok:
  what pyngrok actually sends, the private config, error mapping from real pyngrok exceptions;
- the real path with a bogus token and no network: a clear ShareError, fast.
"""

from __future__ import annotations

import http.server
import json
import signal
import socket
import stat
import sys
import threading
from pathlib import Path
from unittest import mock

import pytest
import yaml
from pyngrok import process
from pyngrok.exception import (
    PyngrokNgrokError,
    PyngrokNgrokHTTPError,
    PyngrokNgrokInstallError,
    PyngrokNgrokURLError,
)

from skinapp.errors import ShareError
from skinapp.share import NO_TOKEN_MESSAGE, ShareConfig, start_share, stop_share
from skinapp.share.cli import NO_AUTH_WARNING, main

TOKEN = "2fakeTOKENforTESTS_abcdefghijklmnopqrstuvwxyz012"
PUBLIC_URL = "https://fake-share.ngrok-free.app"


# === Fakes and fixtures ===


class FakeApp:
    """Stands in for the Streamlit child: answers /_stcore/health on its port until terminated."""

    def __init__(self, argv, cwd, env, *, exit_code=None):
        self.argv, self.cwd, self.env = list(argv), cwd, dict(env)
        self.port = int(self.argv[self.argv.index("--server.port") + 1])
        self.returncode = exit_code
        self.terminated = False
        self._server = None
        if exit_code is None:
            self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), _Health)
            threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        return self.returncode

    def terminate(self):
        self.terminated = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.returncode = -signal.SIGTERM

    kill = terminate


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/_stcore/health" else 404)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Launcher:
    """``launch_app`` seam: records every app it starts."""

    def __init__(self, exit_code=None):
        self.exit_code = exit_code
        self.apps: list[FakeApp] = []

    def __call__(self, argv, *, cwd, env):
        app = FakeApp(argv, cwd, env, exit_code=self.exit_code)
        self.apps.append(app)
        return app


@pytest.fixture
def share_env(monkeypatch):
    """GIVEN a token in the environment and no share credentials."""
    monkeypatch.setenv("NGROK_AUTHTOKEN", TOKEN)
    monkeypatch.delenv("SKINAPP_SHARE_USER", raising=False)
    monkeypatch.delenv("SKINAPP_SHARE_PASSWORD", raising=False)
    monkeypatch.delenv("SKINAPP_LOG_LEVEL", raising=False)


@pytest.fixture
def app_file(tmp_path) -> Path:
    path = tmp_path / "app.py"
    path.write_text("import streamlit as st\nst.write('hi')\n")
    return path


@pytest.fixture
def agent_stub(tmp_path) -> Path:
    """An existing (never executed) agent path, so pyngrok does not try to download one."""
    path = tmp_path / "agent" / "ngrok"
    path.parent.mkdir()
    path.touch(mode=0o700)
    return path


@pytest.fixture
def fake_ngrok():
    """The pyngrok boundary: connect returns a tunnel; disconnect and kill are recorded."""
    with (
        mock.patch("pyngrok.ngrok.connect") as connect,
        mock.patch("pyngrok.ngrok.disconnect") as disconnect,
        mock.patch("pyngrok.ngrok.kill") as kill,
    ):
        connect.return_value = mock.Mock(public_url=PUBLIC_URL)
        yield mock.Mock(connect=connect, disconnect=disconnect, kill=kill)


@pytest.fixture
def run_cli(share_env, app_file, agent_stub, fake_ngrok, capsys):
    """Run ``main`` until the share is up, then press Ctrl-C; return (rc, out, err, launcher)."""

    def run(*extra, launcher=None, while_sharing=None):
        launcher = launcher or Launcher()

        def wait(handle):
            if while_sharing is not None:
                while_sharing(handle)
            raise KeyboardInterrupt

        argv = ["--app", str(app_file), "--ngrok-path", str(agent_stub), *extra]
        with mock.patch("skinapp.share.ngrok.ShareHandle.wait", autospec=True, side_effect=wait):
            rc = main(argv, launch_app=launcher)
        out, err = capsys.readouterr()
        return rc, out, err, launcher

    return run


def _connect_options(fake_ngrok) -> dict:
    fake_ngrok.connect.assert_called_once()
    return fake_ngrok.connect.call_args.kwargs


# === CLI over the patched boundary ===


def test_prints_url_and_generated_password_once(run_cli, fake_ngrok):
    # GIVEN a token and no SKINAPP_SHARE_* credentials
    # WHEN the user shares the app
    rc, out, err, _ = run_cli()
    # THEN the public URL is printed, basic auth uses a generated password printed exactly once
    assert rc == 0
    assert PUBLIC_URL in out
    (user, password) = _connect_options(fake_ngrok)["basic_auth"][0].split(":", 1)
    assert user == "skinapp"
    assert len(password) >= 32
    assert (out + err).count(password) == 1
    assert TOKEN not in out + err
    assert "Traceback" not in err


def test_tunnel_is_https_only_without_inspection_to_loopback(run_cli, fake_ngrok):
    # GIVEN the default share
    _, _, _, launcher = run_cli()
    # THEN the tunnel forwards to the app's loopback port, HTTPS only, not inspected
    port = launcher.apps[0].port
    assert fake_ngrok.connect.call_args.args == (f"127.0.0.1:{port}",)
    options = _connect_options(fake_ngrok)
    assert options["proto"] == "http"
    assert options["schemes"] == ["https"]
    assert options["inspect"] is False


def test_env_credentials_are_used_and_not_printed(run_cli, fake_ngrok, monkeypatch):
    # GIVEN credentials in the environment
    monkeypatch.setenv("SKINAPP_SHARE_USER", "alice")
    monkeypatch.setenv("SKINAPP_SHARE_PASSWORD", "correct-horse-battery")
    # WHEN sharing
    rc, out, err, _ = run_cli()
    # THEN the tunnel uses them and the password is never echoed
    assert rc == 0
    assert _connect_options(fake_ngrok)["basic_auth"] == ["alice:correct-horse-battery"]
    assert "correct-horse-battery" not in out + err
    assert "user: alice" in out
    assert "SKINAPP_SHARE_PASSWORD" in out


def test_no_auth_warns_and_passes_no_auth(run_cli, fake_ngrok, monkeypatch):
    # GIVEN a password in the environment, but the user explicitly opts out
    monkeypatch.setenv("SKINAPP_SHARE_PASSWORD", "correct-horse-battery")
    # WHEN sharing with --no-auth
    rc, out, err, _ = run_cli("--no-auth")
    # THEN a clear warning about patient photos is printed and no basic auth is configured
    assert rc == 0
    assert NO_AUTH_WARNING in err
    assert "patient photo" in err and "Anyone" in err
    assert "basic_auth" not in _connect_options(fake_ngrok)
    assert PUBLIC_URL in out


def test_with_accounts_the_shared_app_also_asks_for_a_personal_login(
    run_cli, fake_ngrok, monkeypatch
):
    # GIVEN personal accounts on
    monkeypatch.setenv("SKINAPP_AUTH", "accounts")
    # WHEN sharing
    rc, out, _, launcher = run_cli()
    # THEN the tunnel keeps its basic auth, the app gets the setting (its login gate), and
    # the printout says a personal login follows
    assert rc == 0
    assert _connect_options(fake_ngrok)["basic_auth"]
    assert launcher.apps[0].env["SKINAPP_AUTH"] == "accounts"
    assert "personal login" in out


def test_no_token_is_one_line_and_nothing_starts(run_cli, fake_ngrok, monkeypatch):
    # GIVEN no NGROK_AUTHTOKEN
    monkeypatch.delenv("NGROK_AUTHTOKEN")
    # WHEN sharing
    rc, _, err, launcher = run_cli()
    # THEN exit 2 with the one-line message; no tunnel, no app
    assert rc == 2
    assert err.strip() == f"error: {NO_TOKEN_MESSAGE}"
    fake_ngrok.connect.assert_not_called()
    assert launcher.apps == []


def _ngrok_error(detail: str) -> PyngrokNgrokError:
    return PyngrokNgrokError(f"The ngrok process errored on start: {detail}.", [], detail)


AUTH_FAILED = (
    "authentication failed: The authtoken you specified does not look like a proper ngrok "
    f"tunnel authtoken.\\nYour authtoken: {TOKEN}\\nInstructions to install your authtoken are "
    "on your ngrok dashboard:\\nhttps://dashboard.ngrok.com/get-started/your-authtoken\\r\\n"
    "\\r\\nERR_NGROK_105\\r\\n"
)
REVOKED = (
    f"authentication failed: properly formed, but invalid. Your authtoken: {TOKEN} ERR_NGROK_107"
)
OFFLINE = (
    'failed to dial ngrok server with address "connect.ngrok-agent.com:443": '
    "dial tcp: lookup connect.ngrok-agent.com: no such host"
)
HTTP_BODY = json.dumps(
    {"error_code": 102, "status_code": 400, "msg": "invalid tunnel configuration",
     "details": {"err": "ERR_NGROK_9999 something the account cannot do"}}
)  # fmt: skip


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_ngrok_error(AUTH_FAILED), "ngrok rejected NGROK_AUTHTOKEN (ERR_NGROK_105)"),
        (_ngrok_error(REVOKED), "ngrok rejected NGROK_AUTHTOKEN (ERR_NGROK_107)"),
        (_ngrok_error("ERR_NGROK_108 limited to 1 simultaneous session"), "ERR_NGROK_108"),
        (_ngrok_error(OFFLINE), "Cannot reach ngrok's servers"),
        (PyngrokNgrokError("The ngrok process was unable to start.", []), "did not start within"),
        (
            PyngrokNgrokInstallError(
                "An error occurred while downloading ngrok from https://bin.ngrok.com/x.zip: "
                "<urlopen error [Errno -3] Temporary failure in name resolution>"
            ),
            "Could not download the ngrok agent ([Errno -3] Temporary failure",
        ),
        (
            PyngrokNgrokHTTPError(
                "400", "http://127.0.0.1:4040/api/tunnels", 400, "", {}, HTTP_BODY
            ),
            "ngrok refused the tunnel (ERR_NGROK_9999",
        ),
        (PyngrokNgrokURLError("timed out", "timed out"), "local ngrok agent did not answer"),
    ],
    ids=["invalid", "revoked", "session-limit", "offline", "startup", "download", "http", "api"],
)
def test_pyngrok_errors_become_one_line_messages(run_cli, fake_ngrok, error, expected):
    # GIVEN ngrok fails in a known way
    fake_ngrok.connect.side_effect = error
    # WHEN sharing
    rc, out, err, launcher = run_cli()
    # THEN exit 2, one actionable line, no traceback, no token; the app never started
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert expected in lines[0]
    assert TOKEN not in out + err
    assert launcher.apps == []
    fake_ngrok.kill.assert_called()  # a half-started agent is killed too


def test_token_problem_points_to_the_dashboard(run_cli, fake_ngrok):
    fake_ngrok.connect.side_effect = _ngrok_error(AUTH_FAILED)
    _, _, err, _ = run_cli()
    assert "https://dashboard.ngrok.com/get-started/your-authtoken" in err


def test_port_in_use_is_reported_before_anything_starts(run_cli, fake_ngrok):
    # GIVEN another program listening on the requested port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # WHEN sharing on that port
        rc, _, err, launcher = run_cli("--port", str(port))
    # THEN a clear message, exit 2, no tunnel, no app
    assert rc == 2
    assert f"Port {port} is already in use" in err
    assert "--port" in err
    fake_ngrok.connect.assert_not_called()
    assert launcher.apps == []


def test_ctrl_c_disconnects_kills_agent_and_stops_app(run_cli, fake_ngrok):
    # GIVEN a running share
    seen = {}

    def while_sharing(handle):
        seen["handle"] = handle
        fake_ngrok.disconnect.assert_not_called()
        assert handle.workdir.is_dir()

    # WHEN the user presses Ctrl-C
    rc, _, _, launcher = run_cli(while_sharing=while_sharing)
    # THEN the tunnel is disconnected, the agent killed, the app terminated, the config deleted
    handle = seen["handle"]
    assert rc == 0
    fake_ngrok.disconnect.assert_called_once_with(PUBLIC_URL, pyngrok_config=handle.pyngrok_config)
    fake_ngrok.kill.assert_called_once_with(pyngrok_config=handle.pyngrok_config)
    assert launcher.apps[0].terminated
    assert not handle.workdir.exists()
    assert handle.stopped


def test_sigterm_tears_down_like_ctrl_c(run_cli, fake_ngrok):
    # GIVEN a running share WHEN the process receives SIGTERM (handler invoked directly)
    def while_sharing(handle):
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)

    previous = signal.getsignal(signal.SIGTERM)
    rc, _, _, launcher = run_cli(while_sharing=while_sharing)
    # THEN the same cleanup happens, and the previous handler is restored
    assert rc == 0
    fake_ngrok.disconnect.assert_called_once()
    fake_ngrok.kill.assert_called_once()
    assert launcher.apps[0].terminated
    assert signal.getsignal(signal.SIGTERM) is previous


def test_streamlit_runs_headless_on_loopback_behind_the_tunnel(run_cli, app_file):
    # GIVEN a share WHEN the app child is launched
    _, _, _, launcher = run_cli()
    app = launcher.apps[0]
    argv = app.argv
    flags = dict(zip(argv[5::2], argv[6::2], strict=False))
    # THEN it is `streamlit run app.py`, headless, on loopback, XSRF/CORS protection on,
    # and only the tunnel host (plus localhost) is allowed
    assert argv[1:5] == ["-m", "streamlit", "run", str(app_file.resolve())]
    assert flags["--server.headless"] == "true"
    assert flags["--server.address"] == "127.0.0.1"
    assert flags["--server.enableXsrfProtection"] == "true"
    assert flags["--server.enableCORS"] == "true"
    hosts = [argv[i + 1] for i, a in enumerate(argv) if a == "--server.allowedHosts"]
    assert hosts == ["fake-share.ngrok-free.app", "localhost", "127.0.0.1"]
    assert app.cwd == app_file.parent
    # ... and it never sees the ngrok token or the share password
    assert "NGROK_AUTHTOKEN" not in app.env
    assert "SKINAPP_SHARE_PASSWORD" not in app.env


def test_app_that_dies_at_startup_closes_the_tunnel(run_cli, fake_ngrok):
    # GIVEN a Streamlit child that exits immediately
    rc, _, err, _ = run_cli(launcher=Launcher(exit_code=1))
    # THEN a one-line message, exit 2, and the tunnel is torn down
    assert rc == 2
    assert "Streamlit exited with code 1 before it was ready" in err
    fake_ngrok.disconnect.assert_called_once()
    fake_ngrok.kill.assert_called_once()


def test_short_env_password_is_refused_without_echoing_it(run_cli, fake_ngrok, monkeypatch):
    monkeypatch.setenv("SKINAPP_SHARE_PASSWORD", "pw123")
    rc, out, err, _ = run_cli()
    assert rc == 2
    assert "8 to 128 characters" in err and "5 characters" in err
    assert "pw123" not in out + err
    fake_ngrok.connect.assert_not_called()


# === Library API ===


def test_share_config_requires_auth_unless_explicitly_opted_out():
    with pytest.raises(ValueError, match="no_auth=True"):
        ShareConfig()
    with pytest.raises(ValueError, match="not both"):
        ShareConfig(basic_auth=("u", "long-enough-pw"), no_auth=True)
    with pytest.raises(ValueError, match="no ':'"):
        ShareConfig(basic_auth=("a:b", "long-enough-pw"))
    with pytest.raises(ValueError, match="port"):
        ShareConfig(no_auth=True, port=70000)
    assert "long-enough-pw" not in repr(ShareConfig(basic_auth=("u", "long-enough-pw")))


def test_start_share_registers_atexit_cleanup(share_env, app_file, agent_stub, fake_ngrok):
    # GIVEN a share started through the library API
    cfg = ShareConfig(basic_auth=("u", "long-enough-pw"), app_path=app_file, ngrok_path=agent_stub)
    launcher = Launcher()
    with mock.patch("atexit.register") as register, mock.patch("atexit.unregister"):
        handle = start_share(cfg, launch_app=launcher)
        # WHEN the interpreter exits (the registered hook runs)
        (hook,) = (c.args[0] for c in register.call_args_list)
        hook()
    # THEN the share is torn down, and a second stop is a no-op
    assert handle.stopped and launcher.apps[0].terminated
    fake_ngrok.disconnect.assert_called_once()
    stop_share(handle)
    fake_ngrok.kill.assert_called_once()


# === Real pyngrok against a fake ngrok agent ===

FAKE_AGENT = r'''#!{python}
"""Fake ngrok v3 agent: pyngrok's `start --none --log stdout --config X` protocol."""
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
import yaml

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
json.dump(args, open(os.path.join(here, "argv.json"), "w"))
config = yaml.safe_load(open(args[args.index("--config") + 1]))
mode = os.environ.get("FAKE_NGROK_MODE", "ok")


def log(lvl, msg, **kv):
    extra = " ".join(f"{k}={json.dumps(str(v))}" for k, v in kv.items())
    print(f't=2026-01-01T00:00:00+0000 lvl={lvl} msg="{msg}" {extra}', flush=True)


def record(entry):
    with open(os.path.join(here, "requests.jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")


if mode == "bad-token":
    log("eror", "failed to reconnect session", obj="tunnels.session", err=(
        "authentication failed: The authtoken you specified does not look like a proper ngrok "
        "tunnel authtoken.\nYour authtoken: " + config["authtoken"] + "\n\nERR_NGROK_105\n"))
    sys.exit(1)
if mode == "offline":
    while True:
        log("eror", "failed to reconnect session", obj="tunnels.session", err=(
            'failed to dial ngrok server with address "connect.ngrok-agent.com:443": '
            "dial tcp: lookup connect.ngrok-agent.com: no such host"))
        time.sleep(0.1)

tunnels = {}


class Api(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, {"tunnels": list(tunnels.values()), "uri": "/api/tunnels"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        record({"method": "POST", "body": body})
        t = {"name": body["name"], "uri": "/api/tunnels/" + body["name"],
             "public_url": "https://fake-share.ngrok-free.app", "proto": "https",
             "config": {"addr": "http://" + body["addr"], "inspect": body.get("inspect")}}
        tunnels[t["public_url"]] = t
        self.reply(201, t)

    def do_DELETE(self):
        record({"method": "DELETE", "path": self.path})
        tunnels.clear()
        self.reply(204)


host, port = config["web_addr"].rsplit(":", 1)
server = HTTPServer((host, int(port)), Api)
log("info", "starting web service", obj="web", addr=config["web_addr"])
log("info", "tunnel session started", obj="tunnels.session")
log("info", "client session established", obj="csess")
server.serve_forever()
'''


@pytest.fixture
def fake_agent(tmp_path, share_env) -> Path:
    path = tmp_path / "fake-agent" / "ngrok"
    path.parent.mkdir()
    path.write_text(FAKE_AGENT.replace("{python}", sys.executable))
    path.chmod(0o700)
    yield path
    process.kill_process(str(path))  # never leave an agent behind, whatever the test did


def _requests(agent: Path) -> list[dict]:
    log = agent.parent / "requests.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_fake_agent_share_roundtrip(fake_agent, app_file):
    # GIVEN the real pyngrok driving a fake agent
    cfg = ShareConfig(
        basic_auth=("alice", "correct-horse-battery"), app_path=app_file, ngrok_path=fake_agent
    )
    launcher = Launcher()
    # WHEN the share starts
    handle = start_share(cfg, launch_app=launcher)
    try:
        # THEN the tunnel is the agent's, and pyngrok asked for exactly what we meant
        assert handle.public_url == PUBLIC_URL
        (post,) = _requests(fake_agent)
        assert post["body"]["addr"] == f"127.0.0.1:{handle.port}"
        assert post["body"]["basic_auth"] == ["alice:correct-horse-battery"]
        assert post["body"]["inspect"] is False
        assert post["body"]["schemes"] == ["https"]
        # ... the token is in a private config file, not on the agent's command line
        argv = json.loads((fake_agent.parent / "argv.json").read_text())
        assert TOKEN not in " ".join(argv)
        config_path = Path(argv[argv.index("--config") + 1])
        assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
        config = yaml.safe_load(config_path.read_text())
        assert config["authtoken"] == TOKEN
        assert config["web_addr"].startswith("127.0.0.1:")  # inspector/API on loopback only
        assert process.is_process_running(str(fake_agent))
    finally:
        # WHEN the share stops
        stop_share(handle)
    # THEN the tunnel was deleted, the agent is gone, the app stopped, the config removed
    assert _requests(fake_agent)[-1]["method"] == "DELETE"
    assert not process.is_process_running(str(fake_agent))
    assert launcher.apps[0].terminated
    assert not config_path.exists()


def test_fake_agent_rejecting_the_token(fake_agent, app_file, monkeypatch):
    # GIVEN an agent that rejects the token (and echoes it, as ngrok does)
    monkeypatch.setenv("FAKE_NGROK_MODE", "bad-token")
    cfg = ShareConfig(no_auth=True, app_path=app_file, ngrok_path=fake_agent)
    launcher = Launcher()
    # WHEN sharing THEN a clear ShareError without the token; the app never starts
    with pytest.raises(ShareError) as info:
        start_share(cfg, launch_app=launcher)
    message = str(info.value)
    assert message.startswith("ngrok rejected NGROK_AUTHTOKEN (ERR_NGROK_105)")
    assert TOKEN not in message
    assert launcher.apps == []


def test_fake_agent_without_network(fake_agent, app_file, monkeypatch):
    # GIVEN an agent that cannot reach ngrok's servers
    monkeypatch.setenv("FAKE_NGROK_MODE", "offline")
    cfg = ShareConfig(no_auth=True, app_path=app_file, ngrok_path=fake_agent, startup_timeout=1)
    # WHEN sharing THEN a network message after the startup timeout, and the agent is killed
    with pytest.raises(ShareError, match="Cannot reach ngrok's servers"):
        start_share(cfg, launch_app=Launcher())
    assert not process.is_process_running(str(fake_agent))


def test_ngrok_secrets_are_redacted_from_pyngrok_logs(fake_agent, app_file, monkeypatch, caplog):
    # GIVEN an agent that logs the token in its error WHEN sharing fails
    monkeypatch.setenv("FAKE_NGROK_MODE", "bad-token")
    cfg = ShareConfig(no_auth=True, app_path=app_file, ngrok_path=fake_agent)
    with caplog.at_level("DEBUG"), pytest.raises(ShareError):
        start_share(cfg, launch_app=Launcher())
    # THEN pyngrok's records carry *** instead of the token
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("pyngrok")]
    assert any("***" in m for m in messages)
    assert not any(TOKEN in m for m in messages)


# === The real path: bogus token, no network ===


@pytest.mark.timeout(60)
def test_real_pyngrok_with_bogus_token_fails_clearly(tmp_path, app_file, monkeypatch):
    # GIVEN a bogus token and no ngrok agent yet (pyngrok would download it into tmp_path)
    monkeypatch.setenv("NGROK_AUTHTOKEN", "bogus-token-123")
    cfg = ShareConfig(
        basic_auth=("u", "long-enough-pw"),
        app_path=app_file,
        ngrok_path=tmp_path / "bin" / "ngrok",
        install_timeout=20,
        startup_timeout=10,
    )
    launcher = Launcher()
    # WHEN sharing for real
    with pytest.raises(ShareError) as info:
        start_share(cfg, launch_app=launcher)
    # THEN: offline, the download fails; online, ngrok rejects the token. Either way: clear.
    message = str(info.value)
    assert message.startswith(
        ("Could not download the ngrok agent", "Downloading the ngrok agent took longer",
         "ngrok rejected NGROK_AUTHTOKEN", "Cannot reach ngrok's servers")
    )  # fmt: skip
    assert "bogus-token-123" not in message
    assert "\n" not in message
    assert launcher.apps == []
    process.kill_process(str(cfg.ngrok_path))  # belt and braces for the online case
