"""Typed tracking clients from a tracking plan: what Segment's Typewriter generated, for
TypeScript and JavaScript with JSDoc types (analytics-node, analytics-next) and Python
(segment-analytics-python).

`model.py` reads the plan into language-neutral types; each language module (typescript.py with
typescript_sdk.py, javascript.py, python.py) only prints them, with the runtime validator of
validator_js.py or validator_py.py when asked; `header.py` stamps each file with the plan's
name, version and hash and lets `--check` say which calls drifted; `jobs.py` says what one run
writes, from the settings or a typewriter.yml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from segemu.protocols.codegen import javascript, python, typescript
from segemu.protocols.codegen.header import Drift, drift
from segemu.protocols.codegen.model import plan_version
from segemu.protocols.plans import PlanError, TrackingPlan, parse_file, plan_from_data

# language -> (the SDKs it targets, the default first; the file suffix)
LANGUAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "typescript": (typescript.SDKS, ".ts"),
    "javascript": (javascript.SDKS, ".js"),
    "python": (python.SDKS, ".py"),
}


class CodegenError(ValueError):
    """A codegen setting that cannot be used: the message names it."""


@dataclass(frozen=True, slots=True)
class Target:
    language: str
    sdk: str
    # The generated client checks each call against the plan in development builds.
    validation: bool = False

    @classmethod
    def of(cls, language: str, sdk: str | None, validation: bool = False) -> Target:
        if language not in LANGUAGES:
            raise CodegenError(
                f"language {language!r} is not one codegen writes; languages: "
                f"{', '.join(LANGUAGES)}"
            )
        sdks = LANGUAGES[language][0]
        if sdk is None:
            sdk = sdks[0]
        if sdk not in sdks:
            raise CodegenError(
                f"sdk {sdk!r} is not one the {language} client targets; sdks: {', '.join(sdks)}"
            )
        return cls(language, sdk, validation)

    @property
    def suffix(self) -> str:
        return LANGUAGES[self.language][1]


def read_plan(path: Path) -> tuple[TrackingPlan, str | None]:
    """The plan in any format segemu reads, and the version its file states."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(f"{path}: tracking plan file not found") from None
    except OSError as exc:
        raise PlanError(f"{path}: cannot read the tracking plan: {exc.strerror or exc}") from None
    parsed = parse_file(data, path)
    return plan_from_data(parsed, str(path), path.stem), plan_version(parsed)


def generate(plan: TrackingPlan, target: Target, version: str | None = None) -> str:
    if target.language == "python":
        return python.generate(plan, version, target.sdk, target.validation)
    if target.language == "javascript":
        return javascript.generate(plan, version, target.sdk, target.validation)
    return typescript.generate(plan, version, target.sdk, target.validation)


__all__ = ["LANGUAGES", "CodegenError", "Drift", "Target", "drift", "generate", "read_plan"]
