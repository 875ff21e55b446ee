"""Questions, likes, ratings, the widget and the call-to-action over the live socket;
the embedded widget's guest token; the same-origin check of the socket."""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async

from broadcasts.models import Audience, Broadcast
from config.websocket import same_origin
from participation.models import Attendee, CtaClick, Question
from participation.realtime.counters import counters
from tests.factories import GuestFactory
from tests.participation.live_client import live_client, refused, widget_query

pytestmark = pytest.mark.django_db(transaction=True)

MARKUP = "<img src=x onerror=alert(1)> & <script>alert('hi')</script>"


@pytest.fixture(autouse=True)
def no_leftover_counter_marks():
    """Counters are process-wide: marks left by another test would add stray events."""
    counters.drain()
    yield
    counters.drain()


def _matches(frame: dict, type_: str, match: dict) -> bool:
    return frame["type"] == type_ and all(frame["question"].get(k) == v for k, v in match.items())


async def receive_question(client, type_: str, timeout: float = 5, **match) -> dict:
    """The `type_` event whose `question` has the given fields: one already read (a
    sender's `command()` reads past events that arrive before its ack) or the next."""
    for frame in client.frames:
        if _matches(frame, type_, match):
            return frame
    while True:
        frame = await client.receive(timeout=timeout)
        if _matches(frame, type_, match):
            return frame


def question_frames(client) -> list[dict]:
    return [f for f in client.frames if f["type"].startswith("question.")]


@database_sync_to_async
def premoderate(broadcast) -> None:
    Broadcast.objects.filter(pk=broadcast.pk).update(questions_premoderated=True)


# --- Questions ------------------------------------------------------------------------


async def test_a_question_reaches_every_page_as_plain_text(live_broadcast, host, guests):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as asker,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as watcher,
    ):
        reply = await asker.command("question.ask", text=f"  {MARKUP}  ")
        assert reply["type"] == "ack"
        assert reply["state"] == "visible"
        question_id = reply["question"]

        added = await watcher.receive_until("question.added")
        # The text travels exactly as typed (trimmed): escaping is the page's job.
        assert added["question"]["text"] == MARKUP
        assert added["question"]["id"] == question_id
        assert added["question"]["author"]["name"] == "Ann"
        assert (added["question"]["state"], added["question"]["votes"]) == ("visible", 0)
        assert "seq" in added
        on_console = await console.receive_until("question.added")
        assert on_console["question"] == added["question"]
        await receive_question(asker, "question.added", id=question_id, text=MARKUP)

    async with live_client(live_broadcast.slug, guest_key=ben.guest_key) as later:
        assert [q["text"] for q in later.snapshot["questions"]] == [MARKUP]


@pytest.mark.parametrize(
    ("text", "words"),
    [("q" * 501, "500"), ("q" * 2001, "right"), ("   ", "Type your question"), (None, "right")],
)
async def test_a_bad_question_is_invalid(live_broadcast, guests, text, words):
    async with live_client(live_broadcast.slug, guest_key=guests[0].guest_key) as asker:
        reply = await asker.command("question.ask", text=text)
        assert reply["type"] == "error"
        assert reply["code"] == "invalid"
        assert words in reply["message"]
        assert (await asker.command("ping"))["type"] == "ack"  # the socket stays open
    assert not await database_sync_to_async(Question.objects.exists)()


async def test_premoderated_questions_reach_hosts_and_their_asker_only(
    live_broadcast, host, guests
):
    await premoderate(live_broadcast)
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as asker,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as watcher,
    ):
        reply = await asker.command("question.ask", text="Is it on sale?")
        assert (reply["type"], reply["state"]) == ("ack", "pending")
        question_id = reply["question"]

        mine = await receive_question(asker, "question.added", id=question_id)
        assert mine["question"]["state"] == "pending"
        assert mine["question"]["text"] == "Is it on sale?"
        assert "seq" not in mine  # private: not part of the public stream
        held = await receive_question(console, "question.added", id=question_id)
        assert held["question"]["state"] == "pending"
        assert "seq" not in held

        assert (await console.command("question.approve", question=question_id))["type"] == "ack"
        public = await watcher.receive_until("question.added")
        assert public["question"]["id"] == question_id
        assert public["question"]["state"] == "visible"
        assert public["question"]["text"] == "Is it on sale?"
        # Ben never heard of the question while it waited.
        assert question_frames(watcher) == [public]
        visible = await receive_question(asker, "question.added", state="visible")
        assert visible["seq"] == public["seq"]
        await receive_question(console, "question.added", state="visible")

        # Approving twice is a conflict.
        again = await console.command("question.approve", question=question_id)
        assert again["code"] == "conflict"


async def test_pending_questions_are_not_in_other_viewers_snapshots(live_broadcast, guests):
    await premoderate(live_broadcast)
    ann, ben = guests
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as asker:
        await asker.command("question.ask", text="Waiting")
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as again:
        assert [(q["text"], q["state"]) for q in again.snapshot["questions"]] == [
            ("Waiting", "pending")
        ]
    async with live_client(live_broadcast.slug, guest_key=ben.guest_key) as other:
        assert other.snapshot["questions"] == []


async def test_hiding_a_question_withdraws_it_from_viewers(live_broadcast, host, guests):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as asker,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as watcher,
    ):
        question_id = (await asker.command("question.ask", text="Something rude"))["question"]
        await watcher.receive_until("question.added")

        for command in ("question.hide", "question.answer", "question.pin"):
            refusal = await watcher.command(command, question=question_id)
            assert refusal["code"] == "forbidden", command

        assert (await console.command("question.hide", question=question_id))["type"] == "ack"
        gone = await watcher.receive_until("question.updated")
        assert gone["question"] == {"id": question_id, "state": "hidden", "pinned": False}
        assert "text" not in gone["question"]
        whole = await receive_question(console, "question.updated", state="hidden", votes=0)
        assert whole["question"]["text"] == "Something rude"

    async with live_client(live_broadcast.slug, guest_key=ben.guest_key) as reloaded:
        assert reloaded.snapshot["questions"] == []
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as own:
        assert own.snapshot["questions"] == []
    async with live_client(live_broadcast.slug, user=host) as console:
        assert [(q["id"], q["state"]) for q in console.snapshot["questions"]] == [
            (question_id, "hidden")
        ]


async def test_upvotes_pins_and_answers(live_broadcast, host, guests):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as asker,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as voter,
    ):
        question_id = (await asker.command("question.ask", text="Colours?"))["question"]
        upvoted = await voter.command("question.upvote", question=question_id)
        assert (upvoted["type"], upvoted["votes"]) == ("ack", 1)
        counted = await receive_question(asker, "question.updated", votes=1)
        assert counted["question"]["id"] == question_id
        assert (await voter.command("question.upvote", question=question_id))["code"] == "conflict"
        assert (await voter.command("question.upvote", question=999_999))["code"] == "not_found"
        assert (await voter.command("question.upvote", question="x"))["code"] == "invalid"

        assert (await console.command("question.pin", question=question_id))["type"] == "ack"
        await receive_question(voter, "question.updated", pinned=True)
        assert (await console.command("question.answer", question=question_id))["type"] == "ack"
        answered = await receive_question(voter, "question.updated", state="answered")
        assert answered["question"]["pinned"] is True
        assert (await console.command("question.unpin", question=question_id))["type"] == "ack"
        await receive_question(voter, "question.updated", pinned=False)
        assert (await console.command("question.reopen", question=question_id))["type"] == "ack"
        await receive_question(voter, "question.updated", state="visible")

    async with live_client(live_broadcast.slug, guest_key=ben.guest_key) as reloaded:
        (shown,) = reloaded.snapshot["questions"]
        assert (shown["votes"], shown["voted"], shown["pinned"]) == (1, True, False)


async def test_asking_too_often_is_rate_limited(live_broadcast, guests, settings):
    settings.ATTENDEE_RATE_LIMITS = {**settings.ATTENDEE_RATE_LIMITS, "question": (2, 1_000_000)}
    ann, ben = guests
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as asker:
        assert (await asker.command("question.ask", text="One"))["type"] == "ack"
        assert (await asker.command("question.ask", text="Two"))["type"] == "ack"
        limited = await asker.command("question.ask", text="Three")
        assert limited["code"] == "rate_limited"
        assert "Wait a minute" in limited["message"]
    # Across pages: a second page of the same guest shares the allowance.
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as second_page:
        assert (await second_page.command("question.ask", text="Four"))["code"] == "rate_limited"
    async with live_client(live_broadcast.slug, guest_key=ben.guest_key) as other:
        assert (await other.command("question.ask", text="Mine"))["type"] == "ack"
    texts = await database_sync_to_async(
        lambda: sorted(Question.objects.values_list("text", flat=True))
    )()
    assert texts == ["Mine", "One", "Two"]


# --- Likes and ratings ----------------------------------------------------------------


async def test_a_like_is_counted_once_and_reaches_everyone(live_broadcast, guests):
    ann, ben = guests
    async with (
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as liker,
        live_client(live_broadcast.slug, guest_key=ben.guest_key) as watcher,
    ):
        assert liker.snapshot["me"]["liked"] is False
        reply = await liker.command("like")
        assert (reply["type"], reply["liked"]) == ("ack", True)
        likes = await watcher.receive_until("likes", timeout=10)
        assert likes["count"] == 1
        assert "seq" in likes

        assert (await liker.command("like"))["type"] == "ack"
        # Nothing changed, so nothing more is published.
        await watcher.drain(quiet=1.5)
        assert [f["count"] for f in watcher.frames if f["type"] == "likes"] == [1]

    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as reloaded:
        assert reloaded.snapshot["likes"] == 1
        assert reloaded.snapshot["me"]["liked"] is True


async def test_likes_are_coalesced(live_broadcast, host, settings):
    # A long interval, so that the likes below fall within one or two of them.
    settings.LIVE_COALESCE_SECONDS = 2
    fans = [await database_sync_to_async(GuestFactory)(broadcast=live_broadcast) for _ in range(6)]
    async with live_client(live_broadcast.slug, user=host) as console:
        pages = [live_client(live_broadcast.slug, guest_key=fan.guest_key) for fan in fans]
        clients = [await page.__aenter__() for page in pages]
        try:
            for client in clients:
                assert (await client.command("like"))["type"] == "ack"
            await console.receive_until("likes", timeout=10, count=len(fans))
        finally:
            for page in pages:
                await page.__aexit__(None, None, None)
    counts = [f["count"] for f in console.frames if f["type"] == "likes"]
    assert len(counts) < len(fans), counts
    assert counts == sorted(counts)


async def test_likes_only_while_live(scheduled_broadcast):
    guest = await database_sync_to_async(GuestFactory)(broadcast=scheduled_broadcast)
    async with live_client(scheduled_broadcast.slug, guest_key=guest.guest_key) as early:
        assert (await early.command("like"))["code"] == "conflict"


async def test_a_changed_rating_reaches_the_host_as_one_rating(live_broadcast, host, guests):
    ann = guests[0]
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=ann.guest_key) as rater,
    ):
        assert console.snapshot["broadcast"]["rating"] == {"average": None, "count": 0}
        assert (await rater.command("rate", stars=4))["stars"] == 4
        assert (await rater.command("rate", stars=5))["stars"] == 5
        rating = await console.receive_until("rating", timeout=10, average=5.0)
        assert rating["count"] == 1

    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as reloaded:
        assert reloaded.snapshot["me"]["rating"] == 5
        assert reloaded.snapshot["broadcast"]["rating"] == {"average": 5.0, "count": 1}


@pytest.mark.parametrize("stars", [0, 6, "x", None, True, 2.5])
async def test_a_rating_outside_one_to_five_is_invalid(live_broadcast, guests, stars):
    async with live_client(live_broadcast.slug, guest_key=guests[0].guest_key) as rater:
        reply = await rater.command("rate", stars=stars)
        assert reply["code"] == "invalid", reply
        assert (await rater.command("rate"))["code"] == "invalid"
    assert await database_sync_to_async(live_broadcast.ratings.count)() == 0


async def test_hosts_cannot_rate(live_broadcast, host):
    async with live_client(live_broadcast.slug, user=host) as console:
        assert (await console.command("rate", stars=5))["code"] == "forbidden"
    assert await database_sync_to_async(live_broadcast.ratings.count)() == 0


# --- The widget and the call-to-action ------------------------------------------------


async def test_a_closed_widget_stays_closed_on_the_next_page(live_broadcast, guests):
    ann = guests[0]
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as page:
        assert page.snapshot["me"]["widget_closed"] is False
        assert (await page.command("widget.close"))["type"] == "ack"
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as page:
        assert page.snapshot["me"]["widget_closed"] is True
        assert (await page.command("widget.open"))["type"] == "ack"
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as page:
        assert page.snapshot["me"]["widget_closed"] is False


async def test_the_host_pushes_the_call_to_action(live_broadcast, host, guests):
    async with (
        live_client(live_broadcast.slug, user=host) as console,
        live_client(live_broadcast.slug, guest_key=guests[0].guest_key) as viewer,
    ):
        assert (await viewer.command("cta.push"))["code"] == "forbidden"
        assert (await console.command("cta.push"))["type"] == "ack"
        pushed = await viewer.receive_until("cta")
        assert pushed["cta"] == {
            "headline": "Twenty percent off for viewers",
            "label": "Get the offer",
            "url": "https://example.com/offer",
        }
        assert pushed["at"]
        # Exactly one push reached the viewer: the refused one published nothing.
        await viewer.drain(quiet=0.3)
        assert [f["type"] for f in viewer.frames].count("cta") == 1
    async with live_client(live_broadcast.slug, guest_key=guests[0].guest_key) as later:
        assert later.snapshot["broadcast"]["cta_pushed_at"] is not None


async def test_a_click_on_the_call_to_action_is_recorded(live_broadcast, guests):
    ann = guests[0]
    async with live_client(live_broadcast.slug, guest_key=ann.guest_key) as viewer:
        assert (await viewer.command("cta.click", source="embed"))["type"] == "ack"
        assert (await viewer.command("cta.click"))["type"] == "ack"
        assert (await viewer.command("cta.click", source="elsewhere"))["code"] == "invalid"
    clicks = await database_sync_to_async(
        lambda: list(CtaClick.objects.values_list("attendee_id", "source", "broadcast_id"))
    )()
    assert clicks == [(ann.pk, "embed", live_broadcast.pk), (ann.pk, "watch", live_broadcast.pk)]


# --- The embedded widget's guests -----------------------------------------------------


async def test_a_widget_guest_joins_at_once_under_a_placeholder_name(live_broadcast):
    key = uuid.UUID(int=10_066)
    async with live_client(live_broadcast.slug, query=widget_query(key)) as widget:
        me = widget.snapshot["me"]
        assert me["name"] == "Guest 0066"  # the key's last four digits
        assert (me["role"], me["guest"]) == ("viewer", True)
        assert (await widget.command("like"))["type"] == "ack"
    async with live_client(live_broadcast.slug, query=widget_query(key)) as again:
        assert again.snapshot["me"]["id"] == me["id"]
        assert again.snapshot["me"]["liked"] is True
    attendees = await database_sync_to_async(
        lambda: list(Attendee.objects.filter(guest_key=key).values_list("pk", "display_name"))
    )()
    assert attendees == [(me["id"], "Guest 0066")]


async def test_a_widget_guest_known_from_the_watch_page_keeps_their_name(live_broadcast, guests):
    ann = guests[0]
    async with live_client(live_broadcast.slug, query=widget_query(ann.guest_key)) as widget:
        assert (widget.snapshot["me"]["id"], widget.snapshot["me"]["name"]) == (ann.pk, "Ann")


async def test_widget_guests_are_refused_where_signing_in_is_required(live_broadcast):
    await database_sync_to_async(Broadcast.objects.filter(pk=live_broadcast.pk).update)(
        audience=Audience.SIGNED_IN
    )
    key = uuid.uuid4()
    assert await refused(live_broadcast.slug, query=widget_query(key)) == 4403
    assert not await database_sync_to_async(Attendee.objects.filter(guest_key=key).exists)()


@pytest.mark.parametrize(
    "token",
    ["garbage", "", "0f6e1fc2a3b44b0e9d5e8a7b6c5d4e3f%3Aforged-signature", "%00" * 300],
    ids=["garbage", "blank", "forged", "nul-bytes"],
)
async def test_a_bad_widget_token_is_refused(live_broadcast, token):
    assert await refused(live_broadcast.slug, query=f"guest={token}") == 4400
    guests = Attendee.objects.filter(user__isnull=True)
    assert not await database_sync_to_async(guests.exists)()


# --- Same origin ----------------------------------------------------------------------


async def test_a_socket_from_another_port_of_the_same_host_is_refused(live_broadcast, guests):
    ann = guests[0]
    assert (
        await refused(live_broadcast.slug, guest_key=ann.guest_key, origin=b"http://localhost:9999")
        is not None
    )
    # The same guest from the page's own origin is admitted.
    assert await refused(live_broadcast.slug, guest_key=ann.guest_key) is None


@pytest.mark.parametrize(
    ("origin", "host", "admitted"),
    [
        (b"http://localhost", b"localhost", True),
        (b"http://localhost:80", b"localhost", True),
        (b"https://example.com", b"example.com:443", True),
        (b"https://Example.COM", b"example.com", True),
        (b"http://127.0.0.1:8000", b"127.0.0.1:8000", True),
        (b"http://[::1]:8000", b"[::1]:8000", True),
        (b"http://localhost:9999", b"localhost", False),
        # Behind a TLS-terminating proxy: host and the page's default port are compared.
        (b"https://localhost", b"localhost", True),
        (b"https://localhost", b"localhost:80", False),
        (b"http://localhost", b"localhost:8000", False),
        (b"http://evil.example", b"localhost", False),
        (b"http://localhost.evil.example", b"localhost", False),
        (b"null", b"localhost", False),
        (b"", b"localhost", False),
        (b"http://localhost", b"", False),
        (b"file://localhost", b"localhost", False),
    ],
)
def test_the_same_origin_rule(origin, host, admitted):
    headers = [(name, value) for name, value in ((b"origin", origin), (b"host", host)) if value]
    scope = {"type": "websocket", "path": "/ws/broadcasts/x/", "headers": headers}
    assert same_origin(scope) is admitted


@pytest.mark.parametrize(
    ("path", "origin", "reaches"),
    [
        ("/ws/broadcasts/spring-launch/", b"http://localhost", "live"),
        ("/ws/broadcasts/spring-launch/dashboard/", b"http://localhost", "others"),
        ("/ws/exports/", b"http://localhost", "others"),
        ("/ws/broadcasts/spring launch/", b"http://localhost", "others"),
        # Same origin, but not a host this server serves.
        ("/ws/broadcasts/spring-launch/", b"http://evil.example", None),
        # A host it serves, but a page of another port (origin) than the socket's.
        ("/ws/exports/", b"http://localhost:9999", None),
    ],
)
async def test_the_websocket_gate(path, origin, reaches):
    from config.websocket import WebsocketGate
    from participation.routing import LIVE_SOCKET_PATH

    reached = []

    def app(name):
        async def recorded(scope, receive, send):
            reached.append((name, scope))

        return recorded

    sent = []

    async def send(message):
        sent.append(message)

    # The client connects, then goes away once refused.
    incoming = asyncio.Queue()
    for message in ({"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1006}):
        incoming.put_nowait(message)
    host = b"localhost" if origin.endswith(b":9999") else origin.split(b"//")[1]
    headers = [(b"origin", origin), (b"host", host), (b"cookie", b"a=1; primetime_guest=xyz")]
    scope = {"type": "websocket", "path": path, "headers": headers}
    gate = WebsocketGate(live=app("live"), live_path=LIVE_SOCKET_PATH, others=app("others"))
    await asyncio.wait_for(gate(scope, incoming.get, send), timeout=5)
    if reaches is None:
        assert reached == []
        assert [m["type"] for m in sent] == ["websocket.close"]
        return
    ((name, seen),) = reached
    assert name == reaches
    if reaches == "live":
        assert seen["url_route"] == {"args": (), "kwargs": {"slug": "spring-launch"}}
        assert seen["cookies"] == {"a": "1", "primetime_guest": "xyz"}
    else:
        assert "url_route" not in seen
