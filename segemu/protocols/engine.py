"""Protocols for the whole emulator: each source's tracking plan and schema configuration, the
lint rules, violation forwarding, and the reload of plan files while segemu runs.

The pipeline calls `check` once per accepted call, after the source is known and before the
call is stored. It leaves on the record what every surface shows and routing needs:
`violations`, `lint`, and `protocols` = {"blocked": reason or None, "omitted": [paths], ...};
`forwarded_event(record)` gives the event as destinations receive it. It returns the calls
Segment would forward because of this one, for the pipeline to run next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segemu.config import Config, ConfigError
from segemu.message import Envelope, Record, format_timestamp
from segemu.protocols.forwarding import (
    BLOCKED_ROUTE,
    FORWARDED_ROUTES,
    VIOLATION_ROUTE,
    blocked_event,
    violation_generated,
)
from segemu.protocols.lint import Linter, linter_from_table
from segemu.protocols.plans import PlanError, TrackingPlan, load_plan
from segemu.protocols.settings import SchemaSettings, build, flatten
from segemu.protocols.validate import check_event
from segemu.sources import Source, Sources

log = logging.getLogger("segemu.protocols")
# Seconds between two looks at the plan files' modification times.
RELOAD_INTERVAL = 1.0


class PlanSlot:
    """One plan file, shared by every source that names it; on a failed reload the last good
    plan stays in force and `error` says why."""

    def __init__(self, path: Path, plan: TrackingPlan) -> None:
        self.path = path
        self.plan = plan
        self.stamp = _stamp(path)
        self.error: str | None = None
        self.loaded_at = format_timestamp(datetime.now(UTC))

    def reload(self, force: bool = False) -> str | None:
        """Load the file again if it changed; returns what happened, or None if nothing did."""
        stamp = _stamp(self.path)
        if not force and stamp == self.stamp:
            return None
        self.stamp = stamp
        try:
            self.plan = load_plan(self.path)
        except PlanError as exc:
            self.error = str(exc)
            log.warning("tracking plan not reloaded, the last good one stays in force: %s", exc)
            return self.error
        self.error = None
        self.loaded_at = format_timestamp(datetime.now(UTC))
        message = f"tracking plan reloaded: {self.path} ({len(self.plan.rules)} rules)"
        log.info(message)
        return message

    def status(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "name": self.plan.name,
            "rules": len(self.plan.rules),
            "loadedAt": self.loaded_at,
            "error": self.error,
        }


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@dataclass(frozen=True, slots=True)
class Policy:
    slot: PlanSlot | None
    settings: SchemaSettings
    # The write key that "Violation Generated" calls are sent with, if forwarding is on.
    forward_to: str | None
    # The write key blocked calls are sent again with, if blocked event forwarding is on.
    forward_blocked_to: str | None = None


_NOTHING: dict[str, Any] = {
    "blocked": None,
    "omitted": [],
    "omittedOnViolation": [],
    "trackingPlan": None,
}


class Protocols:
    def __init__(self, config: Config, sources: Sources) -> None:
        origin = config.config_file or "settings"
        self._base = Path(config.config_file).parent if config.config_file else Path.cwd()
        top = config.sections.get("protocols", {})
        where = f"{origin}: [protocols]"
        if not isinstance(top, dict):
            raise ConfigError(f"{where} must be a table, got {top!r}")
        strict = top.get("strict", False)
        if not isinstance(strict, bool):
            raise ConfigError(f"{where}: 'strict' must be true or false, got {strict!r}")
        # The default of the pytest plugin's strict mode for tests against this emulator.
        self.strict = strict
        defaults = flatten(top, where, top_level=True)
        default_plan = self._plan_path(top.get("tracking_plan"), f"{where} tracking_plan")
        self.linter: Linter = linter_from_table(
            config.sections.get("lint", {}), f"{origin}: [lint]"
        )
        self._slots: dict[Path, PlanSlot] = {}
        self._policies: dict[str, Policy] = {}
        for source in sources.all:
            if sources.configured:
                table_where = f"{origin}: [sources.{source.name}.protocols]"
                plan_where = f"{origin}: [sources.{source.name}] tracking_plan"
            else:
                table_where, plan_where = where, f"{where} tracking_plan"
            values = {**defaults, **flatten(source.protocols, table_where, top_level=False)}
            plan_path = (
                self._plan_path(source.tracking_plan, plan_where)
                if source.tracking_plan
                else default_plan
            )
            slot = self._slot(plan_path, plan_where) if plan_path is not None else None
            settings = build(values)
            forward_to = forward_blocked_to = None
            if settings.forward_violations_to is not None:
                forward_to = _write_key_of(
                    settings.forward_violations_to, sources, table_where, "forwardingViolationsTo"
                )
            if settings.forward_blocked_to is not None:
                forward_blocked_to = _write_key_of(
                    settings.forward_blocked_to, sources, table_where, "forwardingBlockedEventsTo"
                )
            self._policies[source.name] = Policy(slot, settings, forward_to, forward_blocked_to)
        self._watcher: asyncio.Task[None] | None = None

    def _plan_path(self, value: Any, where: str) -> Path | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: must be the path of a tracking plan file, got {value!r}")
        path = Path(value).expanduser()
        return path if path.is_absolute() else self._base / path

    def _slot(self, path: Path, where: str) -> PlanSlot:
        slot = self._slots.get(path)
        if slot is None:
            try:
                slot = self._slots[path] = PlanSlot(path, load_plan(path))
            except PlanError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        return slot

    # -- the pipeline stage --------------------------------------------------------------

    def check(self, record: Record, source: Source) -> list[Envelope]:
        """Validate and lint one accepted call; leaves the verdicts on the record and returns
        the calls to forward: one "Violation Generated" call per violation to the source named
        by forwardingViolationsTo (DOCS protocols/validate/forward-violations.md), and the
        call itself, if blocked, to the source named by forwardingBlockedEventsTo."""
        if record["route"] in FORWARDED_ROUTES:
            record["violations"], record["lint"], record["protocols"] = [], [], dict(_NOTHING)
            return []
        policy = self._policies.get(source.name)
        if policy is None or policy.slot is None:
            # No tracking plan (the default): nothing to validate, block or forward; only the
            # lint rules. Every call of such a source comes this way, so it is kept short.
            record["violations"] = []
            record["protocols"] = {
                "blocked": None,
                "omitted": [],
                "omittedOnViolation": [],
                "trackingPlan": None,
            }
            try:
                record["lint"] = self.linter.run(record)
            except Exception:  # a bug in a rule must not lose the call: keep it, say so
                log.exception("linting record %s failed", record["id"])
                record["lint"] = []
            return []
        plan = policy.slot.plan
        try:
            outcome = check_event(
                plan, policy.settings.for_call(record["type"] or ""), record["event"]
            )
        except Exception:  # a bug here must not lose the call: keep it, say so in the log
            log.exception("checking record %s against the tracking plan failed", record["id"])
            record["violations"], record["protocols"] = [], dict(_NOTHING)
            self._lint(record)
            return []
        record["violations"] = outcome.violations
        record["protocols"] = {
            "blocked": outcome.blocked,
            "omitted": outcome.omitted,
            "omittedOnViolation": outcome.omitted_on_violation,
            "trackingPlan": plan.name,
        }
        self._lint(record)
        forwarded: list[Envelope] = []
        if outcome.violations and policy.forward_to is not None:
            calls = [
                violation_generated(record, violation, plan.name)
                for violation in outcome.violations
            ]
            forwarded.append(_forwarded(calls, policy.forward_to, VIOLATION_ROUTE))
        if outcome.blocked is not None and policy.forward_blocked_to is not None:
            forwarded.append(
                _forwarded([blocked_event(record)], policy.forward_blocked_to, BLOCKED_ROUTE)
            )
        return forwarded

    def _lint(self, record: Record) -> None:
        try:
            record["lint"] = self.linter.run(record)
        except Exception:  # a bug in a rule must not lose the call: keep it, say so in the log
            log.exception("linting record %s failed", record["id"])
            record["lint"] = []

    # -- plans ---------------------------------------------------------------------------

    def plans(self) -> list[dict[str, Any]]:
        """Each plan file in use, and which sources use it."""
        described = []
        for slot in self._slots.values():
            users = [name for name, policy in self._policies.items() if policy.slot is slot]
            described.append({**slot.status(), "sources": users})
        return described

    def plan_for(self, source_name: str) -> TrackingPlan | None:
        policy = self._policies.get(source_name)
        return policy.slot.plan if policy is not None and policy.slot is not None else None

    def settings_for(self, source_name: str) -> SchemaSettings:
        policy = self._policies.get(source_name)
        return policy.settings if policy is not None else SchemaSettings()

    def reload(self, force: bool = False) -> list[str]:
        """Reload changed plan files (every one with `force`); returns what happened."""
        return [
            message for slot in self._slots.values() if (message := slot.reload(force)) is not None
        ]

    def start(self) -> None:
        if self._watcher is None and self._slots:
            self._watcher = asyncio.create_task(self._watch(), name="segemu-plan-reload")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    async def _watch(self) -> None:
        # Polling modification times: no dependency, and a second is quick enough for a
        # developer who just saved the file.
        while True:
            await asyncio.sleep(RELOAD_INTERVAL)
            try:
                self.reload()
            except Exception:  # never let the watcher die: the next save must still count
                log.exception("reloading tracking plans failed")

    def reset(self, write_key: str | None = None) -> None:
        self.linter.reset(write_key)

    def describe(self) -> dict[str, Any]:
        return {"strict": self.strict, "plans": self.plans(), "lint": self.linter.describe()}


def _forwarded(calls: list[Any], write_key: str, route: str) -> Envelope:
    """Calls Protocols makes itself, as one request of the source they go to."""
    return Envelope(
        route=route,
        items=calls,
        received_at=datetime.now(UTC),
        header_write_key=write_key,
        forwarded=True,
    )


def _write_key_of(target: str, sources: Sources, where: str, setting: str) -> str:
    """The write key of the source calls are forwarded to. With no [sources], every write key
    belongs to the catch-all source, so the name is used as the write key."""
    if not sources.configured:
        return target
    for source in sources.all:
        if source.name == target and source.write_key:
            return source.write_key
    names = ", ".join(repr(source.name) for source in sources.all)
    raise ConfigError(
        f"{where}: '{setting}' names no configured source: {target!r}; sources: {names}"
    )
