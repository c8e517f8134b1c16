"""What one `segemu plan codegen` run writes: each job is a plan, a target and an output file,
from the command's options over the [codegen] config table, or from a Typewriter project's
typewriter.yml, so a Typewriter user can switch with one command.

typewriter.yml, as Typewriter writes it (segmentio/typewriter, its typewriter.yml and
tests/e2e/*/typewriter.yml): `client: {language, sdk}` and `trackingPlans: [{id,
workspaceSlug, path}]`, where `path` is the directory holding the plan.json Typewriter pulled
from the workspace and the client it generated (index.ts or index.js). segemu reads that
plan.json and writes the client in the same place; the token script is not needed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segemu.protocols.codegen import CodegenError, Target, drift, generate, read_plan
from segemu.protocols.plans import PlanError

SETTINGS = ("plan", "language", "sdk", "output", "validation")
# Typewriter's SDK names -> segemu's; languages it wrote that segemu writes too.
TYPEWRITER_SDKS = {"analytics.js": "analytics-next", "analytics-node": "analytics-node"}
TYPEWRITER_LANGUAGES = ("typescript", "javascript")


@dataclass(frozen=True, slots=True)
class Job:
    plan: Path
    target: Target
    output: Path | None  # None: standard output

    def render(self) -> str:
        tracking_plan, version = read_plan(self.plan)
        return generate(tracking_plan, self.target, version)

    def stale(self, text: str) -> str | None:
        """Why the output file is not `text`, or None when it is."""
        assert self.output is not None
        try:
            current = self.output.read_text(encoding="utf-8")
        except FileNotFoundError:
            return f"{self.output}: missing; run `segemu plan codegen` to write it"
        if current == text:
            return None
        return (
            f"{self.output}: out of date with {self.plan} ({drift(current, text).describe()}); "
            "run `segemu plan codegen` to write it again"
        )

    def write(self, text: str) -> str:
        assert self.output is not None
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.output.write_text(text, encoding="utf-8")
        return f"wrote {self.output} ({self.target.language}, {self.target.sdk}) from {self.plan}"


def job_from_settings(
    options: Mapping[str, Any], table: Mapping[str, Any], base: Path, origin: str
) -> Job:
    """Options (None when not given; paths relative to the working directory) over the
    [codegen] table (paths relative to the config file's directory)."""
    for key, value in table.items():
        if key not in SETTINGS:
            raise CodegenError(
                f"{origin}: unknown setting {key!r}; settings: {', '.join(SETTINGS)}"
            )
        if key == "validation":
            if not isinstance(value, bool):
                raise CodegenError(f"{origin}: validation must be true or false, got {value!r}")
        elif not isinstance(value, str) or not value:
            raise CodegenError(f"{origin}: {key} must be a non-empty string, got {value!r}")

    def pick(key: str) -> Any:
        return options.get(key) if options.get(key) is not None else table.get(key)

    plan = options.get("plan") or (base / table["plan"] if "plan" in table else None)
    if plan is None:
        raise CodegenError("no tracking plan: pass PLAN, or set plan in [codegen]")
    output = options.get("output") or (base / table["output"] if "output" in table else None)
    sdk = pick("sdk")
    language = pick("language") or ("python" if sdk == "analytics-python" else "typescript")
    try:
        target = Target.of(language, sdk, bool(pick("validation")))
    except CodegenError as exc:
        given = options.get("language") is not None or options.get("sdk") is not None
        raise CodegenError(str(exc) if given else f"{origin}: {exc}") from None
    return Job(Path(plan), target, Path(output) if output is not None else None)


def jobs_from_typewriter(path: Path, validation: bool) -> list[Job]:
    import yaml

    try:
        data = yaml.safe_load(path.read_bytes())
    except FileNotFoundError:
        raise CodegenError(f"{path}: Typewriter config not found") from None
    except (OSError, yaml.YAMLError) as exc:
        raise CodegenError(f"{path}: cannot read the Typewriter config: {exc}") from None
    client = data.get("client") if isinstance(data, dict) else None
    plans = data.get("trackingPlans") if isinstance(data, dict) else None
    if not isinstance(client, dict) or not isinstance(plans, list) or not plans:
        raise CodegenError(f"{path}: not a typewriter.yml: expected client: and trackingPlans:")
    language, sdk = client.get("language"), client.get("sdk")
    if language not in TYPEWRITER_LANGUAGES:
        raise CodegenError(
            f"{path}: client.language {language!r}: segemu writes "
            f"{', '.join(TYPEWRITER_LANGUAGES)} for Typewriter projects (and python)"
        )
    if sdk not in TYPEWRITER_SDKS:
        raise CodegenError(
            f"{path}: client.sdk {sdk!r}: segemu writes clients for {', '.join(TYPEWRITER_SDKS)}"
        )
    target = Target.of(str(language), TYPEWRITER_SDKS[str(sdk)], validation)
    jobs = []
    for n, entry in enumerate(plans):
        where = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(where, str) or not where:
            raise CodegenError(f"{path}: trackingPlans[{n}] has no path")
        directory = path.parent / where
        jobs.append(Job(directory / "plan.json", target, directory / f"index{target.suffix}"))
    return jobs


def watch_plans(jobs: list[Job], report: Callable[[str], None], interval: float) -> None:
    """Generate each job again when its plan file changes, until Ctrl-C; `report` gets one
    line per file written. A plan saved half written is reported, and the next save counts.
    Polling, as the emulator's plan reload does: no dependency, and quick enough for a save."""
    seen = {id(job): fingerprint([job.plan]) for job in jobs}
    # Said once the files are fingerprinted: a save after this line is never missed.
    report(f"watching {', '.join(sorted({str(job.plan) for job in jobs}))}")
    try:
        while True:
            time.sleep(interval)
            for job in jobs:
                now = fingerprint([job.plan])
                if now == seen[id(job)]:
                    continue
                seen[id(job)] = now
                try:
                    report(job.write(job.render()))
                except PlanError as exc:
                    report(f"not written: {exc}")
    except KeyboardInterrupt:
        return


def fingerprint(paths: Iterable[Path]) -> str:
    """Changes when any of the files changes (or appears, or goes): what --watch polls."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            digest.update(b"-")
            continue
        digest.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()


__all__ = ["Job", "fingerprint", "job_from_settings", "jobs_from_typewriter", "watch_plans"]
