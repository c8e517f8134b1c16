"""`segemu plan`: infer a tracking plan, check calls against one, lint calls.

Each command builds what it checks with the same code `segemu run` uses: `plan check` and
`plan lint FILE` run the calls through an in-memory emulator, so they report exactly what the
running emulator would. Exit status: 0 when clean, 1 on violations (or lint findings), 2 on
a mistake in the command (a missing file, a malformed plan).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

import click

from segemu.config import DEFAULT_URL, ConfigError, load_config

if TYPE_CHECKING:
    from segemu.config import Config
    from segemu.message import Record

P = ParamSpec("P")
CHECK_WRITE_KEY = "segemu-plan-check"
CHECK_BATCH = 500


class PlanCommandError(click.ClickException):
    """A mistake in the command's input: exit status 2, as click's usage errors."""

    exit_code = 2


def _errors_named(function: Callable[P, None]) -> Callable[P, None]:
    """Config, plan and file mistakes become one line and exit status 2, never a traceback."""
    import functools

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        from segemu.protocols.plans import PlanError
        from segemu.protocols.report import CallsFileError
        from segemu.testing.calls import ControlApiError

        try:
            return function(*args, **kwargs)
        except (ConfigError, PlanError, CallsFileError, ControlApiError) as exc:
            raise PlanCommandError(str(exc)) from None

    return wrapper


@click.group(name="plan")
def plan() -> None:
    """Tracking plans: infer one from calls, check calls against one, lint calls, generate a
    typed tracking client from one."""


def _config_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_file",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Config file (TOML).  [default: ./segemu.toml or [tool.segemu] in ./pyproject.toml]",
    )(function)


def _events_source(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--write-key", "-k", metavar="KEY", help="Only this source's stored calls."
    )(function)
    return click.option(
        "--url",
        envvar="SEGEMU_URL",
        default=DEFAULT_URL,
        show_default=True,
        metavar="URL",
        help="The running segemu whose stored calls are read, when no FILE "
        "is given (env SEGEMU_URL).",
    )(function)


def _stored(url: str, write_key: str | None) -> list[Record]:
    """Accepted stored calls of a running segemu, in arrival order."""
    from segemu.testing.client import SegemuClient

    return SegemuClient(url, write_key).events("status:accepted")


# -- infer ---------------------------------------------------------------------------------------


@plan.command()
@click.argument(
    "events_files", nargs=-1, metavar="[FILE]...", type=click.Path(dir_okay=False, path_type=Path)
)
@_events_source
@click.option(
    "-o",
    "--output",
    metavar="PLAN",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the plan here: .yaml/.yml in the authoring format, .json in "
    "Segment's format.  [default: YAML on standard output]",
)
@click.option(
    "--format",
    "plan_format",
    type=click.Choice(["yaml", "segment"]),
    help="Override the format the output's name implies.",
)
@click.option(
    "--name", default="Inferred tracking plan", show_default=True, help="The plan's name."
)
@_errors_named
def infer(
    events_files: tuple[Path, ...],
    url: str,
    write_key: str | None,
    output: Path | None,
    plan_format: str | None,
    name: str,
) -> None:
    """Write a tracking plan that the calls in the FILEs (JSON Lines, a JSON array or a
    batch), or the calls stored in a running segemu, all satisfy."""
    from segemu.protocols.infer import infer_plan

    if events_files:
        events: list[Any] = [c for c in _read(events_files) if isinstance(c, dict)]
        origin = ", ".join(map(str, events_files))
    else:
        events = [record["event"] for record in _stored(url, write_key)]
        origin = url
    if not events:
        raise PlanCommandError(f"{origin}: no calls to infer a plan from")
    authored = infer_plan(events, name)
    if plan_format is None:
        plan_format = "segment" if output is not None and output.suffix == ".json" else "yaml"
    text = _render(authored, plan_format)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    counts = ", ".join(
        f"{len(authored[k])} {k}" for k in ("track", "page", "screen") if k in authored
    )
    traits = [k for k in ("identify", "group") if k in authored]
    click.echo(
        f"wrote {output} from {len(events):,} calls: {counts or 'no named calls'}"
        + (f", {' and '.join(traits)} traits" if traits else ""),
        err=True,
    )


def _read(paths: tuple[Path, ...]) -> list[Any]:
    from segemu.protocols.report import read_calls

    return [call for path in paths for call in read_calls(path)]


def _render(authored: Mapping[str, Any], plan_format: str) -> str:
    if plan_format == "segment":
        from segemu.protocols.authoring import compile_plan

        document = {"name": authored.get("name"), "rules": compile_plan(authored)}
        return json.dumps(document, indent=2) + "\n"
    import yaml

    return str(yaml.safe_dump(dict(authored), sort_keys=False, allow_unicode=True))


# -- check ---------------------------------------------------------------------------------------


@plan.command()
@click.argument(
    "events_files",
    nargs=-1,
    required=True,
    metavar="FILE...",
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--plan",
    "plan_file",
    metavar="PLAN",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The tracking plan.  [default: the config's, see --source]",
)
@click.option(
    "--source",
    metavar="NAME",
    help="Use this source's tracking plan and schema configuration from the config. "
    " [default: [protocols] tracking_plan]",
)
@_config_option
@click.option("--lint", "with_lint", is_flag=True, help="Show lint findings too.")
@click.option("--json", "as_json", is_flag=True, help="Print the checked records as JSON.")
@_errors_named
def check(
    events_files: tuple[Path, ...],
    plan_file: Path | None,
    source: str | None,
    config_file: str | None,
    with_lint: bool,
    as_json: bool,
) -> None:
    """Check the calls in the FILEs against a tracking plan; exit status 1 if any breaks it.
    A FILE holds JSON Lines, a JSON array, a batch, or `segemu events --json` output."""
    from segemu.protocols.report import report

    config = load_config({}, config_file=config_file)
    protocols = _protocols_table(config, source, plan_file)
    if "tracking_plan" not in protocols:
        raise PlanCommandError(
            "no tracking plan: pass --plan PLAN, or set tracking_plan in "
            "[protocols] (or in the [sources.<name>] given with --source)"
        )
    records = _ingest(config, {"protocols": protocols}, _read(events_files))
    broken = [r for r in records if r.get("violations")]
    if as_json:
        click.echo(json.dumps(records, indent=2))
    else:
        checked = sum(1 for r in records if r["status"] == "accepted")
        plan_name = next(
            (r["protocols"]["trackingPlan"] for r in records if r.get("protocols")), "the plan"
        )
        for line in report(records, lint=with_lint):
            click.echo(line)
        rejected = [r for r in records if r["status"] == "rejected"]
        for record in rejected:
            click.echo(f"  #{record['id']} not checked: Segment would drop it ({record['reason']})")
        total = sum(len(r["violations"]) for r in broken)
        kinds = Counter(v["type"] for r in broken for v in r["violations"])
        detail = f" ({', '.join(f'{n} {k}' for k, n in kinds.most_common())})" if kinds else ""
        from segemu.cli.term import echo_styled

        echo_styled(
            f"{checked} call(s) checked against {plan_name!r}: {len(broken)} with "
            f"violations, {total} violation(s){detail}",
            "bold red" if broken else "bold green",
        )
    sys.exit(1 if broken else 0)


def _protocols_table(config: Config, source: str | None, plan_file: Path | None) -> dict[str, Any]:
    """[protocols], with the chosen source's plan and settings over it, and --plan over all."""
    table: dict[str, Any] = dict(config.sections.get("protocols", {}))
    base = Path(config.config_file).parent if config.config_file else Path.cwd()
    if "tracking_plan" in table:
        table["tracking_plan"] = str(base / str(table["tracking_plan"]))
    if source is not None:
        sources = config.sections.get("sources", {})
        entry = sources.get(source)
        if not isinstance(entry, dict):
            known = ", ".join(sources) or "none"
            raise PlanCommandError(
                f"--source {source!r}: no [sources.{source}] in the config (sources: {known})"
            )
        table.update(entry.get("protocols") or {})
        if entry.get("tracking_plan"):
            table["tracking_plan"] = str(base / str(entry["tracking_plan"]))
    table.pop("forwardingViolationsTo", None)  # nothing to forward to in a check
    if plan_file is not None:
        table["tracking_plan"] = str(plan_file.resolve())
    return table


def _ingest(config: Config, sections: Mapping[str, Any], calls: list[Any]) -> list[Record]:
    """The calls, run through an in-memory emulator as if an SDK had sent them."""
    from datetime import UTC, datetime

    from segemu.emulator import create_emulator
    from segemu.message import Envelope

    settings = {"lint": config.sections.get("lint", {}), **sections}
    emulator = create_emulator(db=":memory:", **settings)
    records: list[Record] = []
    try:
        # In batches of at most CHECK_BATCH: a batch over 2,500 calls is dropped whole.
        for start in range(0, len(calls), CHECK_BATCH):
            records += emulator.ingest(
                Envelope(
                    route="/v1/batch",
                    items=calls[start : start + CHECK_BATCH],
                    received_at=datetime.now(UTC),
                    header_write_key=CHECK_WRITE_KEY,
                )
            )
    finally:
        emulator.store.close()
    return records


# -- lint ----------------------------------------------------------------------------------------


@plan.command()
@click.argument(
    "events_files", nargs=-1, metavar="[FILE]...", type=click.Path(dir_okay=False, path_type=Path)
)
@_events_source
@_config_option
@click.option(
    "--rule", "rules", multiple=True, metavar="ID", help="Run only this rule (repeatable)."
)
@click.option("--list", "list_rules", is_flag=True, help="List the rules and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@_errors_named
def lint(
    events_files: tuple[Path, ...],
    url: str,
    write_key: str | None,
    config_file: str | None,
    rules: tuple[str, ...],
    list_rules: bool,
    as_json: bool,
) -> None:
    """Run the lint rules over the calls stored in a running segemu (or in the FILEs), oldest
    first; exit status 1 if any rule fires. Switches come from the config's [lint] table."""
    from segemu.protocols.lint import RULE_IDS, linter_from_table

    config = load_config({}, config_file=config_file)
    origin = f"{config.config_file or 'settings'}: [lint]"
    table: dict[str, Any] = dict(config.sections.get("lint", {}))
    for rule in rules:
        if rule not in RULE_IDS:
            raise PlanCommandError(f"--rule {rule!r}: no such rule; rules: {', '.join(RULE_IDS)}")
    if rules:
        table.update({rule_id: rule_id in rules for rule_id in RULE_IDS})
    linter = linter_from_table(table, origin)
    if list_rules:
        for described in linter.describe():
            state = "on " if described["enabled"] else "off"
            click.echo(f"{state}  {described['id']:<28} {described['doc']}")
        return
    if events_files:
        records = [
            r
            for r in _ingest(config, {"lint": table}, _read(events_files))
            if r["status"] == "accepted"
        ]
        findings = {r["id"]: r.get("lint") or [] for r in records}
    else:
        records = _stored(url, write_key)
        findings = {r["id"]: linter.run(r) for r in records}
    _print_findings(records, findings, as_json)
    sys.exit(1 if any(findings.values()) else 0)


def _print_findings(
    records: list[Record], findings: Mapping[int, list[Any]], as_json: bool
) -> None:
    from segemu.protocols.report import name_of

    if as_json:
        click.echo(
            json.dumps(
                [
                    {"id": r["id"], "messageId": r["messageId"], "lint": findings[r["id"]]}
                    for r in records
                    if findings[r["id"]]
                ],
                indent=2,
            )
        )
        return
    by_rule: dict[str, list[str]] = {}
    for record in records:
        for finding in findings[record["id"]]:
            by_rule.setdefault(finding["rule"], []).append(
                f"  {name_of(record)}: {finding['message']}"
            )
    for rule, lines in by_rule.items():
        click.echo(f"{rule} ({len(lines)}):")
        for line in lines:
            click.echo(line)
    total = sum(len(lines) for lines in by_rule.values())
    click.echo(
        f"{len(records)} call(s) linted: {total} finding(s)"
        + (f" from {len(by_rule)} rule(s)" if by_rule else "")
    )


# -- export --------------------------------------------------------------------------------------


@plan.command()
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of standard output.",
)
@_errors_named
def export(plan_file: Path, output: Path | None) -> None:
    """Print a tracking plan (in any format segemu reads) in Segment's format: the rules the
    Public API takes (PUT /tracking-plans/{id}/rules)."""
    from segemu.protocols.plans import load_plan

    text = json.dumps(load_plan(plan_file).to_segment(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


# -- codegen -------------------------------------------------------------------------------------

WATCH_INTERVAL = 0.5  # seconds between two looks at the plan files; saving one is seen in time


@plan.command()
@click.argument(
    "plan_file", required=False, metavar="[PLAN]", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--language",
    "-l",
    type=click.Choice(["typescript", "javascript", "python"]),
    help="JavaScript has JSDoc types.  [default: typescript]",
)
@click.option(
    "--sdk",
    type=click.Choice(["analytics-node", "analytics-next", "analytics-python"]),
    help="The SDK the client sends through.  [default: analytics-node for TypeScript]",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the client here.  [default: the config's, else standard output]",
)
@click.option(
    "--validation/--no-validation",
    default=None,
    help="Check each call against the plan at run time, in development builds, and call "
    "onViolation (Python: set_on_violation).  [default: off]",
)
@click.option(
    "--typewriter",
    "typewriter_file",
    is_flag=False,
    flag_value="typewriter.yml",
    metavar="[FILE]",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Take the language, SDK and plans of a Typewriter project from its typewriter.yml "
    "(each plan's plan.json), and write each client where Typewriter did.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit status 1 if an output file is not what its plan generates.",
)
@click.option("--watch", is_flag=True, help="Generate again each time a plan file changes.")
@_config_option
@_errors_named
def codegen(
    plan_file: Path | None,
    language: str | None,
    sdk: str | None,
    output: Path | None,
    validation: bool | None,
    typewriter_file: Path | None,
    check: bool,
    watch: bool,
    config_file: str | None,
) -> None:
    """Generate a typed tracking client from a tracking plan (any format segemu reads): one
    function per planned event, typed identify and group traits. Settings not given as
    options come from [codegen] in the config (plan, language, sdk, output, validation)."""
    from segemu.protocols.codegen import CodegenError
    from segemu.protocols.codegen.jobs import job_from_settings, jobs_from_typewriter

    if check and watch:
        raise PlanCommandError("--check and --watch do not go together")
    try:
        if typewriter_file is not None:
            jobs = jobs_from_typewriter(typewriter_file, bool(validation))
        else:
            config = load_config({}, config_file=config_file)
            base = Path(config.config_file).parent if config.config_file else Path.cwd()
            options = {
                "plan": plan_file,
                "language": language,
                "sdk": sdk,
                "output": output,
                "validation": validation,
            }
            table = config.sections.get("codegen", {})
            jobs = [job_from_settings(options, table, base, f"{config.config_file}: [codegen]")]
    except CodegenError as exc:
        raise PlanCommandError(str(exc)) from None
    if check:
        if any(job.output is None for job in jobs):
            raise PlanCommandError("--check needs the file to compare: pass -o or set output")
        problems = [problem for job in jobs if (problem := job.stale(job.render()))]
        for problem in problems:
            click.echo(problem, err=True)
        if problems:
            sys.exit(1)
        for job in jobs:
            click.echo(f"{job.output}: up to date with {job.plan}", err=True)
        return
    for job in jobs:
        if job.output is None:
            if watch:
                raise PlanCommandError("--watch needs a file to write: pass -o or set output")
            click.echo(job.render(), nl=False)
        else:
            click.echo(job.write(job.render()), err=True)
    if watch:
        from segemu.protocols.codegen.jobs import watch_plans

        watch_plans(jobs, lambda line: click.echo(line, err=True), WATCH_INTERVAL)
