"""A TCP proxy we can cut: put it between the platform and PostgreSQL, then `cut()` drops every open connection
and refuses new ones until `restore()`. It runs its own event loop in a thread, so that code blocking on the
database in the caller's loop (sync SQLAlchemy inside async routes) never blocks the proxy itself."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tests.faults.stack import free_port


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.refused = 0
        self._thread = threading.Thread(target=self.loop.run_forever, name="db-proxy", daemon=True)

    def __enter__(self) -> CuttableProxy:
        self._thread.start()
        self._run(self._listen())
        return self

    def __exit__(self, *_: Any) -> None:
        self._run(self._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def cut(self) -> None:
        """Drop every proxied connection and refuse new ones (nothing listens: connection refused)."""
        self._run(self._close())

    def restore(self) -> None:
        self._run(self._listen())

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()
                self._writers.discard(dst)

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
