"""A tab that closes while the server sends to it ends its websocket quietly
(scansnap_app/websocket_fix.py; the traceback it fixes was seen in CI's load test)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.websockets import WebSocket, WebSocketDisconnect

from scansnap_app import websocket_fix


async def _receive_after_failed_send() -> BaseException:
    """Starlette's WebSocket as Streamlit drives it: accepted, a send finds the client gone, then
    the receive loop asks for the next frame.  Returns what that receive raised."""
    inbox = [{"type": "websocket.connect"}]

    async def receive():
        return inbox.pop(0) if inbox else {"type": "websocket.receive", "bytes": b"never read"}

    async def send(message):
        if message["type"] == "websocket.send":
            raise OSError("connection reset by peer")

    ws = WebSocket({"type": "websocket", "path": "/_stcore/stream", "headers": [], "query_string": b""}, receive, send)
    await ws.accept()
    with pytest.raises(WebSocketDisconnect):
        await ws.send_bytes(b"a delta for a closed tab")
    try:
        await ws.receive_bytes()
    except BaseException as exc:  # noqa: BLE001 - the test is about which exception
        return exc
    raise AssertionError("receive_bytes returned on a disconnected socket")


def run(coroutine_function):
    """asyncio.run in a thread of its own: the session's Playwright browser keeps an event loop
    running in the test thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine_function()).result()


@pytest.fixture
def unpatched(monkeypatch):
    """Starlette's own receive_bytes for the test (AppTest runs app.py, which installs the fix in
    this process); the patched state is restored afterwards."""
    monkeypatch.setattr(WebSocket, "receive_bytes",
                        getattr(WebSocket.receive_bytes, "__wrapped__", WebSocket.receive_bytes))


def test_without_the_fix_starlette_raises_the_runtime_error_streamlit_mistakes_for_a_text_frame(unpatched):
    exc = run(_receive_after_failed_send)
    assert isinstance(exc, RuntimeError)  # Streamlit's loop: `except RuntimeError` -> close() -> traceback
    assert not isinstance(exc, WebSocketDisconnect)


def test_with_the_fix_the_receive_loop_sees_a_disconnect(unpatched):
    websocket_fix.install()
    websocket_fix.install()  # idempotent: one wrapper, not two
    assert getattr(WebSocket.receive_bytes, "_scansnap_fix", False)
    exc = run(_receive_after_failed_send)
    assert isinstance(exc, WebSocketDisconnect) and exc.code == 1006


def test_connected_sockets_receive_as_before(unpatched):
    websocket_fix.install()
    frames = [{"type": "websocket.connect"}, {"type": "websocket.receive", "bytes": b"\x08\x01"}]

    async def talk() -> bytes:
        async def receive():
            return frames.pop(0)

        async def send(message):
            pass

        ws = WebSocket({"type": "websocket", "path": "/", "headers": [], "query_string": b""}, receive, send)
        await ws.accept()
        return await ws.receive_bytes()

    assert run(talk) == b"\x08\x01"
