"""The codes of the live protocol (DESIGN section 4), and the limits of a frame."""

# An `error` frame's `code` (the domain errors of core/errors.py carry the same).
INVALID = "invalid"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
RATE_LIMITED = "rate_limited"
ERROR_CODES = (INVALID, FORBIDDEN, NOT_FOUND, CONFLICT, RATE_LIMITED)

# Close codes of a refused handshake (the browser sees a failed connection; tools see these).
CLOSE_CODES = {INVALID: 4400, FORBIDDEN: 4403, NOT_FOUND: 4404, RATE_LIMITED: 4429}
# Sent when this process may have missed events: reconnect and replay from your seq.
CLOSE_RESYNC = 4000
# The database cannot serve the page right now (WebSocket's own "Try Again Later").
CLOSE_TRY_AGAIN_LATER = 1013

# WebRTC offers with every codec run to about 10 KB.
MAX_FRAME_CHARS = 65_536
MAX_REF_CHARS = 64
# Commands are flat objects; a signal's ICE candidate sits three levels down.
MAX_FRAME_DEPTH = 6
# Public events waiting for a reader that does not read: past this, it resyncs.
MAX_OUTBOX_FRAMES = 500
