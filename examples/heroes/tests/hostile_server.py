"""A real uvicorn server on a loopback port, for the hostile-client tests (test_hostile_*)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


@asynccontextmanager
async def serve(app: Any, *, send_buffer: int | None = None) -> AsyncIterator[int]:
    """`app` under uvicorn on a free loopback port (yielded). `send_buffer`: SO_SNDBUF of
    the listener, which accepted sockets inherit on Linux, so that a client that stops
    reading stalls the server's sends after a few dozen kilobytes."""
    listener = socket.socket()
    if send_buffer is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.ensure_future(server.serve(sockets=[listener]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started, "uvicorn did not start"
        yield port
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(serving, 30)
        listener.close()


async def raw_request(port: int, request: bytes, *, wait: float = 10) -> bytes:
    """Send `request` bytes as they are and read the answer until the server closes the
    connection (or `wait` seconds pass: then what was read so far)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        received = b""
        try:
            async with asyncio.timeout(wait):
                while chunk := await reader.read(65536):
                    received += chunk
        except TimeoutError:
            pass
        return received
    finally:
        writer.close()
