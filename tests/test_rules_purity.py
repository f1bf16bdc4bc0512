"""famhp.rules is the law as code: standard library and PyYAML only, no Django, no other part of famhp.

import-linter enforces the Django and famhp boundaries in `make test`; this test also catches any new third-party
import, and any new famhp package, without a contract to update.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "src" / "famhp" / "rules"
ALLOWED_THIRD_PARTY = {"yaml"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_rules_import_only_the_standard_library_yaml_and_themselves() -> None:
    files = sorted(RULES.rglob("*.py"))
    assert files
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            if module == "famhp.rules" or module.startswith("famhp.rules."):
                continue
            assert top != "famhp", f"{path.name} imports {module}: famhp.rules imports no other part of famhp"
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, f"{path.name} imports {module}"
