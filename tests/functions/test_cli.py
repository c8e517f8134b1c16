"""`segemu function run`: one function on one input, printed as Segment's "Test function"
panel shows it (segment-docs source-functions.md §Test the source function,
destination-functions.md §Test the destination function)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from segemu.cli import cli
from tests.functions.conftest import FIXTURES


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["function", "run", *args])
    return result.exit_code, result.output


def test_a_source_function_prints_the_calls_it_emitted() -> None:
    code, output = run(
        str(FIXTURES / "stripe.js"), "--request", str(FIXTURES / "stripe-charge.json")
    )
    assert code == 0, output
    assert output.splitlines()[1:] == [
        "Emitted calls (1):",
        '  {"event": "Order Completed", "userId": "cus_OTdmgqh7Yr0R1s", "properties": '
        '{"order_id": "ch_3Ngf8B2eZvKYlo2C", "revenue": 49.99, "currency": "USD"}, '
        '"context": {"source": "stripe"}, "type": "track"}',
        "Logs:",
        "  log: stripe event charge.succeeded evt_3Ngf8B2eZvKYlo2C",
        "Outcome: success",
    ]


def test_a_destination_function_prints_its_requests_and_error(tmp_path: Path) -> None:
    event = tmp_path / "identify.json"
    event.write_text(json.dumps({"type": "identify", "userId": "u1", "traits": {}}))
    code, output = run(
        str(FIXTURES / "crm.js"), "--event", str(event), "--setting", "url=https://crm.test"
    )
    assert code == 1
    assert output.splitlines()[-1] == (
        "Outcome: failed: Message Rejected: InvalidEventPayload: an email trait is required "
        "(line 33)"
    )
    event.write_text(json.dumps({"type": "track", "event": "Order Completed", "userId": "u1"}))
    code, output = run(
        str(FIXTURES / "crm.js"), "--event", str(event), "--settings", '{"url": "https://crm.test"}'
    )
    assert code == 0, output
    assert "  POST https://crm.test/events -> 200 (default)" in output.splitlines()


def test_json_output_and_an_insert_functions_return_value(tmp_path: Path) -> None:
    event = tmp_path / "track.json"
    event.write_text(json.dumps({"type": "track", "event": "Signed Up", "properties": {}}))
    code, output = run(str(FIXTURES / "mask-email.js"), "--event", str(event), "--json")
    assert code == 0, output
    outcome = json.loads(output)
    assert outcome["outcome"] == "delivered"
    assert outcome["returned"]["properties"] == {"masked_by": "insert function"}


def test_a_syntax_error_is_shown_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.js"
    broken.write_text("async function onTrack(event) {\n  return {\n}\n")
    event = tmp_path / "e.json"
    event.write_text("{}")
    code, output = run(str(broken), "--event", str(event))
    assert code == 1
    assert output.strip() == f"{broken.resolve()}:4: SyntaxError: Unexpected end of input"


def test_needs_exactly_one_input() -> None:
    code, output = run(str(FIXTURES / "crm.js"))
    assert code == 2
    assert "give one of --request (a Source Function) or --event" in output
