"""Engage as a pipeline stage, after identity resolution.

For each accepted call that resolved to a user profile, the stage:
- follows the merges identity resolution made (the merged profile's counts join the other's);
- counts the call towards the profile's computed traits and performed-event conditions, and
  evaluates its audiences (engine.py);
- sets the computed traits and audience memberships on the profile, with their class
  (`computed_trait`, `audience`), so the Profile API lists them among the traits and its
  `class` parameter picks them out (segment-docs engage/audiences/computed-traits.md
  §Accessing your Computed Traits using the Profiles API);
- writes what changed onto the record (`engage`: computedTraits, entered, exited);
- returns the calls Engage sends for each audience entered or left, as requests of the space's
  Engage source: the pipeline runs them after the request's own calls, and they are stored,
  routed and shown like any other call (using-engage-data.md).

A restart rebuilds the state from the stored calls as the identity graph replays them; the
calls Engage sent then are stored already, so nothing is sent again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from segemu.engage.config import Audience
from segemu.engage.engine import ENGAGE_ROUTE, Engage, Outcome, ProfileFacts, now_of
from segemu.message import Envelope, Record, format_timestamp
from segemu.sources import Source

if TYPE_CHECKING:
    from segemu.identity import Identity, Profile, ProfileChange

# identity-resolution docs: known users are those with a user_id, an email, an ios.idfa or an
# android.idfa (engage/audiences/index.md §Building an Audience).
_KNOWN_IDS = frozenset({"user_id", "email", "ios.idfa", "android.idfa"})


def engage_write_key(space: str) -> str:
    """The write key Engage's calls carry: one per space, like the space's Engage source."""
    return f"engage:{space}"


class EngageStage:
    def __init__(self, engage: Engage, identity: Identity) -> None:
        self.engage = engage
        self.identity = identity
        # Only replayed calls: the stage itself follows live ones, and a config without
        # computed traits or audiences (it cannot change at runtime) needs neither.
        if engage.enabled:
            identity.on_replay(self._replayed)

    def __call__(self, record: Record) -> list[Envelope]:
        if not self.engage.enabled:
            return []
        identity = record.get("identity")
        if identity is None or identity.get("segment_id") is None:
            return []
        self._follow_merges(identity.get("changes") or [])
        profile = self.identity.profile(
            f"segment_id:{identity['segment_id']}", space=identity.get("space")
        )
        if profile is None:
            return []
        now = now_of(record)
        outcome = self.engage.observe(facts_of(profile), record, now)
        if not outcome:
            return []
        record["engage"] = outcome.describe()
        self._apply(profile, outcome, now)
        return self._envelopes(outcome, profile.space, now)

    def tick(self, now: datetime) -> list[Envelope]:
        """What the clock changed since the last call (engine.Engage.tick), applied to the
        profiles, and the calls Engage sends because of it."""
        envelopes: list[Envelope] = []
        for outcome in self.engage.tick(now):
            profile = self.identity.profile(f"segment_id:{outcome.segment_id}")
            space = "default"
            if profile is not None:
                self._apply(profile, outcome, now)
                space = profile.space
            envelopes.extend(self._envelopes(outcome, space, now))
        return envelopes

    def _follow_merges(self, changes: list[dict[str, object]]) -> None:
        for change in changes:
            if change.get("action") == "merged":
                self.engage.merge(str(change["from"]), str(change["into"]))

    def _replayed(self, change: ProfileChange) -> None:
        """Rebuild the state from a stored call while the graph replays it at start-up."""
        if not change.replayed or change.record is None or change.profile is None:
            return
        if not self.engage.enabled:
            return
        self._follow_merges(change.changes)
        record = change.record
        outcome = self.engage.observe(facts_of(change.profile), record, now_of(record))
        self._apply(change.profile, outcome, now_of(record))

    def _apply(self, profile: Profile, outcome: Outcome, now: datetime) -> None:
        timestamp = format_timestamp(now)
        for key, value in outcome.computed.items():
            self.identity.set_trait(
                profile, key, value, trait_class="computed_trait", timestamp=timestamp
            )
        for key in (*outcome.entered, *outcome.exited):
            self.identity.set_trait(
                profile, key, key in outcome.entered, trait_class="audience", timestamp=timestamp
            )

    def _envelopes(self, outcome: Outcome, space: str, now: datetime) -> list[Envelope]:
        return [
            Envelope(
                route=ENGAGE_ROUTE,
                items=calls,
                received_at=now.astimezone(UTC),
                header_write_key=engage_write_key(space),
                forwarded=True,
                source=_source(audience, space),
            )
            for audience, calls in outcome.calls
        ]


def _source(audience: Audience, space: str) -> Source:
    """The space's Engage source, connected to the audience's destinations (all enabled ones
    when it names none)."""
    return Source(
        name=f"engage:{space}",
        write_key=engage_write_key(space),
        destinations=audience.destinations,
    )


def facts_of(profile: Profile) -> ProfileFacts:
    """What Engage reads of an identity profile."""
    user_ids = profile.ids_of("user_id")
    anonymous_ids = profile.ids_of("anonymous_id")
    custom = {
        name: trait.value for name, trait in profile.traits.items() if trait.trait_class == "trait"
    }
    return ProfileFacts(
        segment_id=profile.segment_id,
        traits=custom,
        user_id=user_ids[-1] if user_ids else None,
        anonymous_id=anonymous_ids[-1] if anonymous_ids else None,
        known=any(kind in _KNOWN_IDS for kind, _ in profile.external_ids),
        space=profile.space,
    )
