"""`manage.py quickstart`: one command from a fresh checkout to a served demo broadcast."""

import contextlib
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.servers import stop

PROJECT = Path(__file__).resolve().parent.parent
_READ_PREFIXES = ("DJANGO_", "PRIMETIME_", "DATABASE_URL", "REDIS_URL", "MEDIA_BACKEND", "JANUS_")
START_TIMEOUT = 30


def clean_env(db_path: Path, password: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_READ_PREFIXES)}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{db_path}",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if password is not None:
        env["PRIMETIME_DEMO_PASSWORD"] = password
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, opener=None) -> tuple[int, str, str]:
    """Status, final URL and body of a GET (redirects followed)."""
    open_ = (opener or urllib.request.build_opener()).open
    try:
        with open_(url, timeout=5) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, url, error.read().decode()


class Server:
    def __init__(self, process: subprocess.Popen, log: Path, base: str):
        self.process = process
        self.log = log
        self.base = base

    def output(self) -> str:
        return self.log.read_text()


@contextlib.contextmanager
def quickstart(tmp_path: Path, db_path: Path, *, password: str | None, name: str, **env: str):
    port = free_port()
    log = tmp_path / f"{name}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "quickstart", "--addrport", f"127.0.0.1:{port}"],
            cwd=PROJECT,
            env=clean_env(db_path, password) | env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        server = Server(process, log, f"http://127.0.0.1:{port}")
        try:
            _wait_until_serving(server)
            yield server
        finally:
            stop(process)


def _wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"quickstart exited with {server.process.returncode}:\n{server.output()}"
            )
        try:
            status, _, _ = get(server.base + "/b/demo/")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status = None
        if status == 200:
            return
        time.sleep(0.3)
    raise AssertionError(
        f"/b/demo/ did not answer 200 within {START_TIMEOUT} s:\n{server.output()}"
    )


def log_in(base: str, username: str, password: str):
    """Sign in through the login page like a browser; returns (final URL, opener)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    status, _, page = get(base + "/accounts/login/?next=/admin/", opener)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "username": username,
            "password": password,
            "next": "/admin/",
        }
    ).encode()
    request = urllib.request.Request(base + "/accounts/login/", data=data, method="POST")
    with opener.open(request, timeout=5) as response:
        assert response.status == 200
        return urllib.parse.urlsplit(response.geturl()).path, opener


def check_password(db_path: Path, password: str) -> bool:
    script = (
        "import django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "import sys\n"
        "user = get_user_model().objects.get(username='host')\n"
        "sys.exit(0 if user.check_password(sys.argv[1]) and user.is_staff else 3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, password],
        cwd=PROJECT,
        env=clean_env(db_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode in (0, 3), result.stderr
    return result.returncode == 0


def test_quickstart_serves_the_demo_and_keeps_the_password(tmp_path):
    db_path = tmp_path / "qs.sqlite3"
    password = "Quick-start-demo-42"

    with quickstart(tmp_path, db_path, password=password, name="first") as server:
        base = server.base
        output = server.output()
        assert "PrimeTime is ready." in output
        assert f"username host, password {password}" in output
        assert f"Landing page:  {base}/b/demo/" in output
        assert f"Watch page:    {base}/b/demo/watch/" in output
        assert f"Host console:  {base}/b/demo/host/" in output
        assert f"Admin:         {base}/admin/" in output

        status, _, landing = get(base + "/b/demo/")
        assert status == 200
        assert "PrimeTime demo: spring product launch" in landing
        assert "Add to calendar" in landing
        status, _, watch = get(base + "/b/demo/watch/")
        assert (status, 'name="display_name"' in watch) == (200, True)

        path, _ = log_in(base, "host", "not-the-password")
        assert path == "/accounts/login/"
        path, opener = log_in(base, "host", password)
        assert path == "/admin/"
        status, _, console = get(base + "/b/demo/host/", opener)
        assert status == 200
        assert "End broadcast" in console

    assert server.process.poll() is not None, "the server was stopped"

    with quickstart(tmp_path, db_path, password=None, name="second") as server:
        output = server.output()
        assert "existing password kept" in output
        assert password not in output
        assert f"Landing page:  {server.base}/b/demo/" in output
        path, _ = log_in(server.base, "host", password)
        assert path == "/admin/"

    assert check_password(db_path, password)


def test_quickstart_no_serve_prepares_and_exits(tmp_path):
    db_path = tmp_path / "prepared.sqlite3"
    command = [sys.executable, "manage.py", "quickstart", "--no-serve"]

    first = subprocess.run(
        command,
        cwd=PROJECT,
        env=clean_env(db_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "PrimeTime is ready." in first.stdout
    assert "Landing page:  http://127.0.0.1:8000/b/demo/" in first.stdout
    assert "Starting" not in first.stdout + first.stderr
    generated = re.search(r"username host, password (\S+)", first.stdout).group(1)
    assert len(generated) >= 12
    assert check_password(db_path, generated)

    # Run again with a password: it is reset, and the demo is not duplicated.
    second = subprocess.run(
        command,
        cwd=PROJECT,
        env=clean_env(db_path, "Another-demo-pass-7"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "username host, password Another-demo-pass-7" in second.stdout
    assert check_password(db_path, "Another-demo-pass-7")
    assert not check_password(db_path, generated)


def answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_quickstart_on_janus_runs_janus_for_its_session_and_stops_it(tmp_path):
    api, admin = free_port(), free_port()
    env = {
        "MEDIA_BACKEND": "janus",
        "JANUS_URL": f"ws://127.0.0.1:{api}",
        "JANUS_ADMIN_URL": f"ws://127.0.0.1:{admin}",
        "JANUS_CONFIG_DIR": str(tmp_path / "janus"),
        "JANUS_RTP_PORTS": "42000-42099",
    }
    with quickstart(tmp_path, tmp_path / "sfu.sqlite3", password=None, name="sfu", **env) as server:
        assert f"Janus:         started at ws://127.0.0.1:{api}" in server.output()
        assert answers(api) and answers(admin)
        status, _, _ = get(server.base + "/b/demo/watch/")
        assert status == 200
        config = (tmp_path / "janus" / "janus.transport.websockets.jcfg").read_text()
        assert 'ws_ip = "127.0.0.1"' in config and f"ws_port = {api}" in config
    assert not answers(api), "Janus was stopped with quickstart"


def test_janus_neither_running_nor_installed_is_a_clear_start_up_error(tmp_path):
    env = clean_env(tmp_path / "none.sqlite3") | {
        "MEDIA_BACKEND": "janus",
        "JANUS_URL": f"ws://127.0.0.1:{free_port()}",
        "JANUS_ADMIN_URL": f"ws://127.0.0.1:{free_port()}",
        "JANUS_BINARY": "/nonexistent/janus",
    }
    for command in (["manage.py", "check"], ["-c", "import config.asgi"]):
        result = subprocess.run(
            [sys.executable, *command],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0
        assert "no Janus answers at" in result.stderr
        assert "none is installed" in result.stderr
