"""The wire format: JSON text frames, numbered public events, and where a reconnecting
page asks to resume (`?epoch=E&since=N`)."""

import json
import re
from urllib.parse import parse_qs

from django.core.serializers.json import DjangoJSONEncoder

from .codes import MAX_FRAME_DEPTH

# JSON's \ud800-style escapes can spell half a UTF-16 pair, which no encoder, database
# or page can take.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BadFrame(ValueError):
    """A frame that is not a command: its message says what is wrong, for the sender."""


def decode(text: str) -> dict:
    """A page's command frame: a JSON object nested at most MAX_FRAME_DEPTH deep, all of
    whose text is valid Unicode. Raises BadFrame otherwise."""
    try:
        frame = json.loads(text)
    except RecursionError:
        raise BadFrame(f"Frames nest at most {MAX_FRAME_DEPTH} levels deep.") from None
    except ValueError:
        raise BadFrame("That frame is not JSON.") from None
    if not isinstance(frame, dict):
        raise BadFrame("A command is a JSON object.")
    _check(frame, 1)
    return frame


def _check(value, depth: int) -> None:
    if isinstance(value, str):
        if LONE_SURROGATE.search(value):
            raise BadFrame("Text must be valid Unicode (a lone surrogate is not).")
        return
    if isinstance(value, dict | list):
        if depth > MAX_FRAME_DEPTH:
            raise BadFrame(f"Frames nest at most {MAX_FRAME_DEPTH} levels deep.")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _check(key, depth)
            _check(item, depth + 1)


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
