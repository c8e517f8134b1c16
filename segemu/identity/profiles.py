"""A profile as the identity graph keeps it: external ids, traits with history, calls, links.

segment-docs src/unify/profile-api.md: traits from several sources resolve "into a canonical
source using the last updated precedence order": here the newest call timestamp wins, and a
call older than the value it would replace only adds to the trait's history. External ids keep
the source and message that brought them, and when each was first and last seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Collection = Literal["users", "accounts"]
# A trait's class, as the Profile API's `class` parameter filters it.
TraitClass = Literal["trait", "computed_trait", "audience"]
# How many earlier values of one trait a profile remembers.
TRAIT_HISTORY_KEPT = 20


@dataclass(slots=True)
class ExternalId:
    type: str
    id: str
    collection: str
    source: str | None
    first_seen: str
    last_seen: str
    first_message_id: str
    # The stored call that linked it to its profile.
    record_id: int
    # The profile that has it: the graph's index maps each identifier to its ExternalId, so
    # that a call's lookup finds the profile and the identifier to update in one step.
    profile: Profile | None = field(default=None, repr=False, compare=False)

    @property
    def key(self) -> str:
        return f"{self.type}:{self.id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "collection": self.collection,
            "source": self.source,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "first_message_id": self.first_message_id,
            "record_id": self.record_id,
        }


@dataclass(slots=True)
class TraitValue:
    value: Any
    # The call's timestamp that set it (ISO-8601, ms, Z: as normalization writes it).
    updated_at: str
    source: str | None
    message_id: str | None
    record_id: int | None
    trait_class: TraitClass = "trait"

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "updated_at": self.updated_at,
            "source": self.source,
            "message_id": self.message_id,
            "record_id": self.record_id,
            "class": self.trait_class,
        }


# Compared by identity: two profiles are the same profile only if they are one object.
@dataclass(slots=True, eq=False)
class Profile:
    segment_id: str
    space: str
    collection: Collection
    created_at: str
    updated_at: str
    first_message_id: str
    first_source: str | None
    last_message_id: str
    last_source: str | None
    external_ids: dict[tuple[str, str], ExternalId] = field(default_factory=dict)
    traits: dict[str, TraitValue] = field(default_factory=dict)
    # Earlier values of each trait, oldest first (bounded by TRAIT_HISTORY_KEPT).
    trait_history: dict[str, list[TraitValue]] = field(default_factory=dict)
    # Ids of the profile's stored calls, ascending (arrival order); evicted ones are dropped.
    # A list, not an array: appending to many small arrays cost microseconds each.
    record_ids: list[int] = field(default_factory=list)
    # Linked profiles of the other collection (accounts of a user, users of an account).
    links: dict[str, str] = field(default_factory=dict)
    # Segment ids merged into this one, in the order merged.
    merged: list[str] = field(default_factory=list)

    def trait_values(self, trait_class: TraitClass | None = None) -> dict[str, Any]:
        return {
            name: trait.value
            for name, trait in self.traits.items()
            if trait_class is None or trait.trait_class == trait_class
        }

    def ids_of(self, id_type: str) -> list[str]:
        return [value for (kind, value) in self.external_ids if kind == id_type]

    def set_trait(self, name: str, new: TraitValue) -> bool:
        """Apply a trait value unless a newer one is there; True if the value changed."""
        current = self.traits.get(name)
        if current is None:
            self.traits[name] = new
            return True
        if new.updated_at < current.updated_at:
            self._remember(name, new)
            return False
        if current.value == new.value and current.trait_class == new.trait_class:
            current.updated_at = new.updated_at
            return False
        self._remember(name, current)
        self.traits[name] = new
        return True

    def _remember(self, name: str, old: TraitValue) -> None:
        history = self.trait_history.setdefault(name, [])
        history.append(old)
        history.sort(key=lambda t: t.updated_at)
        if len(history) > TRAIT_HISTORY_KEPT:
            del history[: len(history) - TRAIT_HISTORY_KEPT]

    def summary(self) -> dict[str, Any]:
        """The profile as plain data (control API, pytest, CLI)."""
        return {
            "segment_id": self.segment_id,
            "space": self.space,
            "collection": self.collection,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "traits": self.trait_values(),
            "external_ids": [e.as_dict() for e in self.external_ids.values()],
            "links": [{"segment_id": s, "collection": c} for s, c in self.links.items()],
            "merged": list(self.merged),
            "calls": len(self.record_ids),
        }

    def detail(self) -> dict[str, Any]:
        """`summary()` with each trait's source and history."""
        return {
            **self.summary(),
            "trait_details": {name: t.as_dict() for name, t in self.traits.items()},
            "trait_history": {
                name: [t.as_dict() for t in history] for name, history in self.trait_history.items()
            },
            "metadata": {
                "first_message_id": self.first_message_id,
                "first_source": self.first_source,
                "last_message_id": self.last_message_id,
                "last_source": self.last_source,
            },
        }
