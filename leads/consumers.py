"""The exports page's socket: progress of lead exports, live, for people allowed to
export. It only listens; exports are asked for through the page's form or the API."""

from channels.generic.websocket import AsyncWebsocketConsumer

from participation.realtime.batching import database_call
from participation.realtime.codes import CLOSE_CODES, FORBIDDEN
from participation.realtime.names import EXPORTS_GROUP

from .exports import can_export


class ExportsConsumer(AsyncWebsocketConsumer):
    joined = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        allowed = user is not None and user.is_authenticated
        if allowed:
            allowed = await database_call(can_export)(user)
        if not allowed:
            await self.close(code=CLOSE_CODES[FORBIDDEN])
            return
        await self.accept()
        await self.channel_layer.group_add(EXPORTS_GROUP, self.channel_name)
        self.joined = True

    async def disconnect(self, code: int) -> None:
        if self.joined:
            await self.channel_layer.group_discard(EXPORTS_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass  # nothing to say to this socket

    async def export_changed(self, message: dict) -> None:
        await self.send(text_data=message["frame"])
