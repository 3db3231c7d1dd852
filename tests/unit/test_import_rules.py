"""The packages stand on floors; no import runs from a lower floor to a higher one.

    trilink (core)  <  measurement, tracking, threat  <  sim
      <  producers | bridge | consumers   (siblings: they talk only through Kafka)
      <  evaluation, demo, bench  <  cli

Read from the source with ``ast`` so the rule holds for lazy imports inside
functions too, not only for what happens to be imported at start-up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Package -> the project packages it may import (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    "trilink": frozenset(),
    "measurement": frozenset({"trilink"}),
    "tracking": frozenset({"trilink", "measurement"}),
    "threat": frozenset({"trilink"}),
    "sim": frozenset({"trilink", "measurement"}),
    "producers": frozenset({"trilink", "measurement", "tracking", "threat", "sim"}),
    "bridge": frozenset({"trilink", "measurement", "tracking", "threat"}),
    "consumers": frozenset({"trilink"}),
}
_ROLES = frozenset(ALLOWED)
ALLOWED |= {
    "evaluation": _ROLES,
    "demo": _ROLES | {"evaluation"},
    "bench": _ROLES | {"evaluation"},
    "cli": _ROLES | {"evaluation", "demo"},
}
PACKAGES = frozenset(ALLOWED)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PACKAGES


def _violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for target in sorted(_imports(path) - ALLOWED[package] - {package}):
            bad.append(f"{path.relative_to(ROOT)} imports {target}")
    return bad


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_package_imports_only_lower_floors(package: str) -> None:
    assert (ROOT / package).is_dir(), f"{package}/ is missing"
    assert _violations(package) == []


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from bridge.engine import Engine\n    import cli.main\n")
    assert _imports(module) == {"bridge", "cli"}
