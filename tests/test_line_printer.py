"""The line printer of the headless `segemu run` (segemu/cli/serve.py): one line per call, in
the order stored, written in batches; a reader that falls behind gets a count, not a backlog."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from segemu.cli.lines import format_line
from segemu.cli.serve import LinePrinter
from segemu.emulator import create_emulator
from segemu.message import Envelope, Record


def calls(count: int) -> list[Record]:
    emulator = create_emulator(db=":memory:")
    items = [
        {"type": "track", "event": f"Step {number}", "userId": "u", "messageId": f"m{number}"}
        for number in range(count)
    ]
    envelope = Envelope(
        route="/v1/batch", items=items, received_at=datetime.now(UTC), header_write_key="k"
    )
    return emulator.ingest(envelope)


def test_each_call_is_one_line_in_order() -> None:
    records = calls(5)
    out = io.StringIO()
    printer = LinePrinter(out)
    printer.add(records[:2])
    printer.add(records[2:])
    printer.write_out()
    assert out.getvalue() == "".join(f"{format_line(record)}\n" for record in records)
    assert '"Step 4"' in out.getvalue().splitlines()[-1]


def test_lines_past_the_bound_are_counted_not_kept() -> None:
    records = calls(7)
    out = io.StringIO()
    printer = LinePrinter(out)
    printer.MAX_PENDING = 4
    printer.add(records[:3])
    printer.add(records[3:6])  # room for one of the three
    printer.add(records[6:])  # no room
    printer.write_out()
    lines = out.getvalue().splitlines()
    assert lines[:4] == [format_line(record) for record in records[:4]]
    assert lines[4:] == [
        "... 3 more calls not printed (the output was not read fast enough); "
        "segemu events lists them"
    ]
    # Once written out, there is room again.
    printer.add(records[6:])
    printer.write_out()
    assert out.getvalue().splitlines()[-1] == format_line(records[6])
