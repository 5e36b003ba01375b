"""The Docker image definition, fast checks for every `make test`: hadolint and the Dockerfile's structure.
Building and running the image for real is `make test-docker` (tests/test_docker_image.py)."""

import json
import re
import subprocess
import sys
from pathlib import Path

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
    assert json.loads(entry) == ["python", "-m", "scansnap_app.serve"]  # exec form, what `make run` runs
    (env,) = [v for v in instructions(dockerfile, "ENV") if "STREAMLIT_SERVER_PORT" in v]
    assert "STREAMLIT_SERVER_ADDRESS=0.0.0.0" in env and "STREAMLIT_SERVER_PORT=8501" in env  # -e moves them
    readme = (ROOT / "README.md").read_text()
    assert "docker build -t scansnap-lab ." in readme and "docker run --rm -p 8501:8501 scansnap-lab" in readme
