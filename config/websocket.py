"""The live socket answers pages of PrimeTime itself, never a page of another origin.

The widget runs in an iframe served by PrimeTime, so its socket comes from PrimeTime's
own origin too; a script on the embedding website cannot open one with a viewer's
credentials. `AllowedHostsOriginValidator` compares host names only, so a page on
another port of an allowed host would pass it; this compares scheme-less host:port.
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _netloc(host: str, scheme: str) -> str:
    host = host.lower()
    if ":" in host.rsplit("]", 1)[-1]:
        return host
    return f"{host}:{DEFAULT_PORTS.get(scheme, 80)}"


class SameOriginValidator:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not _same_origin(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)


def _same_origin(scope) -> bool:
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
