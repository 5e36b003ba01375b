"""The package's public surface: what the pages and app helpers import from the core is public."""

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pages_import_only_public_core_names():
    """Every `from scansnap_core.X import name` in the pages and the app helpers names something in
    X.__all__ (results.__all__ used to omit names the pages import)."""
    missing = []
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("scansnap_app/*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scansnap_core."):
                public = getattr(importlib.import_module(node.module), "__all__", ())
                missing += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name not in public]
    assert not missing, missing
