import contextlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONHASHSEED", "0")
#: The suite tests the CPU path on every machine, its servers included (device 'auto' picks a GPU when torch
#: sees one); tests of the GPU path run their own process with this machine's GPUs visible (gpu_env).
VISIBLE_GPUS = os.environ.get("CUDA_VISIBLE_DEVICES")
os.environ["CUDA_VISIBLE_DEVICES"] = ""


def gpu_env() -> dict[str, str]:
    """The environment a process that may use this machine's GPUs gets."""
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    if VISIBLE_GPUS is not None:
        env["CUDA_VISIBLE_DEVICES"] = VISIBLE_GPUS
    return env


#: an NVIDIA driver is present (a cheap test, before starting torch in a process with the GPUs visible)
HAS_NVIDIA_DRIVER = Path("/dev/nvidiactl").exists()


@pytest.fixture(autouse=True)
def _single_thread_torch():
    """Tests compare floats; keep torch's thread count fixed so reductions are reproducible."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_process(log: Path, port: int | None = None, **env):
    """A real server on ``port`` (default: a free one), started as `make run` starts it (`python -m
    scansnap_app.serve`, i.e. `streamlit run app.py` with the modules loaded first): yields (URL, process) once it is
    healthy; its log is shown if it fails to start.  Stopped on exit unless the caller already stopped it."""
    import subprocess
    import time
    import urllib.request

    port = port or _free_port()
    with open(log, "a") as out:
        proc = subprocess.Popen([sys.executable, "-m", "scansnap_app.serve", "--server.port",
                                 str(port), "--server.headless", "true"], cwd=ROOT, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:  # a server that exited fails at once
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy:\n" + log.read_text())
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def streamlit_server(log: Path, **env):
    """A real `streamlit run app.py` on a free port (yields its URL)."""
    with streamlit_process(log, **env) as (url, _):
        yield url


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One real server for every browser test."""
    with streamlit_server(tmp_path_factory.mktemp("server") / "streamlit.log", SCANSNAP_MAX_TRAINING="4") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def fresh_registry(monkeypatch):
    """A sessions registry of the test's own: every AppTest shares one session id, and every page part reads
    sessions.REGISTRY when it runs.  Page test modules use it for every test (pytestmark)."""
    from scansnap_app import sessions

    registry = sessions.Registry(max_training=4, idle_ttl=120)
    monkeypatch.setattr(sessions, "REGISTRY", registry)
    yield registry
    for lab in list(registry._labs.values()):
        lab.runner.stop()
