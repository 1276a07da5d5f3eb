"""The house rules of the layout (ARCHITECTURE.md) that import-linter does not see: no app reaches into another app's
private names, and no production module grows past what one can read in a sitting."""

import ast
from pathlib import Path

import minzheng

ROOT = Path(minzheng.__file__).parent
MAX_LINES = 700


def _production_modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts or path.name == "conftest.py":
            continue
        yield path, parts[0] if len(parts) > 1 else ""


def _app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "minzheng" else None


def test_no_app_imports_another_apps_private_names():
    offences = []
    for path, app in _production_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: dict[str, str] = {}  # local name -> app of the module it names
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                other = _app_of(node.module + ".x")
                for name in node.names:
                    if other and other != app and name.name.startswith("_"):
                        offences.append(f"{path.relative_to(ROOT)}: from {node.module} import {name.name}")
                    if other and other != app:
                        aliases[name.asname or name.name] = other
            elif isinstance(node, ast.Import):
                for name in node.names:
                    other = _app_of(name.name + ".x")
                    if other and other != app and name.asname:
                        aliases[name.asname] = other
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr != "_meta"  # Django's public model API
            ):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert offences == []


def test_no_production_module_is_longer_than_a_sitting():
    long = {
        str(p.relative_to(ROOT)): n
        for p, _ in _production_modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
