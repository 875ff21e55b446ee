"""Parallel test workers (pytest-xdist), each in a world of its own.

pytest-django gives each worker its own test database; this gives each its own Redis.
Sharing one would not do, even on separate database numbers: the tests clear the cache
(a FLUSHDB), and Redis's pub/sub channels, which carry live events by broadcast slug, are
one namespace across databases, so two workers' "spring-launch" would hear each other.

Settings are read before any conftest is imported, so the Redis-derived settings are
overridden here, once per worker, before the first test runs.
"""

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.parse

import redis
from django.conf import settings
from django.test import override_settings

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# The Redis of tests that need one when the suite runs without (the SQLite pass).
DEFAULT_LOCAL_REDIS_URL = "redis://127.0.0.1:6379/5"


def _die_with_parent():
    # PR_SET_PDEATHSIG: a worker killed outright takes its Redis with it.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _start_redis() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), *options],
        stdout=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    from tests.servers import stop  # which itself imports this module's WORKER

    atexit.register(stop, process)
    client = redis.Redis(port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Redis of test worker {WORKER} did not start") from None
            time.sleep(0.05)
        finally:
            client.close()
    return port


def _on_port(url: str, port: int) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=f"127.0.0.1:{port}").geturl()


def _redis_settings(url: str) -> dict:
    """The settings config/settings.py derives from REDIS_URL, on `url` instead."""
    layer = settings.CHANNEL_LAYERS["default"]
    hosts = [
        {**host, "address": url} if isinstance(host, dict) else url
        for host in layer["CONFIG"]["hosts"]
    ]
    return {
        "REDIS_URL": url,
        "CHANNEL_LAYERS": {"default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": hosts}}},
        "CACHES": {"default": {**settings.CACHES["default"], "LOCATION": url}},
        "CELERY_BROKER_URL": url,
    }


def isolate() -> str:
    """Give this worker its Redis (nothing happens outside a worker); the URL tests use
    for a Redis of their own."""
    local_redis_url = os.environ.get("PRIMETIME_TEST_REDIS_URL", DEFAULT_LOCAL_REDIS_URL)
    if not WORKER:
        return settings.REDIS_URL or local_redis_url
    port = _start_redis()
    if settings.REDIS_URL:
        shared = urllib.parse.urlsplit(settings.REDIS_URL).netloc
        override_settings(**_redis_settings(_on_port(settings.REDIS_URL, port))).enable()
        from config.celery import app

        app.conf.broker_url = settings.CELERY_BROKER_URL
        # A setting derived from REDIS_URL that the list above misses would still point
        # at the shared Redis: refuse to run rather than let workers interfere.
        leftovers = [
            name
            for name in dir(settings)
            if name.isupper() and shared in repr(getattr(settings, name))
        ]
        if leftovers:
            raise RuntimeError(f"settings still on the shared Redis: {leftovers}")
        return settings.REDIS_URL
    return _on_port(local_redis_url, port)
