"""The documentation cannot drift from the code: every snippet in README.md and docs/*.md is
extracted and checked (issue 18, "A test checks every command and config snippet").

- `sh` blocks: each `segemu ...` command is parsed by the real click CLI (an unknown command or
  option fails); each `python bench/X.py --flag` names a benchmark that exists and a flag its
  `--help` lists; each `npm ci --prefix D` names a folder with a lock file; other commands must
  be in the short list of set-up tools below, so a new kind of command gets a check of its own.
- `toml` blocks are configuration: they build a real emulator, so an unknown setting, a
  destination that does not exist or a bad value fails as `segemu run` would.
- `yaml` blocks are tracking plans, loaded by the plan reader; so are `csv` blocks (Segment's
  tracking plan CSV).
- `python` blocks compile, and every `from segemu... import name` they contain resolves.
- `json` blocks parse, unless they are marked as excerpts (`...`); an expectations list is
  judged by the expectation parser.
- `js` blocks pass `node --check` where Node is installed.
Blocks without a language are sample output; a `$ segemu ...` line in one is checked as a
command.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click
import pytest

from segemu.cli import cli
from segemu.cli.expect_file import load_expectations
from segemu.config import load_config
from segemu.emulator import create_emulator
from segemu.protocols.plans import load_plan

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

# First words of set-up commands that the docs may show without a check of their own: they
# belong to the machine, not to segemu.
SETUP_TOOLS = {"pip", "apt-get", "npm", ".", "source", "python3", ".ci/run", "export"}


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int
    lang: str
    body: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.lang or 'text'})"


def _snippets() -> Iterator[Snippet]:
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            yield Snippet(path, line, match.group(1), match.group(2))


SNIPPETS = list(_snippets())


def _of(*langs: str) -> list[Snippet]:
    return [s for s in SNIPPETS if s.lang in langs]


def _ids(snippets: list[Snippet]) -> list[str]:
    return [str(s) for s in snippets]


def _commands(body: str) -> Iterator[list[str]]:
    """Shell lines -> argument lists: comments dropped, `\\` continuations joined, `&&` split."""
    for line in body.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        command: list[str] = []
        for word in [*words, "&&"]:
            if word == "&&":
                if command:
                    yield command
                command = []
            else:
                command.append(word)


def _check_segemu(args: list[str]) -> None:
    """Parse `segemu args...` with the real CLI, down to the leaf command, without running it."""
    command: click.Command = cli
    name = "segemu"
    while True:
        try:
            ctx = command.make_context(name, list(args), resilient_parsing=False)
        except click.BadParameter as error:
            # A file the reader is meant to have (calls.jsonl, plan.yaml) need not exist here.
            if "does not exist" in str(error):
                return
            raise AssertionError(f"segemu {' '.join(args)}: {error.format_message()}") from error
        except click.UsageError as error:
            raise AssertionError(f"segemu {' '.join(args)}: {error.format_message()}") from error
        if not isinstance(command, click.Group):
            return
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            return
        sub_name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None, f"segemu: no command {rest[0]!r}"
        command, name = sub, sub_name or rest[0]


@cache
def _bench_help(script: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"{script} --help failed: {result.stderr[-500:]}"
    return result.stdout


def _check_command(args: list[str]) -> None:
    head = args[0]
    if head == "segemu":
        _check_segemu(args[1:])
    elif head in {"python", "python3"} and len(args) > 1 and args[1].startswith("bench/"):
        script = args[1]
        assert (ROOT / script).is_file(), f"no benchmark {script}"
        usage = _bench_help(script)
        for flag in (a.split("=")[0] for a in args[2:] if a.startswith("--")):
            assert flag in usage, f"{script} has no option {flag}"
    elif head in {"python", "python3"} and args[1:3] == ["-m", "pytest"]:
        return
    elif head == "npm" and "--prefix" in args:
        folder = ROOT / args[args.index("--prefix") + 1]
        assert (folder / "package-lock.json").is_file(), f"npm --prefix {folder}: no lock file"
    elif head == "pip" and "-e" in args:
        extra = re.search(r"\[(\w+)\]", args[-1])
        if extra:
            pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
            assert f"\n{extra.group(1)} = [" in pyproject, f"no extra {extra.group(1)!r}"
    elif head == ".ci/run":
        assert (ROOT / ".ci/run").is_file()
    else:
        assert head in SETUP_TOOLS, f"a command the docs test does not know: {args}"


@pytest.mark.parametrize("snippet", _of("sh", "bash"), ids=_ids(_of("sh", "bash")))
def test_shell_commands_parse(snippet: Snippet) -> None:
    for args in _commands(snippet.body):
        try:
            _check_command(args)
        except AssertionError as error:
            raise AssertionError(f"{snippet}: {error}") from None


def _prompted() -> list[Snippet]:
    return [s for s in _of("") if re.search(r"^\$ segemu ", s.body, re.M)]


@pytest.mark.parametrize("snippet", _prompted(), ids=_ids(_prompted()))
def test_commands_in_sample_output_parse(snippet: Snippet) -> None:
    """A `$ segemu ...` line parses; one shown failing with `Error: ...` fails with that error."""
    for line, error in re.findall(r"^\$ (segemu .*)\n(?:Error: (.*))?", snippet.body, re.M):
        for args in _commands(line):
            if not error:
                _check_command(args)
                continue
            with pytest.raises(AssertionError) as failure:
                _check_command(args)
            assert error in str(failure.value), f"{snippet}: the docs show {error!r}"


@pytest.mark.parametrize("snippet", _of("toml"), ids=_ids(_of("toml")))
async def test_config_snippets_build_an_emulator(snippet: Snippet, tmp_path: Path) -> None:
    config_file = tmp_path / "segemu.toml"
    config_file.write_text(snippet.body, encoding="utf-8")
    # Paths in the docs' config (plans, function files) name the project's own fixtures, as a
    # segemu.toml at the project's root would.
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    config = load_config({"db": ":memory:"}, env={}, cwd=tmp_path, config_file=config_file)
    emulator = create_emulator(config)
    await emulator.close()


@pytest.mark.parametrize("snippet", _of("yaml", "csv"), ids=_ids(_of("yaml", "csv")))
def test_plan_snippets_load(snippet: Snippet, tmp_path: Path) -> None:
    plan_file = tmp_path / f"plan.{snippet.lang}"
    plan_file.write_text(snippet.body, encoding="utf-8")
    plan = load_plan(plan_file)
    assert plan.rules, f"{snippet}: a plan with no rules"


def _segemu_imports(body: str) -> Iterator[tuple[str, str]]:
    for module, names in re.findall(r"^\s*from (segemu[\w.]*) import ([^\n(]+)$", body, re.M):
        for name in names.split(","):
            yield module, name.split(" as ")[0].strip()


@pytest.mark.parametrize("snippet", _of("python"), ids=_ids(_of("python")))
def test_python_snippets_compile_and_import(snippet: Snippet) -> None:
    compile(snippet.body, str(snippet), "exec")
    for module, name in _segemu_imports(snippet.body):
        assert hasattr(importlib.import_module(module), name), f"{snippet}: {module}.{name}"


def _whole_json() -> list[Snippet]:
    return [s for s in _of("json") if "..." not in s.body and not s.body.lstrip().startswith('"')]


@pytest.mark.parametrize("snippet", _whole_json(), ids=_ids(_whole_json()))
def test_json_snippets_parse(snippet: Snippet, tmp_path: Path) -> None:
    value = json.loads(snippet.body)
    if isinstance(value, list) and value and all("description" in v for v in value):
        expect_file = tmp_path / "expect.json"
        expect_file.write_text(snippet.body, encoding="utf-8")
        assert len(load_expectations(expect_file)) == len(value)


@pytest.mark.parametrize("snippet", _of("js"), ids=_ids(_of("js")))
def test_js_snippets_are_valid_modules(snippet: Snippet, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    module = tmp_path / "snippet.mjs"
    module.write_text(snippet.body, encoding="utf-8")
    result = subprocess.run([node, "--check", str(module)], capture_output=True, text=True)
    assert result.returncode == 0, f"{snippet}: {result.stderr}"


def test_every_doc_page_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlinked = [p.name for p in DOCS[1:] if f"(docs/{p.name})" not in readme]
    assert not unlinked, f"docs pages the README does not link: {unlinked}"


def test_links_between_pages_resolve() -> None:
    broken = []
    for path in DOCS:
        for target in re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]+)?\)", path.read_text("utf-8")):
            if not (path.parent / target).is_file():
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_the_readme_stays_short() -> None:
    # Issue 18: the README gets a newcomer going in one screen; reference lives in docs/.
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"README.md has {lines} lines"
