"""Events against state (Zulip's verify_action): every command that changes what a page
shows is sent through the real consumer; after each step, the frames a viewer's page and
the host's console received are applied to their first snapshot by the real
static/js/state.js (in node, tests/js/apply_events.mjs), and the state it builds must
equal a fresh snapshot taken for the same person.

What may differ, and why (nothing else is ignored):
- `type`, `epoch`, `seq`: the frame's envelope, not the page's state;
- `media.ice_servers`: TURN credentials are minted for each snapshot, with their expiry;
- `media.publish`: the media session's own copy of "on stage", which no event carries
  (DESIGN section 4 has none) and no page reads: pages follow `me.role`, which
  `stage.changed` keeps;
- the order of `questions`: state.js keeps them in the order they came (pages sort
  them, Top or Newest; tests/js/state.test.mjs), the snapshot by time;
- the host console's `leads`: its snapshot has no such key (the dashboard's has); the
  count its events brought is held to the database's instead.
The audience is compared too: a fresh page of the same person changes nobody's count.
"""

import asyncio
import json
import shutil
import subprocess
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from broadcasts.models import Broadcast
from leads.capture import leads_count
from tests.factories import GuestFactory, UserFactory
from tests.participation.live_client import live_client

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent.parent
APPLY_EVENTS = ROOT / "tests" / "js" / "apply_events.mjs"
NODE_TIMEOUT_SECONDS = 30
# Counters come up to LIVE_COALESCE_SECONDS after a change (the audience at most once a
# second); a step that has not settled by then is wrong.
SETTLE_SECONDS = 10


class StateJs:
    """static/js/state.js in one node process (tests/js/apply_events.mjs): each call
    hands it a page's first snapshot, the frames after it and the commands it sent, as a
    line, and reads back the state it builds (a node process per call cost 80 ms each)."""

    def __init__(self):
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is needed to run static/js/state.js (apt-get install nodejs)")
        self.process = subprocess.Popen(
            [node, str(APPLY_EVENTS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __call__(self, snapshot: dict, frames: list[dict], commands: dict[str, dict]) -> dict:
        request = {"snapshot": snapshot, "events": frames, "commands": commands}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"state.js failed:\n{self.process.stderr.read()}"
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=NODE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture(scope="module")
def state_js():
    state_js = StateJs()
    yield state_js
    state_js.close()


def comparable(state: dict) -> dict:
    """A page's state without what may legitimately differ (see the module's docstring)."""
    kept = {key: value for key, value in state.items() if key not in ("type", "epoch", "seq")}
    kept["media"] = {
        key: value for key, value in kept["media"].items() if key not in ("ice_servers", "publish")
    }
    kept["questions"] = sorted(kept["questions"], key=lambda q: q["id"])
    return kept


class Page:
    """One person's open page: its live client, and how to see that person afresh."""

    def __init__(
        self, name: str, client, slug: str, state_js: StateJs, *, host: bool = False, **identity
    ):
        self.name = name
        self.state_js = state_js
        self.client = client
        self.slug = slug
        self.host = host
        self.identity = identity  # user= or guest_key=, as live_client takes them

    @property
    def me(self) -> int:
        return self.client.snapshot["me"]["id"]

    async def send(self, command: str, **fields) -> dict:
        reply = await self.client.command(command, **fields)
        assert reply["type"] == "ack", (self.name, command, reply)
        return reply

    async def applied(self) -> dict:
        await self.client.drain(quiet=0.1)
        first, *frames = self.client.frames
        assert first is self.client.snapshot
        applying = asyncio.to_thread(self.state_js, first, frames, self.client.sent)
        return await asyncio.wait_for(applying, NODE_TIMEOUT_SECONDS)

    async def fresh(self) -> dict:
        async with live_client(self.slug, **self.identity) as fresh:
            return fresh.snapshot


async def verify(step: str, viewer: Page, host: Page, *, until=lambda viewer, host: True):
    """Both pages' state, built by state.js from what they received, equals a fresh
    snapshot of the same person once the step's outcome (`until`) shows."""
    broadcast_id = await database_sync_to_async(
        lambda: Broadcast.objects.get(slug=viewer.slug).pk
    )()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while True:
        states, expected = [], []
        for page in (viewer, host):
            state = comparable(await page.applied())
            truth = comparable(await page.fresh())
            if page.host and "leads" in state:
                truth["leads"] = await database_sync_to_async(leads_count)(
                    broadcast_id=broadcast_id
                )
            states.append(state)
            expected.append(truth)
        if (states == expected and until(*states)) or loop.time() > deadline:
            break
    for page, state, truth in zip((viewer, host), states, expected, strict=True):
        assert state == truth, f"after {step}: {page.name}'s page"
    assert until(*states), f"after {step}: the outcome never showed"
    return states


def names(people: list[dict]) -> list[str]:
    return [person["name"] for person in people]


@pytest.fixture
def gina(scheduled_broadcast):
    return GuestFactory(broadcast=scheduled_broadcast, display_name="Gina Guest")


@pytest.fixture
def otto(scheduled_broadcast):
    return GuestFactory(broadcast=scheduled_broadcast, display_name="Otto Other")


async def test_the_lifecycle_hands_and_stage_applied_by_state_js_match_fresh_snapshots(
    scheduled_broadcast, host, gina, otto, state_js
):
    co_host = await database_sync_to_async(UserFactory)(first_name="Cora", last_name="Cohost")
    await database_sync_to_async(scheduled_broadcast.co_hosts.add)(co_host)
    slug = scheduled_broadcast.slug
    async with (
        live_client(slug, guest_key=gina.guest_key) as gina_client,
        AsyncExitStack() as otto_page,
        live_client(slug, user=host) as host_client,
    ):
        otto_client = await otto_page.enter_async_context(
            live_client(slug, guest_key=otto.guest_key)
        )
        viewer = Page("Gina", gina_client, slug, state_js, guest_key=gina.guest_key)
        console = Page("the host", host_client, slug, state_js, host=True, user=host)
        other = Page("Otto", otto_client, slug, state_js)

        await verify("joining", viewer, console, until=lambda v, h: v["audience"]["count"] == 2)

        await console.send("broadcast.start")
        await verify(
            "broadcast.start", viewer, console, until=lambda v, h: v["broadcast"]["running"]
        )

        # A co-host is on stage while their console is open.
        async with live_client(slug, user=co_host):
            v, _ = await verify(
                "a co-host's console opening",
                viewer,
                console,
                until=lambda v, h: len(v["stage"]) == 2,
            )
            assert names(v["stage"]) == ["Hana Host", "Cora Cohost"]
        await verify(
            "a co-host's console closing", viewer, console, until=lambda v, h: len(v["stage"]) == 1
        )

        await viewer.send("hand.raise")
        v, h = await verify("hand.raise", viewer, console, until=lambda v, h: v["hands"])
        assert v["me"]["request"]["position"] == 1 and names(h["hands"]) == ["Gina Guest"]
        await viewer.send("hand.cancel")
        await verify("hand.cancel", viewer, console, until=lambda v, h: not h["hands"])

        await viewer.send("hand.raise")
        await verify("hand.raise again", viewer, console, until=lambda v, h: v["hands"])
        await console.send("hand.decline", attendee=viewer.me)
        await verify("hand.decline", viewer, console, until=lambda v, h: not v["me"]["request"])

        await viewer.send("hand.raise")
        await verify("hand.raise once more", viewer, console, until=lambda v, h: v["hands"])
        await console.send("hand.approve", attendee=viewer.me)
        v, _ = await verify(
            "hand.approve", viewer, console, until=lambda v, h: v["me"]["role"] == "speaker"
        )
        assert v["me"]["request"]["state"] == "approved"
        await viewer.send("stage.leave")
        await verify("stage.leave", viewer, console, until=lambda v, h: v["me"]["role"] == "viewer")

        await console.send("stage.invite", attendee=viewer.me)
        v, _ = await verify("stage.invite", viewer, console, until=lambda v, h: v["me"]["request"])
        assert v["me"]["request"]["invited"] is True
        await viewer.send("invitation.decline")
        await verify("invitation.decline", viewer, console)

        await console.send("stage.invite", attendee=viewer.me)
        await verify("stage.invite again", viewer, console, until=lambda v, h: v["me"]["request"])
        await viewer.send("invitation.accept")
        await verify(
            "invitation.accept", viewer, console, until=lambda v, h: v["me"]["role"] == "speaker"
        )
        await console.send("stage.remove", attendee=viewer.me)
        await verify("stage.remove", viewer, console, until=lambda v, h: len(v["stage"]) == 1)

        await other.send("hand.raise")
        await viewer.send("hand.raise")
        v, _ = await verify("two hands", viewer, console, until=lambda v, h: len(h["hands"]) == 2)
        assert v["me"]["request"]["position"] == 2
        await console.send("hand.lower_all")
        await verify("hand.lower_all", viewer, console, until=lambda v, h: not h["hands"])

        await other.send("hand.raise")
        await verify("Otto's hand", viewer, console, until=lambda v, h: v["hands"])
        await console.send("attendee.remove", attendee=other.me)
        await otto_client.receive_until("removed")
        # The server closed Otto's socket; the browser's side of it goes too.
        await otto_page.aclose()
        v, _ = await verify(
            "attendee.remove",
            viewer,
            console,
            until=lambda v, h: not v["hands"] and v["audience"]["count"] == 1,
        )
        assert "Otto Other" not in names(v["audience"]["sample"])

        await console.send("broadcast.pause")
        await verify("broadcast.pause", viewer, console)
        await console.send("broadcast.resume")
        await verify("broadcast.resume", viewer, console)

        # Last: the end expires the raised hand.
        await viewer.send("hand.raise")
        await verify("a hand before the end", viewer, console, until=lambda v, h: v["hands"])
        await console.send("broadcast.end")
        v, _ = await verify(
            "broadcast.end", viewer, console, until=lambda v, h: v["broadcast"]["state"] == "ended"
        )
        assert v["hands"] == [] and v["me"]["request"] is None


async def test_questions_reactions_and_leads_applied_by_state_js_match_fresh_snapshots(
    live_broadcast, host, state_js
):
    await database_sync_to_async(Broadcast.objects.filter(pk=live_broadcast.pk).update)(
        questions_premoderated=True
    )
    gina = await database_sync_to_async(GuestFactory)(
        broadcast=live_broadcast, display_name="Gina Guest"
    )
    slug = live_broadcast.slug
    async with (
        live_client(slug, guest_key=gina.guest_key) as gina_client,
        live_client(slug, user=host) as host_client,
    ):
        viewer = Page("Gina", gina_client, slug, state_js, guest_key=gina.guest_key)
        console = Page("the host", host_client, slug, state_js, host=True, user=host)
        await verify("joining", viewer, console, until=lambda v, h: v["audience"]["count"] == 1)

        # Held for approval: its asker and the hosts see it, nobody else.
        mine = (await viewer.send("question.ask", text="Will it be recorded?"))["question"]
        v, h = await verify("question.ask", viewer, console, until=lambda v, h: h["questions"])
        assert [q["state"] for q in h["questions"]] == ["pending"]
        assert [q["state"] for q in v["questions"]] == ["pending"]
        await console.send("question.approve", question=mine)
        await verify(
            "question.approve",
            viewer,
            console,
            until=lambda v, h: v["questions"][0]["state"] == "visible",
        )
        hosts = (await console.send("question.ask", text="Welcome, everyone"))["question"]
        await verify(
            "the host's question", viewer, console, until=lambda v, h: len(v["questions"]) == 2
        )

        await viewer.send("question.upvote", question=hosts)
        v, _ = await verify(
            "question.upvote", viewer, console, until=lambda v, h: v["questions"][1]["votes"] == 1
        )
        assert v["questions"][1]["voted"] is True
        for command, question in [
            ("question.answer", hosts),
            ("question.reopen", hosts),
            ("question.pin", mine),
            ("question.pin", hosts),  # one pinned at a time: Gina's is unpinned
            ("question.unpin", hosts),
            ("question.hide", mine),  # it leaves Gina's page, though hers
            ("question.show", mine),
        ]:
            await console.send(command, question=question)
            await verify(f"{command} of question {question}", viewer, console)
        v, _ = await verify("moderation", viewer, console)
        assert [q["state"] for q in v["questions"]] == ["visible", "visible"]

        await viewer.send("like")
        await verify("like", viewer, console, until=lambda v, h: v["likes"] == 1)
        await viewer.send("rate", stars=4)
        await verify(
            "rate",
            viewer,
            console,
            until=lambda v, h: (v["broadcast"]["rating"] or {}).get("count"),
        )
        await viewer.send("rate", stars=2)
        await verify(
            "rate again",
            viewer,
            console,
            until=lambda v, h: v["broadcast"]["rating"]["average"] == 2,
        )
        await viewer.send("widget.close")
        await verify("widget.close", viewer, console, until=lambda v, h: v["me"]["widget_closed"])
        await viewer.send("widget.open")
        await verify(
            "widget.open", viewer, console, until=lambda v, h: not v["me"]["widget_closed"]
        )

        await console.send("cta.push")
        await verify(
            "cta.push", viewer, console, until=lambda v, h: v["broadcast"]["cta_pushed_at"]
        )
        await console.send("lead.prompt")
        await verify("lead.prompt", viewer, console)
        await viewer.send("lead.submit", name="Gina Guest", email="gina@example.com", consent=True)
        v, _ = await verify("lead.submit", viewer, console, until=lambda v, h: h.get("leads") == 1)
        assert v["me"]["lead"]["email"] == "gina@example.com"
        await viewer.send("cta.click", source="watch")
        await verify("cta.click", viewer, console)
