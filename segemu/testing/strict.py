"""The strict mode of the pytest plugin: a test fails if any call made with its write key
broke the tracking plan, even if it asserted nothing about it.

Strictness comes from the test's marker (`@pytest.mark.segemu(strict=True)`), else
`--segemu-strict` or the ini option `segemu_strict`, else the emulator's own config
(`[protocols] strict = true`).
"""

from __future__ import annotations

from typing import Any

from segemu.protocols.report import report


def strict_failure(fixture: Any, strict: bool | None) -> str | None:
    """The failure message for the calls of one fixture's write key, or None if the test
    passes (not strict, or no violations)."""
    # The hook runs outside the test's event loop: ask synchronously, the same question.
    emulator = getattr(fixture, "emulator", None)
    if emulator is not None:  # segemu_emulator: the Emulator is in this process
        if strict is None and not emulator.protocols.strict:
            return None  # not strict: skip reading the calls at all
        from segemu.testing.local import violations_now

        answer = violations_now(emulator, fixture.write_key)
    else:  # segemu, segemu_async: ask the server, with a plain sync client
        from segemu.testing.client import SegemuClient

        client = SegemuClient(fixture.url, fixture.write_key, before_read=fixture.before_read)
        answer = client.violations()
    if not (strict if strict is not None else answer["strict"]):
        return None
    entries = answer["events"]
    if not entries:
        return None
    total = sum(len(entry["violations"]) for entry in entries)
    return "\n".join(
        [
            f"strict mode: {len(entries)} call(s) of write key {fixture.write_key} broke the "
            f"tracking plan ({total} violation(s)):",
            *report(entries[::-1]),
            "Fix the calls or the plan, or turn strict mode off for this test with "
            "@pytest.mark.segemu(strict=False).",
        ]
    )
