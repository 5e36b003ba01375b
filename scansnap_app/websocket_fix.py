"""A client that vanishes mid-send must end its websocket quietly (Streamlit 1.67 + Starlette 1.10).

When a tab closes while the server is sending to it, Starlette's ``send`` marks the socket
disconnected and raises ``WebSocketDisconnect``, which Streamlit's sender task swallows.  The
receive loop's next ``receive_bytes`` then raises ``WebSocketDisconnected``, a ``RuntimeError``
that Streamlit takes for a text frame: it tries to close the closed socket and a traceback lands
in the server log (seen in CI's 8-tab load test).  The session is cleaned up either way.

:func:`install` makes ``receive_bytes`` on a socket already known to be gone raise
``WebSocketDisconnect``, the exception Streamlit's loop expects for a client that left, so the
loop ends as it does for any closed tab.  Sockets that are still connected are untouched.
"""

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

_ABNORMAL_CLOSURE = 1006  # the code Starlette's own send uses for a vanished client


def install() -> None:
    """Patch ``WebSocket.receive_bytes`` once per process (idempotent)."""
    original = WebSocket.receive_bytes
    if getattr(original, "_scansnap_fix", False):
        return

    async def receive_bytes(self: WebSocket) -> bytes:
        if self.application_state == WebSocketState.DISCONNECTED:
            raise WebSocketDisconnect(code=_ABNORMAL_CLOSURE)
        return await original(self)

    receive_bytes._scansnap_fix = True
    receive_bytes.__wrapped__ = original
    WebSocket.receive_bytes = receive_bytes
