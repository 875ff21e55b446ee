"""Domain errors: a forbidden move, with a stable code the edges turn into a
400/403/404/409 response or a WebSocket `error` frame."""


class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        # Field errors, {field: [messages]}, for forms and the socket's `error` frame.
        self.details = details
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class RateLimited(DomainError):
    code = "rate_limited"
