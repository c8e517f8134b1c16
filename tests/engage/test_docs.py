"""The config snippets of docs/engage.md are real: each loads as the emulator would load it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from segemu.config import load_config
from segemu.engage.config import load_engage

PAGE = Path(__file__).parent.parent.parent / "docs" / "engage.md"


def test_every_toml_snippet_of_the_engage_page_loads() -> None:
    snippets = re.findall(r"```toml\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    assert len(snippets) == 2
    for snippet in snippets:
        tables = tomllib.loads(snippet)
        engage = load_engage(load_config(tables, env={}, discover=False))
        assert engage.enabled
