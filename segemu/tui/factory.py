"""The one way to build the inspector: `segemu run`, `segemu tui --url` and the tests (pilot and
snapshot alike) all go through here, as posting's make_posting is shared by its CLI and its
snapshot app."""

from __future__ import annotations

from collections.abc import Sequence

from segemu.expectations import Expectation
from segemu.tui.app import InspectorApp
from segemu.tui.backend import Backend
from segemu.tui.checks import Checks


def create_app(
    backend: Backend,
    *,
    expectations: Sequence[Expectation] = (),
    expect_file: str | None = None,
    columns: tuple[str, ...] | None = None,
) -> InspectorApp:
    """`columns`: the event table's columns (segemu/tui/columns.py); None shows every one
    whose capability is on."""
    return InspectorApp(
        backend,
        checks=Checks(expectations),
        expect_file=expect_file,
        columns=columns,
        retention=backend.retention,
    )
