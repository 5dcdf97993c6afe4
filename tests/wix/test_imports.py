"""What importing the Wix client loads: the client alone, not the service, its settings or its providers."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

import inboxbridge
import inboxbridge.wix


def loaded_after(statement: str) -> list[str]:
    """The inboxbridge modules a fresh interpreter holds after running ``statement``."""
    # A fresh interpreter, since this one holds whatever other tests imported.
    code = f"{statement}; import sys; print(*sorted(m for m in sys.modules if m.startswith('inboxbridge')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()


def wix_imports(path: Path) -> set[str]:
    """The ``inboxbridge.wix`` modules the module at ``path`` imports (type-checking ones too), by short name."""
    tree = ast.parse(path.read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return {name.removeprefix("inboxbridge.wix.") for name in modules if name.startswith("inboxbridge.wix.")}


def test_importing_the_wix_client_loads_only_the_wix_client() -> None:
    loaded = loaded_after("import inboxbridge.wix")

    assert "inboxbridge.wix.client" in loaded
    others = [m for m in loaded if m not in ("inboxbridge", "inboxbridge.wix") and not m.startswith("inboxbridge.wix.")]
    assert others == []


def test_the_wix_modules_import_each_other_without_a_circle() -> None:
    modules = Path(inboxbridge.wix.__file__).parent.glob("*.py")
    imports = {path.stem: wix_imports(path) for path in modules if path.stem != "__init__"}

    # Raises CycleError if there is a circle; else each module comes after all it imports.
    order = list(graphlib.TopologicalSorter(imports).static_order())

    assert order.index("call") < order.index("site") < order.index("client")


def test_the_package_root_names_only_what_it_has() -> None:
    assert inboxbridge.__version__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = inboxbridge.nope  # type: ignore[attr-defined]
