"""Hostile frames for the live sockets, and the harness that holds every answer to the
protocol (DESIGN section 4; issue 18, "Bad input").

The strategies (hypothesis) make frames of every kind a client can send: random JSON of
any shape, text that is not JSON, binary frames, frames nested past the limit or over the
size limit, unknown or mistyped command types and refs, and every registered command with
hostile fields (wrong types, negative, huge and float ids, other people's ids and ids of
another broadcast, markup, NUL bytes, lone surrogates, huge strings) or good ones.

`FrameFuzzer` sends them one by one on one socket and checks each answer: an `ack` or an
`error` with one of the protocol's codes, or a documented close code; never silence, never
an ERROR in the server's log, never an exception escaping the consumer. Around each
batch of frames that were all refused it compares a fingerprint of every table a command
can change: a refused frame changes nothing.
"""

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from django.db import connection
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from broadcasts import services as broadcasts
from broadcasts.models import AuditEntry, Broadcast, BroadcastTransition
from leads.models import ExportTransition, Lead, LeadExport
from participation import questions, stage
from participation.models import (
    Attendee,
    CtaClick,
    Like,
    Question,
    QuestionVote,
    Rating,
    SpeakRequest,
    SpeakRequestTransition,
)
from participation.reactions import CTA_SOURCES
from participation.realtime.codes import (
    CLOSE_CODES,
    CLOSE_RESYNC,
    CLOSE_TRY_AGAIN_LATER,
    ERROR_CODES,
    MAX_FRAME_CHARS,
    MAX_FRAME_DEPTH,
    MAX_REF_CHARS,
)
from participation.realtime.commands import REGISTRIES
from participation.realtime.counters import counters
from participation.services import attendee_for_user
from tests.factories import BroadcastFactory, GuestFactory, UserFactory
from tests.participation.live_client import open_communicator

# Deterministic for CI: the same frames every run, no example database in the repo. No
# shrinking: the frames share one socket and its history, and a failure names the frame.
FUZZ_SETTINGS = settings(
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)

# Frames in each batch the tables are compared around: a batch with an ack is not
# compared (the ack may have changed them), so small.
BATCH = 5

CLOSE_CODES_DOCUMENTED = {*CLOSE_CODES.values(), CLOSE_RESYNC, CLOSE_TRY_AGAIN_LATER}
# A frame's answer must come within this; silence is a failure.
ANSWER_SECONDS = 10

# Every field any command reads (participation/live.py, leads/live.py).
FIELDS = (
    "attendee",
    "question",
    "text",
    "stars",
    "to",
    "data",
    "camera",
    "microphone",
    "source",
    "name",
    "email",
    "phone",
    "company",
    "consent",
    "website",
)

NASTY_TEXT = (
    "",
    " ",
    "\n\t\r",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(document.cookie)>',
    "javascript:alert(1)",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\ud83d",
    "\u202eevil\u202c",
    "\u200b",
    "\ufeff",
    "\U0010ffff",
    "👩🏽‍💻",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "'; DROP TABLE participation_question; --",
    "%s%s%s%n",
    "{0}{1}{__class__}",
    "${jndi:ldap://127.0.0.1/x}",
    "null",
    "true",
    "NaN",
    "1e400",
    "-0",
    "٣",
    "0x10",
    " 1",
    "1.0",
    "9" * 30,
    "a" * 500,
    "a" * 501,
    "a" * 2001,
    "ﷺ" * 200,
)
HUGE_INTS = (0, -1, -(2**31), 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**60)
UNKNOWN_TYPES = ("", "PING", "ping ", "hand", "hand.", ".raise", "admin.delete", "__init__", "ack")


def nasty_text() -> st.SearchStrategy[str]:
    huge = st.builds(
        lambda piece, n: piece * n,
        st.sampled_from(["x", "é", "😀", "<b>", "\x00", " ", "\ud800"]),
        st.integers(min_value=100, max_value=40_000),
    )
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(max_size=30),
        st.text(st.characters(codec="utf-16", categories=["Cs", "Cc", "Cf", "So"]), max_size=8),
        huge,
    )


def json_values(text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy:
    """JSON of any shape (hypothesis's floats include NaN and infinities, which Python's
    json writes and reads)."""
    text = text or nasty_text()
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(HUGE_INTS),
        st.floats(),
        text,
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=8,
    )


def hostile_ids(ids: list[int]) -> st.SearchStrategy:
    """Ids of every wrong kind: other people's, another broadcast's, none, negative,
    huge, fractional, spelt as text, or not numbers at all."""
    spelt = st.sampled_from(ids).flatmap(lambda n: st.sampled_from([str(n), f" {n} ", f"{n}.0"]))
    return st.one_of(
        st.sampled_from(ids),
        st.sampled_from(HUGE_INTS),
        st.integers(),
        st.floats(),
        st.sampled_from(ids).map(lambda n: n + 0.5),
        spelt,
        st.booleans(),
        st.none(),
        nasty_text(),
        st.lists(st.sampled_from(ids), max_size=2),
        st.fixed_dictionaries({"id": st.sampled_from(ids)}),
    )


def good_signal() -> st.SearchStrategy[dict]:
    pc = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
    sdp = st.just("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
    return st.one_of(
        st.fixed_dictionaries({"kind": st.just("request"), "pc": pc}),
        st.fixed_dictionaries({"kind": st.sampled_from(["offer", "answer"]), "pc": pc, "sdp": sdp}),
        st.fixed_dictionaries(
            {
                "kind": st.just("candidate"),
                "pc": pc,
                "candidate": st.fixed_dictionaries(
                    {"candidate": st.just("candidate:1 1 UDP 1 127.0.0.1 9 typ host")},
                    optional={"sdpMid": st.just("0"), "sdpMLineIndex": st.integers(0, 3)},
                ),
            }
        ),
        st.fixed_dictionaries({"kind": st.just("bye"), "pc": pc}),
    )


def hostile_signal() -> st.SearchStrategy:
    return st.one_of(
        json_values(),
        good_signal().flatmap(
            lambda signal: st.dictionaries(
                st.sampled_from([*signal, "candidate", "layer", "sdp", "reason"]),
                json_values(),
                max_size=3,
            ).map(lambda spoilt: {**signal, **spoilt})
        ),
    )


def field_values(ids: list[int], question_ids: list[int]) -> dict[str, st.SearchStrategy]:
    """For each field, a good value or a hostile one."""
    any_id = hostile_ids(ids + question_ids)
    good_text = st.text(min_size=1, max_size=120)
    good = {
        "attendee": st.sampled_from(ids),
        "question": st.sampled_from(question_ids),
        "text": st.one_of(good_text, st.sampled_from(NASTY_TEXT[3:6])),
        "stars": st.integers(1, 5),
        "to": st.sampled_from(ids),
        "data": good_signal(),
        "camera": st.booleans(),
        "microphone": st.booleans(),
        "source": st.sampled_from(CTA_SOURCES),
        "name": st.sampled_from(["Ann Example", "<b>Ann</b>", "Zoë 👩🏽‍💻"]),
        "email": st.sampled_from(["ann@example.com", "not-an-email", "a@b"]),
        "phone": st.sampled_from(["+44 20 7946 0000", "call me"]),
        "company": good_text,
        "consent": st.booleans(),
        "website": st.sampled_from(["", "https://spam.example"]),
    }
    hostile = {
        name: st.one_of(any_id, json_values())
        if name in ("attendee", "question", "to", "stars")
        # the signal's shape is the deepest a command takes: spoil it inside too
        else hostile_signal()
        if name == "data"
        else json_values()
        for name in FIELDS
    }
    return {name: weighted((3, good[name]), (2, hostile[name])) for name in FIELDS}


def refs() -> st.SearchStrategy:
    return st.one_of(
        st.text(max_size=MAX_REF_CHARS),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.sampled_from(["r" * (MAX_REF_CHARS + 1), 10 ** (MAX_REF_CHARS + 1), "\ud800"]),
        json_values(),
    )


def evenly(choices: list) -> st.SearchStrategy:
    """One of `choices`, each as likely: hypothesis's `sampled_from` draws the first one
    far more often than the others (a fifth of all commands would be the first)."""
    return st.integers(0, 2**16).map(lambda n: choices[n % len(choices)])


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each drawn `weight` times in the sum of the weights."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda n: table[n])


def command_frames(
    commands: list[str], favoured: list[str], ids: list[int], question_ids: list[int]
):
    """A registered command (now and then an unknown one) with its own fields, good or
    hostile, now and then without one of them, and sometimes other keys, as one JSON
    object. Half the commands are of `favoured`, those the sender may send."""
    values = field_values(ids, question_ids)
    extra = st.dictionaries(st.text(max_size=6), json_values(), max_size=2)

    def fields_of(kind) -> st.SearchStrategy[dict]:
        own = command_fields(kind)
        others = [name for name in FIELDS if name not in own]
        return st.builds(
            lambda mine, theirs: {**theirs, **mine},
            weighted(
                (5, st.fixed_dictionaries({name: values[name] for name in own})),
                (1, st.fixed_dictionaries({}, optional={name: values[name] for name in own})),
            ),
            weighted(
                (4, st.just({})),
                (
                    1,
                    st.lists(st.sampled_from(others), max_size=2, unique=True).flatmap(
                        lambda names: st.fixed_dictionaries({n: values[n] for n in names})
                    ),
                ),
                (1, extra),
            ),
        )

    ref = weighted((2, st.none()), (6, st.text(max_size=8)), (1, st.integers()), (1, refs()))
    known = {
        kind: st.builds(_command, st.just(kind), ref, fields_of(kind), st.booleans())
        for kind in commands
    }
    unknown = st.builds(
        _command,
        weighted((1, st.sampled_from(UNKNOWN_TYPES)), (1, json_values())),
        ref,
        fields_of(None),
        st.booleans(),
    )
    kinds = weighted((1, evenly(commands)), (1, evenly(favoured)))
    return weighted((8, kinds.flatmap(known.__getitem__)), (2, unknown))


def command_fields(kind) -> list[str]:
    """The fields the command `kind` reads, as its serializer names them."""
    for registry in REGISTRIES.values():
        command = registry.get(kind) if isinstance(kind, str) else None
        if command is not None:
            return list(command.fields().fields)
    return []


def _command(kind, ref, fields: dict, ascii_only: bool) -> "Frame":
    frame = {**fields, "type": kind}
    if ref is not None:
        frame["ref"] = ref
    return Frame(json.dumps(frame, ensure_ascii=ascii_only), origin="command")


def _nested(depth: int, opener: str, as_command: bool) -> "Frame":
    closer = {"[": "]", '{"a":': "}"}[opener]
    inner = opener * depth + "1" + closer * depth
    text = '{"type": "ping", "ref": "deep", "x": ' + inner + "}" if as_command else inner
    return Frame(text, origin="nested")


def _padded(chars: int, kind: str) -> "Frame":
    head = '{"type": "' + kind + '", "ref": "big", "pad": "'
    return Frame(head + "x" * max(0, chars - len(head) - 2) + '"}', origin="size")


def structural_frames() -> st.SearchStrategy["Frame"]:
    """What is not a command at all, or is one only in parts: the decoder's work."""
    as_text = st.one_of(
        json_values().map(json.dumps),
        st.text(max_size=40),
        st.sampled_from(
            [
                "",
                " ",
                "{",
                '{"type": "ping"',
                "[]",
                "{}",
                "null",
                "0",
                '"ping"',
                '{"type": "ping", "ref": NaN}',
                '{"type": "rate", "ref": "n", "stars": NaN}',
                '{"type": "rate", "ref": "i", "stars": Infinity}',
                '{"type": "rate", "ref": "d", "stars": 1' + "0" * 5000 + "}",
                '{"type": "ping", "type": "no.such.command", "ref": "dup"}',
                '\ufeff{"type": "ping"}',
                '{"type": "ping", "ref": "a\\u0000b"}',
                '{"type": "question.ask", "ref": "s", "text": "\\udbff\\udfff ok \\ud800"}',
                "{'type': 'ping'}",
            ]
        ),
    ).map(lambda text: Frame(text, origin="json"))
    nested = st.builds(
        _nested,
        st.one_of(st.integers(1, MAX_FRAME_DEPTH + 2), st.integers(MAX_FRAME_DEPTH + 2, 6000)),
        st.sampled_from(["[", '{"a":']),
        st.booleans(),
    )
    sized = st.builds(
        _padded,
        st.one_of(
            st.integers(MAX_FRAME_CHARS - 2, MAX_FRAME_CHARS + 2),
            st.integers(MAX_FRAME_CHARS + 3, 3 * MAX_FRAME_CHARS),
            st.sampled_from([2_000_000]),
        ),
        st.sampled_from(["ping", "question.ask", "lead.submit"]),
    )
    binary = st.one_of(
        st.binary(max_size=64),
        st.sampled_from([b'{"type": "ping", "ref": "b"}', b"\xff\xfe", b"\x00" * 10]),
    ).map(lambda data: Frame(data, origin="binary"))
    return st.one_of(as_text, nested, sized, binary)


def fuzz_batches(
    *,
    audience: str,
    role: str | None,
    ids: list[int],
    question_ids: list[int],
    size: int,
    leave_out: frozenset[str] = frozenset(),
):
    """Lists of `size` frames of any kind, three in four of them commands of `audience`
    (half of which a sender with `role` may send), the others structural trouble;
    without the commands `leave_out`."""
    commands = sorted(set(REGISTRIES[audience]) - leave_out)
    favoured = [name for name in commands if REGISTRIES[audience][name].allows(role)]
    frames = weighted(
        (3, command_frames(commands, favoured, ids, question_ids)), (1, structural_frames())
    )
    return st.lists(frames, min_size=size, max_size=size)


@dataclass(frozen=True)
class Frame:
    payload: str | bytes
    origin: str  # which strategy made it: command, json, nested, size, binary

    def __repr__(self) -> str:
        return f"Frame({self.describe()}, origin={self.origin!r})"

    def describe(self) -> str:
        text = repr(self.payload)
        return text if len(text) < 300 else f"{text[:300]}... ({len(self.payload)} long)"


# Rows a command may change, compared in full (these tables stay small here).
CHANGING = (Broadcast, Attendee, SpeakRequest, Question, Rating, Lead, LeadExport)
# Records that are only ever added: their count and last id say whether one was.
RECORDS = (
    BroadcastTransition,
    AuditEntry,
    SpeakRequestTransition,
    QuestionVote,
    Like,
    CtaClick,
    ExportTransition,
)
# Presence moves with pages opening and closing, not with frames: left out.
PRESENCE = {"connections", "last_seen_at", "left_at", "online_since", "watched_seconds"}


def fingerprint() -> tuple:
    """Every row a live command can change."""
    rows, counts = _fingerprint_sql()
    with connection.cursor() as cursor:
        taken = []
        for name, sql in rows:
            cursor.execute(sql)
            taken.append((name, tuple(cursor.fetchall())))
        cursor.execute(counts)
        taken.append(("records", cursor.fetchone()))
    return tuple(taken)


@functools.cache
def _fingerprint_sql() -> tuple[list[tuple[str, str]], str]:
    """The fingerprint's queries, as SQL made once: it is taken after every batch all
    refused, and compiling querysets each time was a good part of the fuzzer's time.
    The names are our own tables' and columns'."""
    quote = connection.ops.quote_name
    rows = []
    for model in CHANGING:
        meta = model._meta
        columns = ", ".join(
            quote(f.column) for f in meta.concrete_fields if f.attname not in PRESENCE
        )
        table, order = quote(meta.db_table), quote(meta.pk.column)
        rows.append((model.__name__, f"SELECT {columns} FROM {table} ORDER BY {order}"))  # noqa: S608
    # One query for them all.
    counts = ", ".join(
        f"(SELECT COUNT(*) FROM {t}), (SELECT MAX(id) FROM {t})"  # noqa: S608
        for t in (quote(model._meta.db_table) for model in RECORDS)
    )
    return rows, f"SELECT {counts}"


class ServerErrors(logging.Handler):
    """Whatever the server logs at ERROR (and exceptions of tasks nobody awaited, which
    asyncio logs there too), while it is installed on the root logger."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        taken = [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in self.records]
        for record in self.records:
            if record.exc_info and not record.exc_text:
                taken.append(logging.Formatter().formatException(record.exc_info))
        self.records.clear()
        return taken


@contextlib.contextmanager
def server_errors():
    handler = ServerErrors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


class HandlerCalls:
    """Counts the frames that reached a command's handler (past the edge's checks: the
    frame cap, decoding, the ref, the type, the connection's rate limit, validation)."""

    def __init__(self, monkeypatch):
        self.count = 0
        for registry in REGISTRIES.values():
            for name, command in list(registry.items()):
                monkeypatch.setitem(
                    registry, name, replace(command, handler=self._counting(command))
                )

    def _counting(self, command):
        handler = command.handler

        def counted(context, data):
            self.count += len(data) if command.batched else 1
            return handler(context, data)

        return counted


@dataclass
class Tally:
    frames: int = 0
    by_origin: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    batches: int = 0
    batches_all_refused: int = 0
    frames_state_checked: int = 0
    reconnects: int = 0
    seconds: float = 0.0  # sending frames and comparing tables
    wall_seconds: float = 0.0  # with hypothesis making the frames

    def summary(self, handler_calls: int) -> str:
        share = handler_calls / self.frames if self.frames else 0
        checked = self.frames_state_checked / self.frames if self.frames else 0
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        origins = ", ".join(f"{k} {v}" for k, v in sorted(self.by_origin.items()))
        return (
            f"{self.frames} frames in {self.wall_seconds:.1f} s ({self.seconds:.1f} s sending and"
            f" checking; {origins}); answers: {outcomes}; "
            f"{handler_calls} reached a handler ({share:.0%}); {self.batches_all_refused} of "
            f"{self.batches} batches all refused, their {self.frames_state_checked} frames "
            f"({checked:.0%}) checked to change nothing; {self.reconnects} reconnects"
        )


# An ack of the heartbeat changes nothing (it never reaches the database): a batch whose
# only acks are pings is still checked for changes.
STATELESS = {"ping"}


class FrameFuzzer:
    """One socket (reopened if the server closes it with a documented code), fed frames
    one at a time; `run(batch)` raises AssertionError on any broken promise."""

    def __init__(self, runner: asyncio.Runner, errors: ServerErrors, connect_kwargs: dict):
        self.runner = runner
        self.errors = errors
        self.connect_kwargs = connect_kwargs
        self.communicator = None
        self.last_fingerprint = None
        self.tally = Tally()

    async def _open(self) -> None:
        communicator = await open_communicator(**self.connect_kwargs)
        connected, code = await communicator.connect(timeout=ANSWER_SECONDS)
        assert connected, f"the socket was refused with {code}"
        snapshot = json.loads(await communicator.receive_from(timeout=ANSWER_SECONDS))
        assert snapshot["type"] == "snapshot", snapshot
        self.communicator = communicator

    def close(self) -> None:
        if self.communicator is not None:
            self.runner.run(self.communicator.disconnect())
            self.communicator = None

    def run(self, batch: list[Frame]) -> None:
        started = time.perf_counter()
        # The tables after a batch all refused are those before the next.
        before, self.last_fingerprint = self.last_fingerprint or fingerprint(), None
        answers = self.runner.run(self._send_all(batch))
        refused = all(answer != "ack" for answer in answers)
        if refused:
            after = fingerprint()
            assert after == before, f"refused frames changed the database: {batch!r}"
            self.last_fingerprint = after
            self.tally.batches_all_refused += 1
            self.tally.frames_state_checked += len(batch)
        self.tally.batches += 1
        self.tally.seconds += time.perf_counter() - started

    async def _send_all(self, batch: list[Frame]) -> list[str]:
        answers = []
        for frame in batch:
            answers.append(await self._send(frame))
        return answers

    async def _send(self, frame: Frame) -> str:
        if self.communicator is None:
            await self._open()
            self.tally.reconnects += 1
        payload = frame.payload
        sent_ref = _ref_of(payload)
        # Around the communicator's send_to, which refuses an empty frame.
        key = "bytes" if isinstance(payload, bytes) else "text"
        await self.communicator.send_input({"type": "websocket.receive", key: payload})
        self.tally.frames += 1
        self.tally.by_origin[frame.origin] += 1
        answer = await self._answer(frame, sent_ref)
        problems = self.errors.take()
        assert not problems, f"the server logged an error for {frame.describe()}:\n" + "\n".join(
            problems
        )
        return answer

    async def _answer(self, frame: Frame, sent_ref) -> str:
        while True:
            try:
                message = await self.communicator.receive_output(timeout=ANSWER_SECONDS)
            except TimeoutError:
                raise AssertionError(f"no answer to {frame.describe()}") from None
            if message["type"] == "websocket.close":
                code = message.get("code", 1000)
                assert code in CLOSE_CODES_DOCUMENTED, f"closed {code} after {frame.describe()}"
                self.tally.outcomes[f"close/{code}"] += 1
                with contextlib.suppress(Exception):
                    await self.communicator.wait(timeout=ANSWER_SECONDS)
                self.communicator = None
                return "close"
            assert message["type"] == "websocket.send", message
            reply = json.loads(message["text"])
            if reply.get("type") not in ("ack", "error"):
                continue  # an event: the answer is still to come
            assert reply.get("ref") in (sent_ref, None), (reply, frame.describe())
            if reply["type"] == "ack":
                kind = _type_of(frame.payload)
                self.tally.outcomes["ack"] += 1
                return "ping" if kind in STATELESS else "ack"
            assert reply["code"] in ERROR_CODES, (reply, frame.describe())
            assert isinstance(reply["message"], str) and reply["message"], reply
            self.tally.outcomes[f"error/{reply['code']}"] += 1
            return "error"


def _ref_of(payload):
    try:
        frame = json.loads(payload)
    except (ValueError, RecursionError, TypeError):
        return None
    return frame.get("ref") if isinstance(frame, dict) else None


def _type_of(payload):
    frame = json.loads(payload)
    return frame.get("type")


@dataclass
class World:
    """A live broadcast with people and questions in every state, and another broadcast
    beside it, whose ids hostile frames name."""

    attendee_ids: list[int]
    question_ids: list[int]


def fuzz_world(*, broadcast, host, guests, viewer_user, settings) -> World:
    """`broadcast` (live, hosted by `host`) with `guests` (the first is the fuzzing
    guest), a signed-in viewer, the host's own attendee, a raised hand, questions
    visible, hidden and answered; and another live broadcast with a guest and her
    question."""
    # Nothing but frames may change the tables while a batch runs: the housekeeping
    # jobs (expiring requests, pausing a broadcast whose host is away, sampling
    # viewers) wait past the test.
    settings.SPEAK_REQUEST_SWEEP_SECONDS = 3600
    settings.HOST_AWAY_SWEEP_SECONDS = 3600
    settings.VIEWER_SAMPLE_SECONDS = 3600
    # One page may send as fast as the fuzzer can: past the connection's rate limit a
    # frame is only answered rate_limited, and most would never reach a handler. The
    # per-person limits (questions a minute, likes...) stay: they are the handlers'.
    settings.LIVE_COMMAND_RATE = settings.LIVE_COMMAND_BURST = 10**9
    settings.LIVE_SIGNAL_RATE = settings.LIVE_SIGNAL_BURST = 10**9
    # Counters a test before left to publish name a broadcast that is gone.
    counters.drain()

    attendee_for_user(broadcast=broadcast, user=viewer_user)
    attendee_for_user(broadcast=broadcast, user=host)
    other = guests[-1]
    stage.hand_raise(attendee=other)
    asked = [
        questions.question_ask(attendee=other, text=text)
        for text in ("Is there a replay?", "Hidden one", "Answered one")
    ]
    for question, action in ((asked[1], "hide"), (asked[2], "answer")):
        questions.question_moderate(
            broadcast=broadcast, question_id=question.pk, action=action, by=host
        )
    elsewhere = BroadcastFactory(host=UserFactory(username="other-host"), slug="elsewhere")
    elsewhere = broadcasts.broadcast_start(broadcast=elsewhere, by=elsewhere.host)
    olga = GuestFactory(broadcast=elsewhere, display_name="Olga")
    questions.question_ask(attendee=olga, text="Elsewhere?")
    return World(
        attendee_ids=sorted(Attendee.objects.values_list("pk", flat=True)),
        question_ids=sorted(Question.objects.values_list("pk", flat=True)),
    )


def fuzz(
    world: World,
    calls: HandlerCalls,
    *,
    audience: str,
    role: str | None,
    batches: int,
    leave_out: frozenset[str] = frozenset(),
    **connect,
) -> Tally:
    """Send `batches` batches of BATCH fuzzed frames on one socket opened with `connect`
    (tests/participation/live_client.open_communicator's arguments), holding each answer
    to the protocol; print the figures."""
    strategy = fuzz_batches(
        audience=audience,
        role=role,
        ids=world.attendee_ids,
        question_ids=world.question_ids,
        size=BATCH,
        leave_out=leave_out,
    )
    handled_before = calls.count
    started = time.perf_counter()
    with asyncio.Runner() as runner, server_errors() as errors:
        fuzzer = FrameFuzzer(runner, errors, connect)

        @settings(FUZZ_SETTINGS, max_examples=batches)
        @given(strategy)
        def each_batch(batch):
            fuzzer.run(batch)

        try:
            each_batch()
        finally:
            fuzzer.close()
        assert not errors.take()
    tally = fuzzer.tally
    tally.wall_seconds = time.perf_counter() - started
    print(f"\n{audience}, as {role or 'moderator'}:", tally.summary(calls.count - handled_before))
    assert tally.frames >= batches * BATCH
    return tally
