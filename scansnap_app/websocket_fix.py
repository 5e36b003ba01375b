"""A client that vanishes mid-send must end its websocket quietly (Streamlit 1.67 + Starlette 1.10).

A tab that closes while the server sends to it would leave a traceback in the server log
(docs/ENGINEERING.md, "Quiet websocket ends").  :func:`install` makes ``receive_bytes`` on a socket already known to be gone raise
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
