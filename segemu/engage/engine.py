"""Engage, live: each call updates its profile's computed traits and audience memberships, and
a profile that enters or leaves an audience makes Engage send calls of its own.

`Engage.observe(profile, record, now)` is the whole of the real-time path: it runs once per
accepted call, after identity resolution has said which profile the call belongs to. `now` is
the call's receivedAt, so a test that chooses when its calls are received (Envelope.received_at)
controls the clock. Time also passes between calls: a member of "ordered in the last 30 days"
leaves when the 30 days are over, whether or not a call arrives. `Engage.tick(now)` applies
what the clock changed since; the emulator calls it every second with the wall clock, and a
test calls it with the moment it wants.

What Engage sends (segment-docs engage/using-engage-data.md §Audience generated events): an
identify call with the trait `<audience_key>: true` on entering and `false` on leaving, and/or
a track call "Audience Entered" / "Audience Exited" with the properties `audience_key` and
`<audience_key>`. Both carry `context.personas` (computation_class, computation_key,
computation_id, space_id), which action-destinations reads to recognise Engage's calls
(e.g. packages/destination-actions/src/destinations/responsys/sendAudience tests).
"""

from __future__ import annotations

import heapq
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from segemu.engage.config import (
    COUNTER,
    Audience,
    ComputedTrait,
    EngageConfig,
)
from segemu.engage.traits import TraitState
from segemu.message import Record, format_timestamp, parse_timestamp

# The route of the calls Engage makes: they are not computed over again (an audience's own
# identify call must not count towards anything).
ENGAGE_ROUTE = "(Engage: audience sync)"
ENTERED = "Audience Entered"
EXITED = "Audience Exited"
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class ProfileFacts:
    """What Engage reads of a profile besides its calls: identity resolution's answer."""

    segment_id: str
    # Custom traits, merged from identify calls.
    traits: Mapping[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    anonymous_id: str | None = None
    # A user_id, email, ios.idfa or android.idfa: a known user (audiences/index.md).
    known: bool = False
    space: str = "default"


@dataclass(slots=True)
class ProfileState:
    """Engage's state of one profile: each computed trait's and each performed condition's
    running state, the values last computed and the audiences the profile is a member of."""

    traits: dict[str, TraitState] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    audiences: dict[str, bool] = field(default_factory=dict)
    # When the oldest call of a windowed state leaves its window (Engage.tick).
    due: float | None = None
    facts: ProfileFacts | None = None


@dataclass(slots=True)
class Outcome:
    """What one call (or the clock) changed on one profile."""

    segment_id: str
    # key -> the new value, for the computed traits whose value changed.
    computed: dict[str, Any] = field(default_factory=dict)
    entered: list[str] = field(default_factory=list)
    exited: list[str] = field(default_factory=list)
    # The calls Engage sends because of it, one list per audience (each goes to that
    # audience's destinations).
    calls: list[tuple[Audience, list[dict[str, Any]]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.computed or self.entered or self.exited)

    def describe(self) -> dict[str, Any]:
        """As stored on the call's record (`engage`)."""
        found: dict[str, Any] = {}
        if self.computed:
            found["computedTraits"] = self.computed
        if self.entered:
            found["entered"] = self.entered
        if self.exited:
            found["exited"] = self.exited
        return found


class Engage:
    def __init__(self, config: EngageConfig) -> None:
        self.config = config
        self._traits = config.computed_traits
        # Each performed-event condition is counted like an event counter with its window.
        self._performed: list[tuple[Audience, int, ComputedTrait]] = [
            (
                audience,
                n,
                ComputedTrait(
                    key=f"{audience.key}#{n}",
                    type=COUNTER,
                    condition=performed.condition,
                    window=performed.within,
                ),
            )
            for audience in config.audiences
            for n, performed in enumerate(audience.performed)
        ]
        self._counted = (*self._traits, *(trait for _, _, trait in self._performed))
        self.profiles: dict[str, ProfileState] = {}
        # (when, segment_id): profiles whose windows change then; stale entries are skipped.
        self._due: list[tuple[float, str]] = []

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    # -- the real-time path --------------------------------------------------------------

    def observe(self, facts: ProfileFacts, record: Record | None, now: datetime) -> Outcome:
        """Count one accepted call (None: only re-evaluate, e.g. after a trait changed) and
        evaluate the profile's computed traits and audiences at `now`."""
        state = self.profiles.get(facts.segment_id)
        if state is None:
            state = self.profiles[facts.segment_id] = ProfileState()
        state.facts = facts
        if record is not None and record.get("route") != ENGAGE_ROUTE:
            moment = _moment(record)
            for trait in self._counted:
                if trait.condition.matches(record):
                    found, value = trait.read(record) if trait.read is not None else (False, None)
                    state.traits.setdefault(trait.key, TraitState()).add(
                        trait, moment, value, found
                    )
        return self._evaluate(facts, state, now.timestamp())

    def merge(self, merged: str, into: str) -> None:
        """Profile `merged` became part of `into` (identity resolution merged them)."""
        gone = self.profiles.pop(merged, None)
        if gone is None:
            return
        state = self.profiles.setdefault(into, ProfileState())
        for trait in self._counted:
            theirs = gone.traits.get(trait.key)
            if theirs is not None:
                state.traits.setdefault(trait.key, TraitState()).merge(trait, theirs)
        # Memberships: the surviving profile's stand; the next evaluation sends what changed.
        for key, member in gone.audiences.items():
            state.audiences.setdefault(key, member)
        for key, value in gone.values.items():
            state.values.setdefault(key, value)

    def tick(self, now: datetime) -> list[Outcome]:
        """Apply what the clock changed: windows that calls left since, for every profile
        concerned (only those: a heap orders them by when they are due)."""
        moment = now.timestamp()
        outcomes: list[Outcome] = []
        seen: set[str] = set()
        while self._due and self._due[0][0] <= moment:
            _, segment_id = heapq.heappop(self._due)
            state = self.profiles.get(segment_id)
            if segment_id in seen or state is None or state.facts is None:
                continue
            if state.due is None or state.due > moment:
                continue  # stale: the profile's windows moved on since
            seen.add(segment_id)
            outcome = self._evaluate(state.facts, state, moment)
            if outcome:
                outcomes.append(outcome)
        return outcomes

    # -- what profiles show --------------------------------------------------------------

    def traits_of(self, segment_id: str) -> dict[str, Any]:
        """The profile's computed traits and audience memberships, as the Profile API shows
        them among its traits (computed-traits.md §Accessing your Computed Traits using the
        Profiles API; audiences/index.md §Access your Audiences using the Profiles API)."""
        state = self.profiles.get(segment_id)
        if state is None:
            return {}
        return {**state.values, **state.audiences}

    def computed_traits_of(self, segment_id: str) -> dict[str, Any]:
        state = self.profiles.get(segment_id)
        return {} if state is None else dict(state.values)

    def audiences_of(self, segment_id: str) -> dict[str, bool]:
        """Every audience the profile was ever evaluated for: True for a member."""
        state = self.profiles.get(segment_id)
        return {} if state is None else dict(state.audiences)

    def members(self, audience_key: str) -> list[str]:
        return [sid for sid, state in self.profiles.items() if state.audiences.get(audience_key)]

    def forget(self) -> None:
        self.profiles.clear()
        self._due.clear()

    # -- evaluation ----------------------------------------------------------------------

    def _evaluate(self, facts: ProfileFacts, state: ProfileState, moment: float) -> Outcome:
        outcome = Outcome(facts.segment_id)
        due: float | None = None
        for trait in self._counted:
            running = state.traits.get(trait.key)
            if running is None:
                continue
            if trait.window is not None:
                running.expire(moment - trait.window)
                oldest = running.next_expiry()
                if oldest is not None:
                    leaves = oldest + trait.window
                    due = leaves if due is None else min(due, leaves)
        for trait in self._traits:
            running = state.traits.get(trait.key)
            if running is None:
                continue
            value = running.value(trait)
            if trait.key not in state.values or state.values[trait.key] != value:
                state.values[trait.key] = value
                outcome.computed[trait.key] = value
        profile_traits = {**facts.traits, **state.values, **state.audiences}
        for audience in self.config.audiences:
            member = self._member(audience, facts, state, profile_traits)
            was = state.audiences.get(audience.key, False)
            if member == was and audience.key in state.audiences:
                continue
            state.audiences[audience.key] = member
            profile_traits[audience.key] = member
            if member == was:
                continue  # first evaluation, not a member: nothing to announce
            (outcome.entered if member else outcome.exited).append(audience.key)
            outcome.calls.append(
                (
                    audience,
                    audience_calls(audience, member, facts, datetime.fromtimestamp(moment, UTC)),
                )
            )
        self._schedule(facts.segment_id, state, due)
        return outcome

    def _member(
        self,
        audience: Audience,
        facts: ProfileFacts,
        state: ProfileState,
        profile_traits: dict[str, Any],
    ) -> bool:
        if not audience.include_anonymous and not facts.known:
            return False
        # The query reads the traits as it reads an identify call's: `traits.plan:pro`.
        if not audience.traits.matches(cast(Record, {"event": {"traits": profile_traits}})):
            return False
        for owner, n, trait in self._performed:
            if owner is not audience:
                continue
            running = state.traits.get(trait.key)
            count = 0 if running is None else running.count
            if not audience.performed[n].holds(count):
                return False
        return True

    def _schedule(self, segment_id: str, state: ProfileState, due: float | None) -> None:
        if due is not None and (state.due is None or due != state.due):
            heapq.heappush(self._due, (due, segment_id))
        state.due = due


def audience_calls(
    audience: Audience, member: bool, facts: ProfileFacts, now: datetime
) -> list[dict[str, Any]]:
    """The calls Engage sends when a profile enters (member) or leaves an audience
    (using-engage-data.md §Audience generated events)."""
    key = audience.key
    context = {
        "personas": {
            "computation_class": "audience",
            "computation_key": key,
            "computation_id": f"aud_{key}",
            "space_id": facts.space,
            "namespace": f"spa_{facts.space}",
        },
        "library": {"name": "unknown", "version": "unknown"},
    }
    ids: dict[str, Any] = {}
    if facts.user_id is not None:
        ids["userId"] = facts.user_id
    if facts.anonymous_id is not None:
        ids["anonymousId"] = facts.anonymous_id
    timestamp = format_timestamp(now)
    calls: list[dict[str, Any]] = []
    for kind in audience.send:
        call: dict[str, Any] = {
            "type": kind,
            **ids,
            "messageId": "engage-" + "".join(secrets.choice(_ALPHABET) for _ in range(24)),
            "timestamp": timestamp,
            "context": context,
        }
        if kind == "identify":
            call["traits"] = {key: member}
        else:
            call["event"] = ENTERED if member else EXITED
            call["properties"] = {"audience_key": key, key: member}
        calls.append(call)
    return calls


def _moment(record: Record) -> float:
    """When a call happened, for time windows: its timestamp (skew-corrected by
    normalization), else when it was received."""
    event = record["event"]
    moment = parse_timestamp(event.get("timestamp")) or parse_timestamp(record.get("receivedAt"))
    return moment.timestamp() if moment is not None else 0.0


def now_of(record: Record) -> datetime:
    """The clock Engage reads for a call: when segemu received it."""
    return parse_timestamp(record.get("receivedAt")) or datetime.now(UTC)
