"""At most so many page requests of a server process inside Django at once.

Under ASGI, Django runs each request's code in a thread of its own. With a crowd
arriving, hundreds of threads per process then compete for the interpreter, and a
request holding one of the pool's database connections waits for its turn among them
while the others wait for the connection: measured, 512 clients put 400 threads in each
process and the watch page went slower than with 32. Past the limit a request waits in
the event loop (a few hundred bytes, no thread) until one inside has its answer ready.

A request counts until its response starts (status and headers): a large download to a
slow client streams afterwards, without holding anyone up.
"""

import asyncio
import weakref


class HttpConcurrencyLimit:
    def __init__(self, application, limit: int):
        self.application = application
        self.limit = limit
        # One semaphore per event loop (a server process has one; tests have several).
        self._semaphores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.limit:
            return await self.application(scope, receive, send)
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        await semaphore.acquire()
        held = True

        async def send_then_let_the_next_in(message):
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                semaphore.release()
            await send(message)

        try:
            return await self.application(scope, receive, send_then_let_the_next_in)
        finally:
            if held:
                semaphore.release()
