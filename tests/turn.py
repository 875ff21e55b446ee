"""coturn for tests: Debian's TURN server on loopback, with the REST scheme
(`use-auth-secret`) PrimeTime's TURN credentials are signed for."""

import contextlib
import socket
import subprocess
import time

from tests.janus import MEDIA_IP, media_interface
from tests.servers import ARTIFACTS, free_port, stop

LISTEN_IP = "127.0.0.1"
# Relayed addresses on Janus's own media address (tests/janus.py's veth): on this one
# machine Janus's ICE answers only addresses on that interface (measured: replies to
# checks relayed from 127.0.0.1, 127.0.0.3 or 198.18.0.1 never left Janus), which a real
# relay on its own public address would not need.
RELAY_IP = MEDIA_IP


def _config(port: int, secret: str, folder) -> str:
    first_relay = 40000 + (port % 40) * 250
    return "\n".join(
        [
            f"listening-ip={LISTEN_IP}",
            f"listening-port={port}",
            f"relay-ip={RELAY_IP}",
            f"min-port={first_relay}",
            f"max-port={first_relay + 249}",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            "realm=primetime.test",
            "fingerprint",
            # Everything runs on this machine: peers are loopback addresses.
            "allow-loopback-peers",
            "no-tls",
            "no-dtls",
            "no-cli",
            "no-software-attribute",
            f"userdb={folder / 'turndb'}",
            f"pidfile={folder / 'turnserver.pid'}",
            f"log-file={folder / 'turnserver.log'}",
            "simple-log",
            "verbose",
            "",
        ]
    )


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LISTEN_IP, port)) == 0


@contextlib.contextmanager
def running_turn(secret: str):
    """coturn on a free loopback port, relaying on RELAY_IP; yields its `turn:` URL."""
    with media_interface():
        yield from _running_turn(secret)


def _running_turn(secret: str):
    port = free_port()
    folder = ARTIFACTS / f"coturn-{port}"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "turnserver.conf"
    config.write_text(_config(port, secret, folder))
    with open(ARTIFACTS / f"coturn-{port}.log", "wb") as log:
        process = subprocess.Popen(
            ["turnserver", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 15
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"coturn did not start; see coturn-{port}.log")
                time.sleep(0.1)
            yield f"turn:{LISTEN_IP}:{port}"
        finally:
            stop(process)
