"""PrimeTime's sockets answer pages of PrimeTime itself, never a page of another origin.

The widget runs in an iframe served by PrimeTime, so its socket comes from PrimeTime's
own origin too; a script on the embedding website cannot open one with a viewer's
credentials. `AllowedHostsOriginValidator` compares host names only, so a page on
another port of an allowed host would pass it; this compares scheme-less host:port.

`WebsocketGate` checks both once, then sends a page's live socket straight to its
consumer with what it needs (its broadcast's slug and the cookies: who it is is worked
out with the other pages arriving at the same moment, see `participation.admissions`),
and the other sockets through Channels' session and authentication stack. Thousands
of live sockets stay open for hours: each layer of that stack would hold a copy of
the connection's scope and a frame for as long, and look up a user in the database
for every guest.
"""

import re
from urllib.parse import urlparse, urlsplit

from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.http.cookie import parse_cookie

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _netloc(host: str, scheme: str) -> str:
    host = host.lower()
    if ":" in host.rsplit("]", 1)[-1]:
        return host
    return f"{host}:{DEFAULT_PORTS.get(scheme, 80)}"


def same_origin(scope) -> bool:
    """Whether the page that opens this socket is of the very host:port it is opened on."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin", b"").decode("latin-1")
    host = headers.get(b"host", b"").decode("latin-1")
    if not origin or not host or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    # Behind a TLS-terminating proxy the socket is ws:// but the page was https://,
    # so only host and port are compared (with the page's default port).
    return _netloc(parts.netloc, parts.scheme) == _netloc(host, parts.scheme)


class WebsocketGate:
    def __init__(self, *, live, live_path: str, others):
        self.live = live
        self.live_path = re.compile(live_path)
        self.others = others
        # Its rule for allowed hosts (settings.ALLOWED_HOSTS, localhost when debugging).
        self.allowed_hosts = AllowedHostsOriginValidator(None)

    async def __call__(self, scope, receive, send):
        if not (self._allowed_host(scope) and same_origin(scope)):
            return await WebsocketDenier()(scope, receive, send)
        match = self.live_path.fullmatch(scope["path"])
        if match is None:
            return await self.others(scope, receive, send)
        cookie = next((v for k, v in scope.get("headers", ()) if k == b"cookie"), b"")
        live_scope = dict(
            scope,
            url_route={"args": (), "kwargs": match.groupdict()},
            cookies=parse_cookie(cookie.decode("latin-1")),
        )
        return await self.live(live_scope, receive, send)

    def _allowed_host(self, scope) -> bool:
        origin = next((v for k, v in scope.get("headers", ()) if k == b"origin"), None)
        try:
            parsed = urlparse(origin.decode("latin-1")) if origin is not None else None
        except UnicodeDecodeError:
            parsed = None
        return self.allowed_hosts.valid_origin(parsed)
