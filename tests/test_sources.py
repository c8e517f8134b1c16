"""Sources from config: write keys, unknown keys stored as rejected (Segment answers 200 and
drops them: segment-wire-contract.md §2), and config mistakes named with file and entry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from segemu.config import ConfigError, load_config
from segemu.emulator import create_emulator
from segemu.message import Envelope
from segemu.sources import load_sources


def _track(write_key: str) -> Envelope:
    item = {"type": "track", "event": "Signed Up", "userId": "u1", "writeKey": write_key}
    return Envelope(route="/v1/track", items=[item], received_at=datetime.now(UTC))


def test_without_sources_every_write_key_is_one_default_source() -> None:
    emulator = create_emulator(db=":memory:")
    [record] = emulator.ingest(_track("anything"))
    assert record["status"] == "accepted"
    assert record["source"] == "default"


def test_a_configured_write_key_names_its_source_and_an_unknown_one_is_rejected() -> None:
    emulator = create_emulator(
        db=":memory:",
        sources={
            "web": {"write_key": "wk_web", "destinations": ["mixpanel"]},
            "api": {"write_key": "wk_api"},
        },
    )
    [web] = emulator.ingest(_track("wk_web"))
    assert (web["status"], web["source"]) == ("accepted", "web")
    [typo] = emulator.ingest(_track("wk_wbe"))
    assert typo["status"] == "rejected"
    assert typo["reason"] is not None
    assert "'wk_wbe' matches no configured source (did you mean 'wk_web'?)" in typo["reason"]
    assert emulator.sources.for_write_key("wk_web").destinations == ("mixpanel",)  # type: ignore[union-attr]


def test_sources_table_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text(
        '[sources.web]\nwrite_key = "wk_web"\nblock_events = ["Debug Clicked"]\n'
        "[sources.web.settings]\nfoo = 1\n"
    )
    config = load_config({}, env={}, cwd=tmp_path)
    [source] = load_sources(config).all
    assert source.block_events == frozenset({"Debug Clicked"})
    assert source.settings == {"foo": 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '[sources.web]\nwrite_kye = "k"\n',
            "[sources.web]: unknown key 'write_kye' (did you mean 'write_key'?)",
        ),
        ("[sources.web]\nname = 'Web'\n", "[sources.web]: 'write_key' is required"),
        (
            '[sources.a]\nwrite_key = "k"\n[sources.b]\nwrite_key = "k"\n',
            "[sources.b]: write key 'k' is already used by [sources.a]",
        ),
        (
            '[sources.a]\nwrite_key = "k"\ndestinations = "mixpanel"\n',
            "[sources.a]: 'destinations' must be a list of strings",
        ),
        ("sources = 3\n", "'sources' must be a table"),
        ("sourcs = 3\n", "unknown setting 'sourcs' (did you mean 'sources'?)"),
    ],
)
def test_source_mistakes_name_the_file_and_entry(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "segemu.toml").write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_sources(load_config({}, env={}, cwd=tmp_path))
    assert "segemu.toml" in str(caught.value)
    assert message in str(caught.value)
