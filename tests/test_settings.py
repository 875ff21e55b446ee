"""config.settings: the environment helpers, and start-up with production-like variables."""

import json
import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import env_bool, env_int, env_list

PROJECT = Path(__file__).resolve().parent.parent
VAR = "PRIMETIME_TEST_SETTING"

# Variables the settings module reads: a subprocess starts without any of them.
_READ_PREFIXES = ("DJANGO_", "PRIMETIME_", "DATABASE_URL", "REDIS_URL", "MEDIA_BACKEND", "JANUS_")


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_READ_PREFIXES)}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(overrides)
    return env


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_refusal(**env: str) -> str:
    """The message with which config/settings.py, run afresh in this process with only
    `env` of the variables it reads, refuses to start (ImproperlyConfigured). In a
    subprocess each of these took 0.4 s, Django's imports; the module is plain Python
    that reads the environment, so running it again here is the same test."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith(_READ_PREFIXES)]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        with pytest.raises(ImproperlyConfigured) as refused:
            runpy.run_path(str(PROJECT / "config" / "settings.py"))
    return str(refused.value)


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(45),
        "DJANGO_ALLOWED_HOSTS": "example.com",
    }
    assert len(env["DJANGO_SECRET_KEY"]) == 60
    env.update(overrides)
    return env


# --- env_bool ---------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "True", "yes", "on", " on ", "Yes"])
def test_env_bool_true_spellings(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, False) is True


@pytest.mark.parametrize("raw", ["0", "false", "FALSE", "no", "off", "", " Off "])
def test_env_bool_false_spellings(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    assert env_bool(VAR, True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_gives_the_default(monkeypatch, default):
    monkeypatch.delenv(VAR, raising=False)
    assert env_bool(VAR, default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "tru", "enabled"])
def test_env_bool_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured) as caught:
        env_bool(VAR, False)
    assert VAR in str(caught.value)
    assert repr(raw) in str(caught.value)


# --- env_int ----------------------------------------------------------------------


def test_env_int_reads_an_integer(monkeypatch):
    monkeypatch.setenv(VAR, " 42 ")
    assert env_int(VAR, 7) == 42


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_env_int_unset_or_blank_gives_the_default(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, raw)
    assert env_int(VAR, 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "12abc", "0x10"])
def test_env_int_refuses_non_integers(monkeypatch, raw):
    monkeypatch.setenv(VAR, raw)
    with pytest.raises(ImproperlyConfigured) as caught:
        env_int(VAR, 7)
    assert VAR in str(caught.value)
    assert "integer" in str(caught.value)


def test_env_int_refuses_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv(VAR, "9")
    with pytest.raises(ImproperlyConfigured) as caught:
        env_int(VAR, 500, minimum=10)
    assert "at least 10" in str(caught.value)


def test_env_int_accepts_the_minimum_itself(monkeypatch):
    monkeypatch.setenv(VAR, "10")
    assert env_int(VAR, 500, minimum=10) == 10
    monkeypatch.setenv(VAR, "-3")
    assert env_int(VAR, 5) == -3


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv(VAR, " a.example , b.example,, ")
    assert env_list(VAR, ["x"]) == ["a.example", "b.example"]
    monkeypatch.delenv(VAR)
    assert env_list(VAR, ["x"]) == ["x"]


# --- Start-up in a clean process ----------------------------------------------------


def test_defaults_import_cleanly():
    result = run(
        [
            "-c",
            "import json, config.settings as s; print(json.dumps([s.DEBUG, "
            "s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
            "s.MEDIA_BACKEND, s.CELERY_TASK_ALWAYS_EAGER]))",
        ]
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        True,
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "mesh",
        True,
    ]


def test_production_without_a_secret_key_refuses_to_start():
    refusal = settings_refusal(DJANGO_DEBUG="0")
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in refusal


def test_production_with_a_blank_secret_key_refuses_to_start():
    refusal = settings_refusal(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="   ")
    assert "DJANGO_SECRET_KEY must be set" in refusal


def test_a_bad_debug_value_refuses_to_start():
    refusal = settings_refusal(DJANGO_DEBUG="maybe")
    assert "DJANGO_DEBUG must be one of" in refusal


def test_deploy_check_passes_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_deploy_check_warns_with_a_short_secret_key():
    # The check above must be able to fail: a weak key is reported.
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **production_env(DJANGO_SECRET_KEY="short-key"),
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_settings_are_hardened():
    result = run(
        [
            "-c",
            "import json, config.settings as s; print(json.dumps([s.DEBUG, s.ALLOWED_HOSTS, "
            "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_HSTS_SECONDS > 0]))",
        ],
        **production_env(),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, ["example.com"], True, True, True, True]


def test_an_unknown_media_backend_refuses_to_start():
    result = run(["manage.py", "check"], MEDIA_BACKEND="bogus")
    assert result.returncode != 0
    assert "MEDIA_BACKEND must be 'mesh' or 'janus'; got 'bogus'" in result.stderr


JANUS_SCRIPT = (
    "import json, config.settings as s; print(json.dumps([s.MEDIA_BACKEND, s.JANUS_URL, "
    "s.JANUS_ADMIN_URL, s.JANUS_RTP_PORTS, s.JANUS_MEDIA_IP, s.JANUS_EVENT_LOOPS > 0]))"
)


def test_janus_settings_default_to_loopback():
    result = run(["-c", JANUS_SCRIPT], MEDIA_BACKEND="janus")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "janus",
        "ws://127.0.0.1:8188",
        "ws://127.0.0.1:7188",
        "20000-20999",
        "",
        True,
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("JANUS_URL", "http://127.0.0.1:8088/janus", "JANUS_URL must be a ws:// or wss:// URL"),
        ("JANUS_ADMIN_URL", "127.0.0.1:7188", "JANUS_ADMIN_URL must be a ws:// or wss:// URL"),
        ("JANUS_RTP_PORTS", "20000", "JANUS_RTP_PORTS must be a range like 20000-20999"),
        ("JANUS_RTP_PORTS", "30000-20000", "JANUS_RTP_PORTS must be a range like 20000-20999"),
        ("JANUS_RTP_PORTS", "80-2000", "JANUS_RTP_PORTS must be a range like 20000-20999"),
        ("JANUS_EVENT_LOOPS", "0", "JANUS_EVENT_LOOPS must be at least 1"),
    ],
)
def test_bad_janus_settings_refuse_to_start(name, value, message):
    refusal = settings_refusal(MEDIA_BACKEND="janus", **{name: value})
    assert message in refusal


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PRIMETIME_ICE_URLS": "http://turn.example.com"}, "is not a stun: or turn: URL"),
        ({"PRIMETIME_ICE_URLS": "turn:turn.example.com"}, "PRIMETIME_TURN_SECRET is empty"),
        ({"PRIMETIME_ICE_USERNAME": "primetime"}, "PRIMETIME_ICE_USERNAME is no longer read"),
        ({"PRIMETIME_ICE_TRANSPORT_POLICY": "tcp"}, "must be all or relay; got 'tcp'"),
        (
            {"PRIMETIME_ICE_URLS": "stun:turn.example.com", "PRIMETIME_TURN_SECRET": "x"}
            | {"PRIMETIME_ICE_TRANSPORT_POLICY": "relay"},
            "relay needs a turn: URL",
        ),
        ({"PRIMETIME_TURN_TTL_SECONDS": "5"}, "PRIMETIME_TURN_TTL_SECONDS must be at least 60"),
    ],
)
def test_bad_ice_settings_refuse_to_start(env, message):
    refusal = settings_refusal(**env)
    assert message in refusal


def test_turn_settings_are_read():
    script = (
        "import json, config.settings as s; "
        "print(json.dumps([s.ICE_SERVER_URLS, s.TURN_TTL_SECONDS, s.ICE_TRANSPORT_POLICY]))"
    )
    result = run(
        ["-c", script],
        PRIMETIME_ICE_URLS="stun:t.example.com,turn:t.example.com:3478?transport=tcp",
        PRIMETIME_TURN_SECRET="shared",
        PRIMETIME_TURN_TTL_SECONDS="3600",
        PRIMETIME_ICE_TRANSPORT_POLICY="relay",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        ["stun:t.example.com", "turn:t.example.com:3478?transport=tcp"],
        3600,
        "relay",
    ]


def test_a_bad_database_url_refuses_to_start():
    refusal = settings_refusal(DATABASE_URL="nosuch://somewhere/db")
    assert "DATABASE_URL is not a database URL" in refusal


def test_a_too_small_event_log_refuses_to_start():
    refusal = settings_refusal(PRIMETIME_LIVE_EVENT_LOG_SIZE="5")
    assert "PRIMETIME_LIVE_EVENT_LOG_SIZE must be at least 10" in refusal


def test_the_channel_layer_is_chosen_by_setting_and_the_core_layer_gets_its_redis_limits():
    script = (
        "import json, config.settings as s; c = s.CHANNEL_LAYERS['default']; "
        "print(json.dumps([c['BACKEND'], c['CONFIG']['hosts']]))"
    )
    url = "redis://127.0.0.1:6379/9"
    pubsub = run(["-c", script], REDIS_URL=url)
    assert pubsub.returncode == 0, pubsub.stderr
    assert json.loads(pubsub.stdout) == ["channels_redis.pubsub.RedisPubSubChannelLayer", [url]]
    core = run(["-c", script], REDIS_URL=url, PRIMETIME_CHANNEL_LAYER="core")
    assert core.returncode == 0, core.stderr
    backend, (host,) = json.loads(core.stdout)
    assert backend == "channels_redis.core.RedisChannelLayer"
    # Longer than the layer's 5 s blocking pop; more than redis-py's 100 connections.
    assert host["address"] == url and host["socket_timeout"] > 5
    assert host["max_connections"] > 100


DATABASE_SCRIPT = (
    "import json, config.settings as s; d = s.DATABASES['default']; "
    "print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], d['OPTIONS']],"
    " default=lambda value: value.__qualname__))"
)
POSTGRES_URL = "postgres://app@127.0.0.1:5432/primetime"


def test_postgresql_connections_come_from_a_pool_per_process():
    result = run(["-c", DATABASE_SCRIPT], DATABASE_URL=POSTGRES_URL)
    assert result.returncode == 0, result.stderr
    max_age, checked, options = json.loads(result.stdout)
    assert max_age == 0 and checked is True
    assert options["pool"] == {
        "min_size": 2,
        "max_size": 8,
        "timeout": 10,
        "connection_class": "OutageNoticingConnection",  # core/pgconnection.py
    }
    assert options["application_name"] == "primetime"
    sized = run(
        ["-c", DATABASE_SCRIPT],
        DATABASE_URL=POSTGRES_URL,
        PRIMETIME_DB_POOL_SIZE="3",
        PRIMETIME_DB_POOL_TIMEOUT="2",
    )
    assert json.loads(sized.stdout)[2]["pool"] == {
        "min_size": 2,
        "max_size": 3,
        "timeout": 2,
        "connection_class": "OutageNoticingConnection",
    }


def test_without_a_pool_connections_may_be_kept_per_thread():
    result = run(
        ["-c", DATABASE_SCRIPT],
        DATABASE_URL=POSTGRES_URL,
        PRIMETIME_DB_POOL_SIZE="0",
        PRIMETIME_DB_CONN_MAX_AGE="60",
    )
    assert result.returncode == 0, result.stderr
    max_age, _, options = json.loads(result.stdout)
    assert max_age == 60 and "pool" not in options


def test_a_kept_connection_with_a_pool_refuses_to_start():
    refusal = settings_refusal(DATABASE_URL=POSTGRES_URL, PRIMETIME_DB_CONN_MAX_AGE="60")
    assert "PRIMETIME_DB_CONN_MAX_AGE keeps connections per thread" in refusal


def test_a_bad_pool_size_refuses_to_start():
    refusal = settings_refusal(DATABASE_URL=POSTGRES_URL, PRIMETIME_DB_POOL_SIZE="-1")
    assert "PRIMETIME_DB_POOL_SIZE must be at least 0" in refusal


def test_production_settings_pass_the_deploy_check_with_the_pool():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        **production_env(DATABASE_URL=POSTGRES_URL, REDIS_URL="redis://127.0.0.1:6379/9"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_page_requests_inside_django_are_limited_per_process_by_setting():
    script = "import config.settings as s; print(s.HTTP_CONCURRENCY)"
    assert run(["-c", script]).stdout.strip() == "16"
    assert run(["-c", script], PRIMETIME_HTTP_CONCURRENCY="0").stdout.strip() == "0"
    refusal = settings_refusal(PRIMETIME_HTTP_CONCURRENCY="-2")
    assert "PRIMETIME_HTTP_CONCURRENCY must be at least 0" in refusal


# --- The README's production setup ----------------------------------------------------


def readme_production_env(janus_env: dict, **overrides: str) -> dict[str, str]:
    """The variables the README's production section sets (its Janus running, as the
    README starts it before the check)."""
    from broadcasts.janus.config import janus_secret

    return production_env(
        DJANGO_ALLOWED_HOSTS="live.example.com",
        DATABASE_URL=POSTGRES_URL,
        REDIS_URL="redis://127.0.0.1:6379/9",
        # The test's Janus: its ports, and the secret it was configured with.
        JANUS_SECRET=janus_secret(),
        **janus_env,
        **overrides,
    )


@pytest.mark.media_address  # Janus's veth: one test at a time makes and removes it
def test_the_readmes_production_settings_pass_the_deploy_check():
    from tests.janus import running_janus

    with running_janus() as (janus_env, _):
        env = readme_production_env(janus_env)
        assert env["MEDIA_BACKEND"] == "janus" and env["JANUS_MEDIA_IP"]
        result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_cookies_are_secure_and_kept_from_scripts():
    result = run(
        [
            "-c",
            # Django's defaults too: the settings as Django sees them.
            "import json, django; django.setup(); from django.conf import settings as s; "
            "print(json.dumps({'session': [s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
            "s.SESSION_COOKIE_SAMESITE], "
            "'csrf': [s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.CSRF_COOKIE_SAMESITE], "
            "'proxy': s.SECURE_PROXY_SSL_HEADER, "
            "'sockets': s.CONTENT_SECURITY_POLICY['DIRECTIVES']['connect-src']}))",
        ],
        **production_env(DJANGO_ALLOWED_HOSTS="live.example.com"),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "session": [True, True, "Lax"],
        "csrf": [True, True, "Lax"],
        "proxy": ["HTTP_X_FORWARDED_PROTO", "https"],
        # Behind TLS: the live socket over wss: only.
        "sockets": ["'self'", "wss://live.example.com"],
    }
