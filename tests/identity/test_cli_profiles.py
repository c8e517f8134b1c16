"""`segemu profiles show` and `segemu profiles search` against a running segemu."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from segemu.cli import cli
from segemu.config import load_config
from segemu.testing.thread import ThreadedEmulator


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    running = ThreadedEmulator(load_config({"db": ":memory:"}, env={}, discover=False)).start()
    batch: list[dict[str, Any]] = [
        {"type": "page", "anonymousId": "laptop"},
        {"type": "identify", "anonymousId": "laptop", "userId": "u1", "traits": {"plan": "free"}},
        {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},
        {"type": "identify", "anonymousId": "laptop", "userId": "u2", "traits": {"plan": "team"}},
        {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
    ]
    request = urllib.request.Request(
        f"{running.url}/v1/batch",
        data=json.dumps({"batch": batch, "writeKey": "wk"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    yield running.url
    running.stop()


def run(url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["profiles", *args, "--url", url])
    assert result.exit_code == 0, result.output
    return result.output


def test_show_prints_identifiers_traits_history_accounts_and_changes(url: str) -> None:
    output = run(url, "show", "user_id:u1")
    assert output.startswith("use_")
    assert "  anonymous_id:laptop" in output
    assert '  plan = "pro"' in output
    assert 'was "free"' in output
    assert "accounts\n  acc_" in output
    assert "group_id:g1" in output
    assert "added user_id:u1" in output
    detail = json.loads(run(url, "show", "anonymous_id:laptop", "--json"))
    assert detail["traits"] == {"plan": "pro"}


def test_show_names_the_refused_merge_on_the_other_user(url: str) -> None:
    output = run(url, "show", "user_id:u2")
    assert "refused anonymous_id:laptop" in output
    assert "user_id allows 1" in output


def test_search_and_errors(url: str) -> None:
    assert run(url, "search", "team").count("use_") == 1
    assert run(url, "search").count("use_") == 2
    assert "acc_" in run(url, "search", "--collection", "accounts")
    assert run(url, "search", "nothing-like-it").strip() == "no profile matches"
    missing = CliRunner().invoke(cli, ["profiles", "show", "user_id:nobody", "--url", url])
    assert missing.exit_code == 2
    assert "no profile with user_id:nobody" in missing.output
