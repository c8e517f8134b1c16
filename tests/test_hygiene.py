"""House rules that are checked, not hoped for: lint and types clean, and a core that never
imports the terminal UI."""

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
