"""The wire format: JSON text frames, numbered public events, and where a reconnecting
page asks to resume (`?epoch=E&since=N`)."""

import json
from urllib.parse import parse_qs

from django.core.serializers.json import DjangoJSONEncoder


def encode(payload: dict) -> str:
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def numbered(seq: int, body: str) -> str:
    # `body` is an encoded JSON object; the seq goes first so readers can find it cheaply.
    return '{"seq":' + str(seq) + "," + body[1:]


def seq_of(frame: str) -> int:
    return int(frame[7 : frame.index(",", 7)])


def resume_point(query_string: bytes) -> tuple[str | None, int | None]:
    """The epoch and seq a reconnecting page has seen, or (None, None) for a fresh one."""
    query = parse_qs(query_string.decode("latin-1"))
    epoch = (query.get("epoch") or [None])[0]
    try:
        since = int((query.get("since") or [""])[0])
    except ValueError:
        return None, None
    if epoch is None or since < 0:
        return None, None
    return epoch[:64], since
