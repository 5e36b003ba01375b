"""Container health probe: exit 0 when Streamlit's health endpoint answers "ok".

Used by the Dockerfile's HEALTHCHECK (the slim image has no curl). It follows the same
settings as the server: STREAMLIT_SERVER_PORT and STREAMLIT_SERVER_BASE_URL_PATH (a sub-path
behind a reverse proxy moves the health URL with it).

    python -m scansnap_app.healthcheck [URL]
"""

import os
import sys
import urllib.request


def health_url() -> str:
    port = os.environ.get("STREAMLIT_SERVER_PORT", "8501")
    base = os.environ.get("STREAMLIT_SERVER_BASE_URL_PATH", "").strip("/")
    return f"http://127.0.0.1:{port}/" + (f"{base}/" if base else "") + "_stcore/health"


def healthy(url: str, timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read() == b"ok"
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(0 if healthy(sys.argv[1] if len(sys.argv) > 1 else health_url()) else 1)
