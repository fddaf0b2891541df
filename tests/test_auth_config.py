"""SKINAPP_AUTH settings and the one decision on serving without a login.

Behaviours: the default is none; unknown modes, bad numbers and proxy without the proxy's
address are refused with what to do; none may serve on loopback only, unless the explicit
opt-out (which returns the warning); every mode with a login may serve anywhere; the
``python -m skinapp.auth check`` command that ``make serve`` runs exits 2 with the message;
roles see their sections.
"""

from __future__ import annotations

import pytest

from skinapp.auth import AuthConfigError, AuthMode, auth_config, check_exposure, is_loopback
from skinapp.auth.__main__ import main as auth_main
from skinapp.auth.config import OPEN_NETWORK_WARNING
from skinapp.auth.roles import sections


def test_default_is_none_with_documented_limits():
    config = auth_config({})
    assert config.mode is AuthMode.NONE and not config.has_login
    assert (config.idle_minutes, config.max_failures, config.lockout_minutes) == (30, 5, 15)
    assert config.min_password == 12


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"SKINAPP_AUTH": "ldap"}, "none|accounts|oidc|proxy"),
        ({"SKINAPP_AUTH": "accounts", "SKINAPP_AUTH_MAX_FAILURES": "0"}, "at least 1"),
        ({"SKINAPP_AUTH": "accounts", "SKINAPP_AUTH_MIN_PASSWORD": "4"}, "at least 8"),
        ({"SKINAPP_AUTH": "accounts", "SKINAPP_AUTH_IDLE_MINUTES": "soon"}, "number"),
        ({"SKINAPP_AUTH": "proxy"}, "SKINAPP_PROXY_ADDRESSES"),
        ({"SKINAPP_AUTH": "proxy", "SKINAPP_PROXY_ADDRESSES": "nginx"}, "IP addresses"),
    ],
)
def test_bad_settings_are_refused_with_what_to_do(env, match):
    with pytest.raises(AuthConfigError, match=match):
        auth_config(env)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("[::1]", True),
        ("", False),
        (None, False),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("clinic.example", False),
    ],
)
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


def test_none_serves_on_loopback_only_unless_opted_out():
    none = auth_config({})
    assert check_exposure(none, "127.0.0.1") is None
    for address in ("0.0.0.0", "", "10.1.2.3"):
        with pytest.raises(AuthConfigError, match="Refusing to serve"):
            check_exposure(none, address)
    opted_out = auth_config({"SKINAPP_ALLOW_OPEN_NETWORK": "1"})
    assert check_exposure(opted_out, "0.0.0.0") == OPEN_NETWORK_WARNING


@pytest.mark.parametrize("mode", ["accounts", "oidc"])
def test_modes_with_a_login_serve_anywhere(mode):
    assert check_exposure(auth_config({"SKINAPP_AUTH": mode}), "0.0.0.0") is None


def test_check_command_exits_2_with_the_message(monkeypatch, capsys):
    monkeypatch.delenv("SKINAPP_AUTH", raising=False)
    monkeypatch.delenv("SKINAPP_ALLOW_OPEN_NETWORK", raising=False)
    assert auth_main(["check", "--address", "0.0.0.0"]) == 2
    assert "SKINAPP_AUTH=accounts" in capsys.readouterr().err
    assert auth_main(["check", "--address", "127.0.0.1"]) == 0
    monkeypatch.setenv("SKINAPP_AUTH", "accounts")
    assert auth_main(["check", "--address", "0.0.0.0"]) == 0


def test_roles_see_their_sections():
    assert sections("clinician") == ["Clinic", "Lab", "Model"]
    assert sections("admin") == ["Clinic", "Lab", "Model", "Admin"]
    assert sections("visitor") == []
