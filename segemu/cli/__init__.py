"""The `segemu` command line: the commands (commands.py, plan.py) and what they print or run
(serve.py for the headless `segemu run`, tail.py, lines.py, gc.py, expect_file.py).

Importing this package stays cheap: each command imports what it uses when it runs.
"""

from __future__ import annotations

from segemu.cli.commands import cli
from segemu.cli.function import function
from segemu.cli.plan import plan
from segemu.cli.profiles import profiles

cli.add_command(plan)
cli.add_command(profiles)
cli.add_command(function)


def main() -> None:
    cli(prog_name="segemu")


__all__ = ["cli", "main"]
