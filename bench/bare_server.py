"""The floor for Python: a bare broadcast server on the `websockets` library.

    python bench/bare_server.py PORT

It speaks just enough of the live protocol for bench/live_load.py: a snapshot with the
current `seq` on connect, and on the host's (`/host`) pause or resume one numbered
`broadcast.state` frame written to every connection with `websockets.broadcast`.
No database, no channel layer, one process. Binds to 127.0.0.1.
"""

import asyncio
import gc
import json
import signal
import sys

from websockets.asyncio.server import broadcast, serve

clients = set()
position = {"seq": 0}
# About the size of a real snapshot of a fresh broadcast.
SNAPSHOT_PADDING = "x" * 1200


async def handler(websocket) -> None:
    snapshot = {"type": "snapshot", "seq": position["seq"], "padding": SNAPSHOT_PADDING}
    await websocket.send(json.dumps(snapshot))
    clients.add(websocket)
    try:
        async for message in websocket:
            frame = json.loads(message)
            kind = frame.get("type")
            if websocket.request.path == "/host" and kind in (
                "broadcast.pause",
                "broadcast.resume",
            ):
                position["seq"] += 1
                state = "paused" if kind == "broadcast.pause" else "live"
                event = {"seq": position["seq"], "type": "broadcast.state", "state": state}
                broadcast(clients, json.dumps(event, separators=(",", ":")))
            await websocket.send(json.dumps({"type": "ack", "ref": frame.get("ref")}))
    finally:
        clients.discard(websocket)


async def main(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=2**16):
        await stop


if __name__ == "__main__":
    # The collector settings of config/asgi.py: the floor is tuned as the server it measures.
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)
    asyncio.run(main(int(sys.argv[1])))
