"""Destination config mistakes are named at start-up with the file, the entry and the problem:
never a traceback, never a silent skip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from segemu.config import ConfigError, load_config
from segemu.destinations.config import load_destinations
from segemu.destinations.runtime import describe
from segemu.emulator import create_emulator

CUSTOM = """
[destinations.crm]
name = "Our CRM"
[[destinations.crm.actions]]
name = "Upsert Contact"
subscribe = 'type = "identify"'
url = "https://crm.example/contacts"
[destinations.crm.actions.mapping]
email = { "@path" = "$.traits.email" }
full_name = { "@template" = "{{traits.first_name}} {{traits.last_name}}" }
[destinations.crm.actions.mapping.plan."@if"]
exists = { "@path" = "$.traits.plan" }
then = { "@path" = "$.traits.plan" }
else = "free"
"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[destinations.mixpanl]\n", "[destinations.mixpanl]: unknown destination 'mixpanl'"),
        ('[destinations.x]\npreset = "amplitud"\n', "unknown destination preset 'amplitud'"),
        (
            '[destinations.x]\nname = "X"\n[[destinations.x.actions]]\nname = "A"\n'
            'subscribe = \'type = "track"\'\nmapping = { a = { "@paht" = "$.x" } }\n',
            (
                "[destinations.x].actions[0]: bad mapping directive: mapping.a: "
                "unknown directive @paht"
            ),
        ),
        (
            '[destinations.x]\nname = "X"\n[[destinations.x.actions]]\nname = "A"\n'
            "subscribe = 'type == \"track\"'\nmapping = {}\n",
            "[destinations.x].actions[0]: bad subscription: expected a value",
        ),
        (
            '[destinations.x]\nactions = []\n[[destinations.x.filters]]\nname = "f"\n'
            "if = 'event == \"a\"'\ndrop = true\n",
            "[destinations.x].filters[0]: bad filter condition: expected a value",
        ),
        (
            '[destinations.x]\nactions = []\n[[destinations.x.filters]]\nname = "f"\n',
            "a filter takes 'actions' (Segment's Public API form) or one of",
        ),
        (
            "[destinations.x]\nactions = []\n[[destinations.x.filters]]\nsample = 120\n",
            "'sample' is Segment's { percent = 0.1, path = \"userId\" }",
        ),
        (
            "[destinations.x]\nactions = []\nfailures = { status = 99 }\n",
            "failures: 'status' must be an HTTP status",
        ),
        (
            '[destinations.x]\nactions = []\nconsent_categoris = ["A"]\n',
            "unknown key 'consent_categoris' (did you mean 'consent_categories'?)",
        ),
    ],
)
def test_mistakes_name_file_entry_and_problem(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "segemu.toml").write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_destinations(load_config({}, env={}, cwd=tmp_path))
    assert "segemu.toml" in str(caught.value)
    assert message in str(caught.value)


def test_segemu_run_reports_a_bad_destination_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text("[destinations.mixpanl]\n")
    result = subprocess.run(
        [sys.executable, "-m", "segemu", "run", "-p", "0", "--no-ui"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "segemu.toml: [destinations.mixpanl]: unknown destination 'mixpanl'" in result.stderr


def test_a_user_defined_destination_from_config(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text(CUSTOM)
    [crm] = load_destinations(load_config({}, env={}, cwd=tmp_path))
    assert describe(crm)["actions"] == [
        {"name": "Upsert Contact", "subscribe": 'type = "identify"'}
    ]
    [action] = crm.actions
    event = {
        "type": "identify",
        "userId": "u1",
        "traits": {"email": "ada@example.com", "first_name": "Ada", "last_name": "L"},
    }
    assert action.subscribed(event)
    assert not action.subscribed({"type": "track", "event": "E"})
    [request] = action.run(event, crm.settings)
    assert request == {
        "action": "Upsert Contact",
        "method": "POST",
        "url": "https://crm.example/contacts",
        "headers": {"Content-Type": "application/json"},
        "body": {"email": "ada@example.com", "full_name": "Ada L", "plan": "free"},
    }


def test_an_action_beyond_the_quick_setup_is_enabled_by_name() -> None:
    from segemu.destinations.presets import ACTIONS

    extra = next(
        action
        for slug, actions in ACTIONS.items()
        if slug == "mixpanel"
        for action in actions.values()
        if action.name
        not in {
            a.name
            for a in load_destinations(
                load_config({"destinations": {"mixpanel": {}}}, env={}, discover=False)
            )[0].preset.actions
        }
    )
    [mixpanel] = load_destinations(
        load_config(
            {"destinations": {"mixpanel": {"actions": [{"name": extra.name}]}}},
            env={},
            discover=False,
        )
    )
    assert [a.action.name for a in mixpanel.actions] == [extra.name]
    assert mixpanel.actions[0].action.subscribe == extra.subscribe


def test_a_source_naming_an_undefined_destination_stops_start_up(tmp_path: Path) -> None:
    # The README's example once listed ga4 without defining it, and GA4 silently got nothing.
    (tmp_path / "segemu.toml").write_text(
        '[sources.web]\nwrite_key = "wk"\ndestinations = ["mixpanel", "ga4"]\n'
        "[destinations.mixpanel]\n"
    )
    with pytest.raises(ConfigError) as caught:
        create_emulator(load_config({"db": ":memory:"}, env={}, cwd=tmp_path))
    message = str(caught.value)
    assert "segemu.toml: [sources.web]: 'destinations' names 'ga4'" in message
    assert "add a [destinations.ga4] table (defined: mixpanel)" in message


def test_without_a_destinations_table_the_default_ones_can_be_named(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text(
        '[sources.web]\nwrite_key = "wk"\ndestinations = ["mixpanel", "ga4"]\n'
    )
    emulator = create_emulator(load_config({"db": ":memory:"}, env={}, cwd=tmp_path))
    assert {d.id for d in emulator.destinations.current} >= {"mixpanel", "ga4"}
