"""The Docker image definition (no Docker engine on these machines, so no image is built):
hadolint, the Dockerfile's structure, and its install and entry steps replayed in a fresh
virtual environment on a copy of the build context, ending with a health probe."""

import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import plotly
import pytest
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def instructions(parser: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in parser.structure if i["instruction"] == name]


def test_hadolint_is_clean():
    proc = subprocess.run([str(BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_image_is_slim_python311_non_root_with_port_healthcheck_and_the_readme_command(dockerfile):
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", dockerfile.baseimage)
    (user,) = instructions(dockerfile, "USER")
    assert user not in ("root", "0") and re.search(rf"useradd --uid {user}\b", dockerfile.content)
    assert instructions(dockerfile, "EXPOSE") == ["8501"]
    (health,) = instructions(dockerfile, "HEALTHCHECK")
    assert 'CMD ["python", "-m", "scansnap_app.healthcheck"]' in health  # exec form; follows port and sub-path
    (entry,) = instructions(dockerfile, "ENTRYPOINT")
    command = json.loads(entry)  # exec form: a JSON list
    assert command[:3] == ["streamlit", "run", "app.py"]  # what `make run` runs
    assert "--server.address=0.0.0.0" in command and "--server.port=8501" in command
    readme = (ROOT / "README.md").read_text()
    assert "docker build -t scansnap-lab ." in readme and "docker run --rm -p 8501:8501 scansnap-lab" in readme


def _ignored(relative: Path, patterns: list[str]) -> bool:
    """A pattern with a slash matches a path from the context's root; one without, any path part."""
    path = relative.as_posix()
    return any(fnmatch.fnmatch(path, p) or path.startswith(p + "/") if "/" in p.removeprefix("**/") else
               any(fnmatch.fnmatch(part, p.removeprefix("**/")) for part in relative.parts) for p in patterns)


def _build_context(target: Path) -> Path:
    """What `COPY . .` copies: the repository minus .dockerignore's patterns."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if path.is_file() and not _ignored(relative, patterns):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / relative)
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_install_and_entry_steps_work_in_a_fresh_venv(dockerfile, tmp_path):
    """Replays every RUN pip/python step in order in a new venv, then starts the ENTRYPOINT and
    probes it with the HEALTHCHECK command. PyTorch's CPU index is not reachable here, so the
    torch step installs the same pinned version from this machine's index (a local CPU wheel)."""
    app = _build_context(tmp_path / "app")
    assert (app / "app.py").exists() and (app / ".streamlit" / "config.toml").exists()
    assert not (app / ".venv").exists() and not (app / "tests").exists()
    assert (app / "docs" / "THEORY.md").exists() and not (app / "docs" / "screenshots").exists()  # cited notes
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    steps = [step for run in instructions(dockerfile, "RUN") for step in run.split("&&")
             if step.split()[0] in ("pip", "python")]
    assert [s.split()[0:2] for s in steps] == [["pip", "install"], ["pip", "install"], ["python", "-m"]]
    for step in steps:
        words = shlex.split(step)
        if "--index-url" in words:  # the PyTorch CPU index: use this machine's index instead
            i = words.index("--index-url")
            del words[i:i + 2]
        proc = subprocess.run(words, cwd=app, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"{step}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    assert (app / "static" / f"plotly-{plotly.__version__}.min.js").exists()

    port = _free_port()
    command = [a.replace("--server.port=8501", f"--server.port={port}") for a in json.loads(
        instructions(dockerfile, "ENTRYPOINT")[0])]
    server = subprocess.Popen(command, cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        health = [str(venv / "bin" / "python"), "-m", "scansnap_app.healthcheck"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if subprocess.run(health, cwd=app, env={**env, "STREAMLIT_SERVER_PORT": str(port)}).returncode == 0:
                break
            time.sleep(1)
        else:
            pytest.fail("the entry command never became healthy")
        url = f"http://127.0.0.1:{port}/app/static/plotly-{plotly.__version__}.min.js"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and len(response.read()) > 1_000_000  # the live charts' plotly.js
    finally:
        server.terminate()
        server.wait(10)
