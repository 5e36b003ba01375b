"""The package's public surface: what the pages and app helpers import from the core is public."""

import ast
import importlib
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pages_import_only_public_core_names():
    """Every `from scansnap_core.X import name` in the pages and the app helpers names something in
    X.__all__ (results.__all__ used to omit names the pages import), or is a submodule of X."""
    missing = []
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("scansnap_app/*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scansnap_core."):
                public = getattr(importlib.import_module(node.module), "__all__", ())
                missing += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                            if a.name not in public and importlib.util.find_spec(f"{node.module}.{a.name}") is None]
    assert not missing, missing


def test_the_package_installs_with_a_scansnap_command(tmp_path):
    """pyproject.toml: `pip install .` gives the packages and a `scansnap` console command (the CLI).
    Installed into a folder with --no-deps (the dependencies are this interpreter's) and run from
    elsewhere, so the installed copy is the one imported."""
    import os
    import subprocess
    import sys

    import shutil

    source, target = tmp_path / "source", tmp_path / "site"  # a copy: setuptools writes build/ beside the source
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    for package in ("scansnap_core", "scansnap_app"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(source)], check=True, capture_output=True, timeout=300, cwd=tmp_path)
    assert (target / "scansnap_core" / "scan_snap" / "events.py").exists() and (target / "scansnap_app" / "live_chart.js").exists()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *sys.path[1:]])}
    out = subprocess.run([str(target / "bin" / "scansnap"), "theory", "--preset", "fig3", "--eta-y", "2"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "t0' = 34.55, t0 = 91.19" in out.stdout
    check = subprocess.run([sys.executable, "-c", "import scansnap_core; print(scansnap_core.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert check.stdout.startswith(str(target))


def test_no_page_uses_a_streamlit_parameter_deprecated_in_1_67():
    """use_container_width (deprecated in Streamlit 1.67 for width="stretch") once sat in the controls."""
    sources = [*ROOT.glob("pages/*.py"), *ROOT.glob("scansnap_app/*.py"), ROOT / "app.py"]
    assert [p.name for p in sources if "use_container_width" in p.read_text()] == []


def test_make_run_serves_this_machine_only_unless_asked():
    """`make run` used to serve on every interface; a laptop in a classroom network wants localhost."""
    import subprocess

    plain = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "-m scansnap_app.serve --server.address 127.0.0.1 --server.port 8501" in plain
    shared = subprocess.run(["make", "-n", "run", "ADDRESS=0.0.0.0"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    assert "--server.address 0.0.0.0" in shared
