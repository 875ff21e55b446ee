"""Janus's configuration, rendered from our settings (`python manage.py janus` runs it).

Debian's /etc/janus is unsafe for us (APIs on every interface, a well-known admin
secret, demo rooms, every plugin loaded), so we ship our own: the WebSocket transport
and the Admin API bound to the addresses of JANUS_URL / JANUS_ADMIN_URL (loopback by
default), the VideoRoom plugin only, with an admin key so that nobody else creates
rooms, the RTP port range, and the ICE settings.
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import ipaddress
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

VIDEOROOM = "libjanus_videoroom.so"
WEBSOCKETS = "libjanus_websockets.so"
# Where distributions put Janus's plugins and transports (Debian: the multiarch one).
LIBRARY_GLOBS = (
    "/usr/lib/*/janus",
    "/usr/lib/janus",
    "/usr/local/lib/janus",
    "/opt/janus/lib/janus",
)


class JanusNotInstalled(RuntimeError):
    pass


def janus_secret() -> str:
    """The secret of Janus's API and Admin API and the VideoRoom admin key."""
    if settings.JANUS_SECRET:
        return settings.JANUS_SECRET
    return hmac.new(settings.SECRET_KEY.encode(), b"primetime.janus", hashlib.sha256).hexdigest()


def derived(purpose: str) -> str:
    """A secret of its own for `purpose` (a room's secret, a publisher's token)."""
    return hmac.new(janus_secret().encode(), purpose.encode(), hashlib.sha256).hexdigest()[:32]


def janus_binary() -> str | None:
    binary = settings.JANUS_BINARY
    return binary if os.path.isabs(binary) and os.access(binary, os.X_OK) else shutil.which(binary)


def library_dir(binary: str) -> Path:
    """The folder holding Janus's plugins/ and transports/ (beside its binary, if built
    from source into a prefix; else where the distribution put them)."""
    prefix = Path(binary).resolve().parent.parent
    candidates = [prefix / "lib" / "janus", *(Path(p) for g in LIBRARY_GLOBS for p in glob.glob(g))]
    for candidate in candidates:
        if (candidate / "plugins" / VIDEOROOM).exists():
            return candidate
    raise JanusNotInstalled(
        f"Janus's VideoRoom plugin ({VIDEOROOM}) was not found beside {binary} or in "
        + ", ".join(LIBRARY_GLOBS)
    )


@dataclass(frozen=True)
class Listener:
    ip: str
    port: int


def listener(url: str) -> Listener:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    try:
        ip = str(ipaddress.ip_address(host))
    except ValueError:
        ip = socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]
    return Listener(ip=ip, port=parts.port or (443 if parts.scheme == "wss" else 80))


def _quote(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_quote(item) for item in value) + "]"
    text = str(value)
    if any(ch in text for ch in '"\\\n'):
        raise ValueError(f"refusing to write {text!r} into Janus's configuration")
    return f'"{text}"'


def render_jcfg(sections: dict[str, dict]) -> str:
    lines = ["# Written by `python manage.py janus` from PrimeTime's settings; do not edit."]
    for name, options in sections.items():
        lines.append(f"{name}: {{")
        lines.extend(f"\t{key} = {_quote(value)}" for key, value in options.items())
        lines.append("}")
    return "\n".join(lines) + "\n"


def _stun_server() -> dict:
    """Janus's STUN server (the first of PRIMETIME_ICE_URLS), to learn its public
    address behind a NAT. Janus needs no TURN relay of its own: it is reachable at its
    media address, and browsers behind strict firewalls come through their TURN relay."""
    for url in settings.ICE_SERVER_URLS:
        scheme, _, rest = url.partition(":")
        address = rest.split("?", 1)[0]
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
        if scheme == "stun":
            return {"stun_server": host, "stun_port": int(port or 3478)}
    return {}


def _unused_modules(lib: Path, kind: str, keep: str | None) -> str:
    """Janus loads every module in its folders; these are the ones to disable."""
    return ",".join(
        path.name for path in sorted((lib / kind).glob("libjanus_*.so")) if path.name != keep
    )


def configuration(folder: Path, lib: Path) -> dict[str, str]:
    """File name -> contents of the configuration folder Janus runs with."""
    api, admin = listener(settings.JANUS_URL), listener(settings.JANUS_ADMIN_URL)
    secret = janus_secret()
    general = {
        "configs_folder": str(folder),
        "plugins_folder": str(lib / "plugins"),
        "transports_folder": str(lib / "transports"),
        "events_folder": str(lib / "events"),
        "loggers_folder": str(lib / "loggers"),
        "debug_level": 4,
        "debug_timestamps": True,
        "debug_colors": False,
        "log_to_stdout": True,
        "server_name": "PrimeTime",
        "api_secret": secret,
        "admin_secret": secret,
        # A server process that vanishes without closing its session frees it after this.
        "session_timeout": 60,
        "event_loops": settings.JANUS_EVENT_LOOPS,
        "hide_dependencies": True,
        "protected_folders": [
            "/bin",
            "/boot",
            "/dev",
            "/etc",
            "/lib",
            "/proc",
            "/sbin",
            "/sys",
            "/usr",
        ],
    }
    nat = {"nice_debug": False, "full_trickle": True, "ignore_mdns": True}
    if settings.JANUS_MEDIA_IP:
        general["interface"] = settings.JANUS_MEDIA_IP
        nat["ice_enforce_list"] = settings.JANUS_MEDIA_IP
    if settings.JANUS_PUBLIC_IP:
        nat["nat_1_1_mapping"] = settings.JANUS_PUBLIC_IP
    nat |= _stun_server()
    core = {
        "general": general,
        "media": {"rtp_port_range": settings.JANUS_RTP_PORTS},
        "nat": nat,
        "plugins": {"disable": _unused_modules(lib, "plugins", VIDEOROOM)},
        "transports": {"disable": _unused_modules(lib, "transports", WEBSOCKETS)},
        "loggers": {"disable": _unused_modules(lib, "loggers", None)},
        "events": {"broadcast": False, "disable": _unused_modules(lib, "events", None)},
    }
    websockets = {
        "general": {
            "json": "plain",
            "ws": True,
            "ws_ip": api.ip,
            "ws_port": api.port,
            "wss": False,
        },
        "admin": {
            "admin_ws": True,
            "admin_ws_ip": admin.ip,
            "admin_ws_port": admin.port,
            "admin_wss": False,
        },
    }
    videoroom = {
        # Rooms are created through the Admin API with this key only, and no static rooms.
        "general": {"admin_key": secret, "lock_rtp_forward": True, "events": False}
    }
    return {
        "janus.jcfg": render_jcfg(core),
        "janus.transport.websockets.jcfg": render_jcfg(websockets),
        "janus.plugin.videoroom.jcfg": render_jcfg(videoroom),
    }


def write_configuration(folder: Path | None = None) -> tuple[str, Path]:
    """Write the configuration folder; (the Janus binary, the folder)."""
    binary = janus_binary()
    if binary is None:
        raise JanusNotInstalled(
            f"Janus is not installed ({settings.JANUS_BINARY!r} is not on PATH): "
            "apt-get install janus, or set JANUS_BINARY"
        )
    folder = Path(folder or settings.JANUS_CONFIG_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # the files hold the API secret
    for name, text in configuration(folder, library_dir(binary)).items():
        path = folder / name
        path.write_text(text)
        os.chmod(path, 0o600)
    return binary, folder
