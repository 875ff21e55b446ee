"""uvicorn's HTTP protocol, with a timeout for a request's headers.

uvicorn has none: a client that opens connections and sends half a request (or a
WebSocket handshake it never finishes) holds each open for ever, and a few thousand
of them hold the server. Here a connection whose request headers have not all arrived
within HEADERS_TIMEOUT_SECONDS of the request's first byte (or of the connection's
opening) is closed. The README's production command names it (`--http`).
"""

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADERS_TIMEOUT_SECONDS = 5


class HeadersTimeoutProtocol(HttpToolsProtocol):
    _headers_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_headers_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_headers_timer()

    def on_headers_complete(self) -> None:
        self._stop_headers_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_headers_timer()
        super().connection_lost(exc)

    def _start_headers_timer(self) -> None:
        if self._headers_timer is None:
            self._headers_timer = self.loop.call_later(
                HEADERS_TIMEOUT_SECONDS, self._headers_too_late
            )

    def _stop_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_too_late(self) -> None:
        self._headers_timer = None
        if not self.transport.is_closing():
            self.transport.close()
