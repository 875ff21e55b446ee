"""The page-request limit: at most N requests of a process inside Django at once."""

import asyncio

import pytest

from config.concurrency import HttpConcurrencyLimit


class Recorder:
    """An ASGI app that counts who is inside and lets each request go when told."""

    def __init__(self):
        self.inside = 0
        self.most_inside = 0
        self.gates: dict[str, asyncio.Event] = {}

    async def __call__(self, scope, receive, send):
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            gate = self.gates.setdefault(scope["path"], asyncio.Event())
            await gate.wait()
            if scope["path"].startswith("/fails"):
                raise RuntimeError("the view failed")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            # A slow body after the headers: should no longer hold a slot.
            await self.gates.setdefault(f"{scope['path']}:body", asyncio.Event()).wait()
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.inside -= 1


async def nothing():
    return {"type": "http.request", "body": b""}


def request(limited, path, sent):
    async def send(message):
        sent.append((path, message["type"]))

    return asyncio.ensure_future(limited({"type": "http", "path": path}, nothing, send))


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


async def test_no_more_than_the_limit_are_inside_and_the_rest_wait_their_turn():
    app = Recorder()
    limited = HttpConcurrencyLimit(app, limit=2)
    sent = []
    tasks = [request(limited, f"/page/{index}", sent) for index in range(5)]
    await settle()
    assert app.inside == 2
    # Each request that has its answer started lets the next one in.
    for index in range(5):
        app.gates.setdefault(f"/page/{index}", asyncio.Event()).set()
        app.gates.setdefault(f"/page/{index}:body", asyncio.Event()).set()
        await settle()
    await asyncio.gather(*tasks)
    assert app.most_inside == 2
    assert sorted(path for path, kind in sent if kind == "http.response.body") == [
        f"/page/{index}" for index in range(5)
    ]


async def test_a_slot_is_free_once_the_response_starts_not_when_its_body_ends():
    app = Recorder()
    limited = HttpConcurrencyLimit(app, limit=1)
    sent = []
    download = request(limited, "/download", sent)
    waiting = request(limited, "/page", sent)
    await settle()
    assert app.inside == 1
    app.gates["/download"].set()  # headers sent, the body still streaming
    app.gates.setdefault("/page", asyncio.Event())
    await settle()
    assert app.inside == 2, "the next request is in while the download streams"
    app.gates["/page"].set()
    app.gates.setdefault("/page:body", asyncio.Event()).set()
    app.gates.setdefault("/download:body", asyncio.Event()).set()
    await asyncio.gather(download, waiting)


async def test_a_failing_request_gives_its_slot_back():
    app = Recorder()
    limited = HttpConcurrencyLimit(app, limit=1)
    sent = []
    failing = request(limited, "/fails", sent)
    after = request(limited, "/page", sent)
    await settle()
    app.gates["/fails"].set()
    app.gates.setdefault("/page", asyncio.Event()).set()
    app.gates.setdefault("/page:body", asyncio.Event()).set()
    with pytest.raises(RuntimeError):
        await failing
    await asyncio.wait_for(after, timeout=1)
    assert ("/page", "http.response.body") in sent


async def test_no_limit_and_websockets_pass_straight_through():
    app = Recorder()
    sent = []
    unlimited = HttpConcurrencyLimit(app, limit=0)
    pages = [request(unlimited, f"/page/{index}", sent) for index in range(4)]
    limited = HttpConcurrencyLimit(app, limit=1)

    async def send(message):
        sent.append(message)

    sockets = [
        asyncio.ensure_future(limited({"type": "websocket", "path": f"/ws/{i}"}, nothing, send))
        for i in range(3)
    ]
    await settle()
    assert app.inside == 7
    paths = [f"/page/{index}" for index in range(4)] + [f"/ws/{i}" for i in range(3)]
    for path in paths + [f"{path}:body" for path in paths]:
        app.gates.setdefault(path, asyncio.Event()).set()
    await asyncio.gather(*pages, *sockets)
