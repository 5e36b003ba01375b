"""The Docker image for real (`make test-docker`, not part of `make test`): build the project's Dockerfile, run the
container as shipped, train in it from a real Chromium directly and through nginx on a sub-path, and look inside
the image.

Needs a Docker engine: one that is running, or `dockerd` started here as root (`--bridge=none
--iptables=false`; builds and containers use the host network, so all traffic stays on 127.0.0.1).  Without a
registry the base image `python:3.11-slim-bookworm` is replaced by a local stand-in built with debootstrap
(docker/stand-in-base.sh), and a local CPU torch wheel (pip's configured find-links) is served to the build.
"""

import functools
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, MAIN_CHARTS

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "scansnap-lab:test"
BASE = "python:3.11-slim-bookworm"
TORCH_WHEEL = re.compile(r"torch-2\.13\.0\+cpu-cp311-.*\.whl")


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def engine_up() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """A Docker engine: the running one, or dockerd started here as root; skips with the reason otherwise."""
    if engine_up():
        yield
        return
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip("no Docker engine: install docker.io and run as root (CI does), or start Docker")
    log = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
    with open(log, "w") as out:
        daemon = subprocess.Popen(["dockerd", "--bridge=none", "--iptables=false"], stdout=out, stderr=out)
    for _ in range(60):
        if engine_up():
            break
        time.sleep(1)
    else:
        daemon.kill()
        pytest.skip(f"dockerd did not start: {log.read_text()[-500:]}")
    yield
    daemon.terminate()
    daemon.wait(30)


def local_torch_wheels() -> Path | None:
    """The folder of pip's configured find-links that holds the pinned CPU torch wheel, if any."""
    proc = subprocess.run(["pip", "config", "list"], capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if "find-links" in line:
            folder = Path(line.split("=", 1)[1].strip().strip("'\""))
            if folder.is_dir() and any(TORCH_WHEEL.fullmatch(p.name) for p in folder.iterdir()):
                return folder
    return None


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the build's requests are not the test's output
        pass


@pytest.fixture(scope="module")
def image(engine):
    """The project's image, built from its Dockerfile (the base image pulled, or a stand-in built)."""
    if docker("image", "inspect", BASE, check=False).returncode != 0:
        if docker("pull", BASE, check=False, timeout=300).returncode != 0:
            print(f"\nno registry: building a stand-in for {BASE} (docker/stand-in-base.sh)")
            subprocess.run([str(ROOT / "docker" / "stand-in-base.sh"), BASE], check=True, timeout=900)
    args = ["build", "--network", "host", "-t", IMAGE]
    wheels, server = local_torch_wheels(), None
    if wheels is not None:  # PyTorch's CPU index may be out of reach: serve the local wheel to the build
        handler = functools.partial(QuietFiles, directory=str(wheels))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        args += ["--build-arg", f"TORCH_FIND_LINKS=http://127.0.0.1:{server.server_address[1]}/"]
    try:
        started = time.monotonic()
        build = docker(*args, str(ROOT), timeout=1800, check=False)
        assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
        print(f"\nbuilt {IMAGE} in {time.monotonic() - started:.0f} s")
    finally:
        if server is not None:
            server.shutdown()
    return IMAGE


class Container:
    """A running container of the image on the host network, removed at the end."""

    def __init__(self, image: str, *options: str, env: dict | None = None):
        self.port = free_port()
        env = {"STREAMLIT_SERVER_PORT": str(self.port), **(env or {})}
        flags = [f for k, v in env.items() for f in ("-e", f"{k}={v}")]
        self.started = time.monotonic()
        self.id = docker("run", "-d", "--network", "host", *flags, *options, image).stdout.strip()

    def wait_healthy(self, seconds: float = 180) -> float:
        """Seconds from `docker run` until the image's HEALTHCHECK reports healthy."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            status = docker("inspect", "--format", "{{.State.Health.Status}}", self.id).stdout.strip()
            if status == "healthy":
                return time.monotonic() - self.started
            time.sleep(0.5)
        pytest.fail(f"not healthy after {seconds} s: {self.logs()[-2000:]}")

    def logs(self) -> str:
        proc = docker("logs", self.id, check=False)
        return proc.stdout + proc.stderr

    def remove(self) -> None:
        docker("rm", "-f", self.id, check=False)


@pytest.fixture
def container(image):
    made = []

    def start(*options, env=None):
        made.append(Container(image, *options, env=env))
        return made[-1]

    yield start
    for c in made:
        c.remove()


def train_in_browser(url: str) -> list[str]:
    """Open the Live Lab at ``url``, press Start, see the step counter and the charts move; the requests that did
    not answer 200 (or a redirect)."""
    if CHROMIUM is None:
        pytest.skip("no chromium installed: the browser part needs /usr/bin/chromium")
    bad: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.get_by_role("button", name="Start", exact=True).wait_for(timeout=90_000)
        page.wait_for_timeout(1000)
        charts = page.locator(MAIN_CHARTS)
        expect(charts.first).to_be_visible(timeout=30_000)
        before = charts.first.inner_html()
        page.get_by_role("button", name="Start", exact=True).click()
        expect(page.get_by_test_id("stMetricValue").first).not_to_have_text(re.compile(r"^0 /"), timeout=60_000)
        page.wait_for_function(f"(b) => document.querySelector('{MAIN_CHARTS}').innerHTML !== b", arg=before,
                               timeout=60_000)
        browser.close()
    assert not errors, errors
    return bad


RENDER = """
import plotly.graph_objects as go
from scansnap_core.lab.export import render_images
images = render_images({"x": go.Figure(go.Scatter(y=[1, 3, 2]))})
png, svg = images["x.png"].startswith(b"\\x89PNG"), b"<svg" in images["x.svg"]
print("png" if png else "no-png", "svg" if svg else "no-svg")
"""


def test_the_container_is_healthy_non_root_and_runs_read_only(container):
    shipped = container()
    seconds = shipped.wait_healthy()
    print(f"\ncontainer start to healthy: {seconds:.1f} s")
    assert docker("exec", shipped.id, "id", "-u").stdout.strip() == "10001"
    read_only = container("--read-only", "--tmpfs", "/tmp")
    read_only.wait_healthy()
    rendered = docker("exec", read_only.id, "python", "-c", RENDER, timeout=180).stdout.split()
    assert rendered == ["png", "svg"]  # the figure pack's renderer (Chromium) works with only /tmp writable
    assert "Traceback" not in read_only.logs()


def test_a_browser_trains_in_the_container_and_every_asset_loads(container):
    shipped = container()
    shipped.wait_healthy()
    assert train_in_browser(f"http://127.0.0.1:{shipped.port}/") == []
    assert "Traceback" not in shipped.logs()


def readme_nginx_block() -> str:
    readme = (ROOT / "README.md").read_text()
    (block,) = re.findall(r"```nginx\n(.*?)```", readme, re.S)
    return block


def test_the_readme_reverse_proxy_recipe_works_on_a_sub_path(container, tmp_path):
    if shutil.which("nginx") is None or os.geteuid() != 0:
        pytest.skip("no nginx, or not root: install nginx and run as root (CI does)")
    proxied = container(env={"STREAMLIT_SERVER_BASE_URL_PATH": "scansnap"})
    proxied.wait_healthy()  # the health probe follows the sub-path
    listen = free_port()
    block = readme_nginx_block().replace("127.0.0.1:8501", f"127.0.0.1:{proxied.port}")
    (tmp_path / "logs").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"user root;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\nhttp {{\n"
                    f"  access_log {tmp_path}/logs/access.log;\n  client_body_temp_path {tmp_path}/body;\n"
                    f"  proxy_temp_path {tmp_path}/proxy;\n  server {{\n    listen 127.0.0.1:{listen};\n"
                    f"{block}  }}\n}}\n")
    nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],
                             stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        assert nginx.poll() is None, nginx.stderr.read()
        assert train_in_browser(f"http://127.0.0.1:{listen}/scansnap/") == []
        access = (tmp_path / "logs" / "access.log").read_text()
        assert re.search(r'"GET /scansnap/_stcore/stream HTTP/1.1" 101 ', access)  # the websocket went through
    finally:
        nginx.terminate()
        nginx.wait(10)
    assert "Traceback" not in proxied.logs()


def test_the_image_holds_only_what_the_app_needs(image):
    inside = docker("run", "--rm", "--entrypoint", "sh", image, "-c",
                    "ls /app; ls /app/docs; for c in gcc cc g++ make; do command -v $c; done; "
                    "ls -d /root/.cache/pip /home/scansnap/.cache/pip 2>/dev/null; true").stdout.split()
    assert {"app.py", "pages", "scansnap_core", "scansnap_app", "static", "THEORY.md"} <= set(inside)  # cited notes
    assert "screenshots" not in inside
    assert not {"tests", "benchmarks", "docker", ".git", ".venv"} & set(inside)
    assert not [line for line in inside if line.startswith("/")], inside  # no compiler, no pip cache
    facts = json.loads(docker("image", "inspect", image).stdout)[0]
    print(f"\nimage {image}: {facts['Size'] / 1e9:.2f} GB")
