"""The `segemu` command line: the commands (commands.py, plan.py) and what they print or run
(serve.py for the headless `segemu run`, tail.py, lines.py, gc.py, expect_file.py).

Importing this package stays cheap: each command imports what it uses when it runs.
"""

from __future__ import annotations

from segemu.cli.commands import cli
from segemu.cli.function import function
from segemu.cli.plan import plan
from segemu.cli.profiles import profiles
from segemu.cli.send import replay_command, send
from segemu.cli.transfer import export, import_
from segemu.cli.trigger import trigger

for command in (plan, profiles, function, send, trigger, replay_command, export, import_):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="segemu")


__all__ = ["cli", "main"]
