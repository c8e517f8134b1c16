"""What a newcomer typed in their first hour and what it said back (issue 18, items 8 and 12),
run as they ran it: `segemu ...` in a subprocess, against a running segemu."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from tests.test_cli_client import Emulator, post


def segemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segemu", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.fixture
def one_call() -> Iterator[Emulator]:
    running = Emulator()
    running.start()
    post(running.url, "Signed Up", messageId="s1")
    yield running
    running.stop()
    assert running.take_errors() == []


def test_an_unknown_field_is_named_with_a_suggestion(one_call: Emulator) -> None:
    done = segemu("events", "--url", one_call.url, "--where", "evnt:Foo")
    assert done.returncode == 2
    assert "unknown field 'evnt' (did you mean 'event'?)" in done.stderr
    assert done.stdout == ""


def test_a_valid_query_that_matches_nothing_says_what_it_searched(one_call: Emulator) -> None:
    done = segemu("events", "--url", one_call.url, "--where", "event:Foo")
    assert done.returncode == 0
    assert done.stdout == ""  # a pipe reads nothing
    assert done.stderr == "No calls matched 'event:Foo' (searched 1 stored call)\n"


def test_the_control_api_refuses_an_unknown_field_with_the_message(one_call: Emulator) -> None:
    query = urllib.parse.urlencode({"q": "evnt:Foo"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{one_call.url}/_segemu/events?{query}", timeout=10)
    assert refused.value.code == 400
    body = json.load(refused.value)
    assert "unknown field 'evnt' (did you mean 'event'?)" in body["message"]
    with urllib.request.urlopen(f"{one_call.url}/_segemu/events?q=event:Foo", timeout=10) as ok:
        answer = json.load(ok)
    assert answer["events"] == []
    assert answer["searched"] == 1


def test_a_url_without_its_scheme_works(one_call: Emulator) -> None:
    done = segemu("events", "--url", one_call.url.removeprefix("http://"))
    assert done.returncode == 0, done.stderr
    assert '"Signed Up"' in done.stdout


def test_wait_without_a_write_key_does_not_speak_of_this_write_key(one_call: Emulator) -> None:
    done = segemu("wait", "--url", one_call.url, "--where", "event:Never", "-t", "0")
    assert done.returncode == 1
    assert "for this write key" not in done.stderr
    assert "Received (every write key), newest first:" in done.stderr
    assert "Signed Up" in done.stderr
