"""Domain errors: a forbidden move, with a stable code (DESIGN section 4) that the edges
turn into an HTTP status (core/http.py) or a WebSocket `error` frame."""


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        # Field errors, {field: [messages]}, for forms and the socket's `error` frame.
        self.details = details
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid"
    status = 400


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
