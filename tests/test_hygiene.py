"""House rules that are checked, not hoped for: lint and types clean, a core that never imports
the terminal UI, and a core that never imports an HTTP framework."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    "tool", [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]]
)
def test_lint_and_types_are_clean(tool: list[str]) -> None:
    if shutil.which(tool[0]) is None:
        pytest.fail(f"{tool[0]} is not installed: pip install -e '.[test]'")
    result = subprocess.run(tool, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "module",
    [
        "segemu.http.app",
        "segemu.emulator",
        "segemu.cli.serve",
        "segemu.testing",
        "segemu.testing.plugin",
        "segemu.testing.client",
        "segemu.testing.aclient",
        "segemu.cli",
        "segemu.cli.expect_file",
        "segemu.cli.tail",
    ],
)
def test_core_http_and_pytest_plugin_never_import_textual(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('segemu.tui')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr


def _imports(tree: ast.AST) -> list[tuple[str, int, bool]]:
    """(module, line, at module level) of every import in a module, lazy ones included."""
    top = {id(node) for node in getattr(tree, "body", [])}
    found: list[tuple[str, int, bool]] = []
    for node in ast.walk(tree):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        found.extend((name, node.lineno, id(node) in top) for name in names)  # type: ignore[attr-defined]
    return found


def test_no_module_outside_the_inspector_imports_it() -> None:
    # The harlequin rule (style-and-ecosystem.md A.4), on the source: the core, the HTTP layer
    # and the pytest plugin never import the TUI or Textual, not even inside a function. Only
    # the CLI does, lazily, inside the commands that open it.
    offenders = []
    for path in sorted((ROOT / "segemu").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("segemu/tui/"):
            continue
        for name, line, top_level in _imports(ast.parse(path.read_text())):
            if name == "textual" or name.startswith(("textual.", "segemu.tui")):
                if relative == "segemu/cli/commands.py" and not top_level:
                    continue
                offenders.append(f"{relative}:{line} imports {name}")
    assert offenders == []


# The core (DESIGN.md "Boundaries that must hold"): what every shell builds on. The shells
# (HTTP, CLI, TUI, pytest plugin) wrap it; the core never reaches back into them.
CORE = (
    "emulator",
    "message",
    "pipeline",
    "store",
    "destinations",
    "protocols",
    "identity",
    "functions",
    "faults",
)
SHELLS = ("segemu.http", "segemu.cli", "segemu.tui", "segemu.testing")
FOREIGN_TO_THE_CORE = ("aiohttp", "textual", "pytest", "_pytest")


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _core_modules() -> dict[str, Path]:
    """Every segemu module the core is made of: the core packages and modules, and everything
    they import, lazily or not, up to the shells."""
    pending = [
        path
        for name in CORE
        for path in (
            sorted((ROOT / "segemu" / name).rglob("*.py"))
            if (ROOT / "segemu" / name).is_dir()
            else [ROOT / "segemu" / f"{name}.py"]
        )
        if path.is_file()
    ]
    found: dict[str, Path] = {}
    while pending:
        path = pending.pop()
        relative = path.relative_to(ROOT).as_posix()
        if relative in found:
            continue
        found[relative] = path
        for tree_node in ast.walk(ast.parse(path.read_text())):
            if isinstance(tree_node, ast.ImportFrom) and tree_node.module:
                names = [tree_node.module] + [
                    f"{tree_node.module}.{alias.name}" for alias in tree_node.names
                ]
            elif isinstance(tree_node, ast.Import):
                names = [alias.name for alias in tree_node.names]
            else:
                continue
            for name in names:
                if name.startswith("segemu") and not name.startswith(SHELLS):
                    module = _module_file(name)
                    if module is not None:
                        pending.append(module)
    return found


def test_the_core_imports_no_http_framework_and_no_shell() -> None:
    # The delivery worker's HTTP client is handed in by the shell (segemu/outbound.py); the
    # core reaches HTTP, the TUI and pytest only through what it is given, not even lazily.
    core = _core_modules()
    assert "segemu/destinations/delivery.py" in core
    offenders = [
        f"{relative}:{line} imports {name}"
        for relative, path in sorted(core.items())
        for name, line, _ in _imports(ast.parse(path.read_text()))
        if name.split(".")[0] in FOREIGN_TO_THE_CORE or name.startswith(SHELLS)
    ]
    assert offenders == []


def test_importing_the_core_loads_no_http_framework() -> None:
    core = "segemu.emulator, segemu.destinations.delivery, segemu.pipeline, segemu.store"
    code = (
        f"import sys, {core}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'textual', "
        "'pytest', '_pytest') or m.startswith(('segemu.http', 'segemu.cli', 'segemu.tui', "
        "'segemu.testing'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_pytest_plugin_imports_nothing_heavy_at_start_up() -> None:
    # pytest imports every installed plugin at start-up, before coverage starts: the fixtures
    # import the server only when a test uses one (style-and-ecosystem.md D.1).
    code = (
        "import sys, segemu.testing.plugin; "
        "print(sorted(m for m in ('aiohttp', 'tinydb', 'orjson', 'textual') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_no_test_sleeps_to_wait_for_events() -> None:
    # Waits are event-driven (wait_for, the /wait long-poll); a sleep in a test is a flake.
    sleep = re.compile(r"\b(time|asyncio)\.sleep\(")
    sleepers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "tests").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if sleep.search(line) and "node_modules" not in path.parts
    ]
    assert sleepers == []
