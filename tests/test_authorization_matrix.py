"""Who may do what: every page, API endpoint and live command against every kind of
person, each cell's outcome written down here (the README has the same table).

People: anonymous (no cookie), guest (a name on the watch page), viewer (signed in),
speaker (a guest on stage), other_host (hosts another broadcast), cohost, host,
moderator (staff in Moderators), ops (staff in Ops), superuser, removed (a guest a host
took out). Pages: the HTTP status (302: to the sign-in page). Live commands: `ack` or
the error's code (SHORT); a socket refused at connect shows its close code instead.
The cells that say `state` or `absent` reached the command: they are allowed, and the
broadcast's state (or the order of the moves) answered.
"""

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from django.utils import timezone

from broadcasts import services
from leads.models import Lead, LeadExport
from participation import questions, stage
from participation.services import attendee_for_user
from tests.factories import BroadcastFactory, GuestFactory, UserFactory, moderator, ops_user
from tests.participation.live_client import guest_cookie, open_communicator

pytestmark = pytest.mark.django_db(transaction=True)

ROLES = [
    "anonymous",
    "guest",
    "viewer",
    "speaker",
    "other_host",
    "cohost",
    "host",
    "moderator",
    "ops",
    "superuser",
    "removed",
]
# A live command's outcome: done, or refused: not yours to do, nothing of that id to act
# on, not in this state, not a command of this socket; or the socket refused at connect
# (4400: choose a name first; 4403: not allowed in).
SHORT = {
    "forbidden": "forbid",
    "not_found": "absent",
    "conflict": "state",
    "invalid": "inval",
    "rate_limited": "rate",
}
SIGNED_IN = {"viewer", "other_host", "cohost", "host", "moderator", "ops", "superuser"}


def table(text: str) -> dict[str, dict[str, str]]:
    """Rows of `name  cell cell ...` in the order of ROLES."""
    rows = {}
    for line in text.strip().splitlines():
        name, *cells = line.split()
        assert len(cells) == len(ROLES), name
        rows[name] = dict(zip(ROLES, cells, strict=True))
    return rows


def build_world() -> dict:
    host = UserFactory(username="hana", first_name="Hana")
    cohost = UserFactory(username="cora", first_name="Cora")
    other_host = UserFactory(username="otto", first_name="Otto")
    broadcast = BroadcastFactory(host=host, slug="matrix", title="Matrix")
    broadcast.co_hosts.add(cohost)
    services.broadcast_schedule(
        broadcast=broadcast, by=host, scheduled_start=timezone.now() + timedelta(hours=1)
    )
    broadcast = services.broadcast_start(broadcast=broadcast, by=host)
    other = BroadcastFactory(host=other_host, slug="elsewhere", title="Elsewhere")
    people = {
        "viewer": UserFactory(username="vic", first_name="Vic"),
        "other_host": other_host,
        "cohost": cohost,
        "host": host,
        "moderator": moderator(username="mona", first_name="Mona"),
        "ops": ops_user(username="opal", first_name="Opal"),
        "superuser": UserFactory(username="root", is_staff=True, is_superuser=True),
    }
    guest = GuestFactory(broadcast=broadcast, display_name="Gus")
    speaker = GuestFactory(broadcast=broadcast, display_name="Sam")
    removed = GuestFactory(broadcast=broadcast, display_name="Rex")
    target = GuestFactory(broadcast=broadcast, display_name="Tia")  # moderation's target
    host_attendee = attendee_for_user(broadcast=broadcast, user=host)
    stage.hand_raise(attendee=speaker)
    stage.hand_approve(broadcast=broadcast, attendee_id=speaker.pk, by=host)
    stage.hand_raise(attendee=target)
    stage.attendee_remove(broadcast=broadcast, attendee_id=removed.pk, by=host)
    question = questions.question_ask(attendee=target, text="What does it cost?")
    lead = Lead.objects.create(broadcast=broadcast, name="Lee", email="lee@example.com")
    export = LeadExport.objects.create(broadcast=broadcast, requested_by=people["ops"])
    return {
        "broadcast": broadcast,
        "other": other,
        "people": people,
        "guests": {"guest": guest, "speaker": speaker, "removed": removed},
        "target": target,
        "host_attendee": host_attendee,
        "question": question,
        "lead": lead,
        "export": export,
    }


def client_of(role: str, world: dict) -> Client:
    client = Client()
    if role in SIGNED_IN:
        client.force_login(world["people"][role])
    elif role in world["guests"]:
        key = world["guests"][role].guest_key
        client.cookies.load(guest_cookie(key))
    return client


PAGES = table("""
landing         200 200 200 200 200 200 200 200 200 200 200
watch           200 200 200 200 200 200 200 200 200 200 403
host_console    302 302 403 302 403 200 200 403 403 403 302
embed           200 200 200 200 200 200 200 200 200 200 200
status          200 200 200 200 200 200 200 200 200 200 200
summary         403 403 403 403 403 200 200 200 403 200 403
exports         302 302 403 302 403 403 403 403 200 200 302
download        302 302 403 302 403 403 403 403 409 409 302
admin           302 302 302 302 302 302 302 200 403 200 302
admin_dashboard 302 302 302 302 302 302 302 200 403 200 302
api_broadcasts  403 403 403 403 403 403 403 200 200 200 403
api_leads       403 403 403 403 403 403 403 403 200 200 403
api_lead        403 403 403 403 403 403 403 403 200 200 403
api_exports     403 403 403 403 403 403 403 403 200 200 403
api_export      403 403 403 403 403 403 403 403 200 200 403
""")


def page_addresses(world: dict) -> dict[str, str]:
    slug, export = world["broadcast"].slug, world["export"].pk
    broadcast_id = world["broadcast"].pk
    return {
        "landing": f"/b/{slug}/",
        "watch": f"/b/{slug}/watch/",
        "host_console": f"/b/{slug}/host/",
        "embed": f"/b/{slug}/embed/",
        "status": f"/b/{slug}/status.json",
        "summary": f"/b/{slug}/summary/",
        "exports": "/leads/exports/",
        "download": f"/leads/exports/{export}/download/",
        "admin": "/admin/broadcasts/broadcast/",
        "admin_dashboard": f"/admin/broadcasts/broadcast/{broadcast_id}/dashboard/",
        "api_broadcasts": "/api/broadcasts/",
        "api_leads": "/api/leads/",
        "api_lead": f"/api/leads/{world['lead'].pk}/",
        "api_exports": "/api/exports/",
        "api_export": f"/api/exports/{export}/",
    }


def test_pages_and_api_for_every_kind_of_person():
    world = build_world()
    addresses = page_addresses(world)
    seen = {}
    for role in ROLES:
        client = client_of(role, world)
        for name, address in addresses.items():
            seen.setdefault(name, {})[role] = str(client.get(address).status_code)
    assert seen == PAGES


# --- Live commands ----------------------------------------------------------------


def live_commands(world: dict) -> list[tuple[str, dict]]:
    """Each command with fields that name real people and things, in an order that
    keeps the broadcast running until the end."""
    target, question = world["target"].pk, world["question"].pk
    speaker, host = world["guests"]["speaker"].pk, world["host_attendee"].pk
    return [
        ("ping", {}),
        ("media.state", {"camera": True, "microphone": True}),
        ("media.ready", {}),
        ("rtc.signal", {"to": host, "data": {"kind": "offer", "pc": "p1", "sdp": "v=0"}}),
        # Outside the stage path: to a viewer, who sends no video.
        ("rtc.signal>viewer", {"to": target, "data": {"kind": "offer", "pc": "p1", "sdp": "v=0"}}),
        ("question.ask", {"text": "Is there a trial?"}),
        ("question.upvote", {"question": question}),
        ("like", {}),
        ("rate", {"stars": 4}),
        ("widget.close", {}),
        ("widget.open", {}),
        ("cta.click", {"source": "watch"}),
        (
            "lead.submit",
            {"name": "Lou", "email": "lou@example.com", "consent": True, "company": "Acme"},
        ),
        ("hand.raise", {}),
        ("hand.cancel", {}),
        ("invitation.accept", {}),
        ("invitation.decline", {}),
        ("question.hide", {"question": question}),
        ("question.show", {"question": question}),
        ("question.pin", {"question": question}),
        ("question.unpin", {"question": question}),
        ("question.answer", {"question": question}),
        ("question.reopen", {"question": question}),
        ("question.approve", {"question": question}),
        ("cta.push", {}),
        ("lead.prompt", {}),
        ("hand.decline", {"attendee": target}),
        ("stage.invite", {"attendee": target}),
        ("hand.approve", {"attendee": target}),
        ("hand.lower_all", {}),
        ("stage.remove", {"attendee": speaker}),
        ("stage.leave", {}),
        ("attendee.remove", {"attendee": target}),
        ("broadcast.start", {}),
        ("broadcast.pause", {}),
        ("broadcast.resume", {}),
        ("broadcast.end", {}),
    ]


async def live_outcomes(role: str, *, dashboard: bool) -> dict[str, str]:
    world = await database_sync_to_async(build_world)()
    slug = world["broadcast"].slug
    kwargs = {}
    if role in SIGNED_IN:
        kwargs["user"] = world["people"][role]
    elif role in world["guests"]:
        kwargs["guest_key"] = world["guests"][role].guest_key
    communicator = await open_communicator(
        slug, path_suffix="dashboard/" if dashboard else "", **kwargs
    )
    connected, code = await communicator.connect(timeout=5)
    commands = live_commands(world)
    if not connected:
        return {name: str(code) for name, _ in commands}
    first = json.loads(await communicator.receive_from(timeout=5))
    assert first["type"] == "snapshot", first
    outcomes = {}
    try:
        for number, (name, fields) in enumerate(commands):
            ref = f"m{number}"
            frame = {"type": name.split(">")[0], "ref": ref, **fields}
            await communicator.send_to(text_data=json.dumps(frame))
            while True:
                reply = json.loads(await communicator.receive_from(timeout=5))
                if reply.get("ref") == ref:
                    break
            outcomes[name] = "ack" if reply["type"] == "ack" else SHORT[reply["code"]]
    finally:
        await communicator.disconnect()
    return outcomes


@pytest.fixture(autouse=True)
def commands_unthrottled(settings):
    # One person sends every command in a row: the per-connection rate limit would
    # answer the most of them, and the cell would not say who may.
    settings.LIVE_COMMAND_BURST = 1000


@pytest.mark.parametrize("role", ROLES)
async def test_live_commands_for_every_kind_of_person(role):
    seen = await live_outcomes(role, dashboard=False)
    assert seen == {name: cells[role] for name, cells in LIVE.items()}


@pytest.mark.parametrize("role", ROLES)
async def test_dashboard_commands_for_every_kind_of_person(role):
    seen = await live_outcomes(role, dashboard=True)
    assert seen == {name: cells[role] for name, cells in DASHBOARD.items()}


LIVE = table("""
ping               4400   ack    ack    ack    ack    ack    ack    ack    ack    ack    4403
media.state        4400   forbid forbid ack    forbid ack    ack    forbid forbid forbid 4403
media.ready        4400   forbid forbid ack    forbid ack    ack    forbid forbid forbid 4403
rtc.signal         4400   ack    ack    ack    ack    ack    forbid ack    ack    ack    4403
rtc.signal>viewer  4400   forbid forbid ack    forbid ack    ack    forbid forbid forbid 4403
question.ask       4400   ack    ack    ack    ack    ack    ack    ack    ack    ack    4403
question.upvote    4400   ack    ack    ack    ack    ack    ack    ack    ack    ack    4403
like               4400   ack    ack    ack    ack    ack    ack    ack    ack    ack    4403
rate               4400   ack    ack    ack    ack    forbid forbid ack    ack    ack    4403
widget.close       4400   ack    ack    ack    ack    ack    ack    ack    ack    ack    4403
widget.open        4400   ack    ack    ack    ack    ack    ack    ack    ack    ack    4403
cta.click          4400   ack    ack    ack    ack    ack    ack    ack    ack    ack    4403
lead.submit        4400   ack    ack    ack    ack    ack    ack    ack    ack    ack    4403
hand.raise         4400   ack    ack    forbid ack    forbid forbid ack    ack    ack    4403
hand.cancel        4400   ack    ack    forbid ack    forbid forbid ack    ack    ack    4403
invitation.accept  4400   absent absent forbid absent forbid forbid absent absent absent 4403
invitation.decline 4400   absent absent forbid absent forbid forbid absent absent absent 4403
question.hide      4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
question.show      4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
question.pin       4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
question.unpin     4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
question.answer    4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
question.reopen    4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
question.approve   4400   forbid forbid forbid forbid state  state  forbid forbid forbid 4403
cta.push           4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
lead.prompt        4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
hand.decline       4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
stage.invite       4400   forbid forbid forbid forbid state  state  forbid forbid forbid 4403
hand.approve       4400   forbid forbid forbid forbid absent absent forbid forbid forbid 4403
hand.lower_all     4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
stage.remove       4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
stage.leave        4400   forbid forbid ack    forbid forbid forbid forbid forbid forbid 4403
attendee.remove    4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
broadcast.start    4400   forbid forbid forbid forbid state  state  forbid forbid forbid 4403
broadcast.pause    4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
broadcast.resume   4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
broadcast.end      4400   forbid forbid forbid forbid ack    ack    forbid forbid forbid 4403
""")
DASHBOARD = table("""
ping               4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
media.state        4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
media.ready        4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
rtc.signal         4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
rtc.signal>viewer  4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
question.ask       4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
question.upvote    4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
like               4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
rate               4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
widget.close       4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
widget.open        4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
cta.click          4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
lead.submit        4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
hand.raise         4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
hand.cancel        4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
invitation.accept  4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
invitation.decline 4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
question.hide      4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
question.show      4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
question.pin       4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
question.unpin     4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
question.answer    4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
question.reopen    4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
question.approve   4403   4403   4403   4403   4403   4403   4403   state  4403   state  4403
cta.push           4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
lead.prompt        4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
hand.decline       4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
stage.invite       4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
hand.approve       4403   4403   4403   4403   4403   4403   4403   absent 4403   absent 4403
hand.lower_all     4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
stage.remove       4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
stage.leave        4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
attendee.remove    4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
broadcast.start    4403   4403   4403   4403   4403   4403   4403   inval   4403   inval   4403
broadcast.pause    4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
broadcast.resume   4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
broadcast.end      4403   4403   4403   4403   4403   4403   4403   ack    4403   ack    4403
""")


@pytest.mark.parametrize("path_suffix", ["", "dashboard/"])
async def test_a_page_of_another_website_cannot_open_either_socket(path_suffix):
    world = await database_sync_to_async(build_world)()
    for kwargs in ({"user": world["people"]["superuser"]}, {"user": world["people"]["host"]}):
        communicator = await open_communicator(
            world["broadcast"].slug,
            origin=b"https://evil.example",
            path_suffix=path_suffix,
            **kwargs,
        )
        connected, _ = await communicator.connect(timeout=5)
        assert not connected


def markdown(rows: dict[str, dict[str, str]], first: str) -> str:
    head = f"| {first} | " + " | ".join(ROLES) + " |"
    rule = "| --- |" + " --- |" * len(ROLES)
    body = [
        f"| `{name}` | " + " | ".join(cells[r] for r in ROLES) + " |"
        for name, cells in rows.items()
    ]
    return "\n".join([head, rule, *body])


def test_the_readme_has_the_same_tables():
    readme = (settings.BASE_DIR / "README.md").read_text()
    for rows, first in ((PAGES, "page"), (LIVE, "live command"), (DASHBOARD, "dashboard command")):
        assert markdown(rows, first) in readme, markdown(rows, first)
