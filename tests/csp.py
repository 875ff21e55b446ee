"""Reading a response's Content-Security-Policy, for the tests of pages that set one."""


def policy(response) -> dict[str, list[str]]:
    """The header's directives: {"frame-ancestors": ["'self'", ...], ...}."""
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def frame_ancestors(response) -> str:
    return " ".join(policy(response)["frame-ancestors"])
