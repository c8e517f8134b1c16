"""One space's identity graph: Segment's flat matching logic over external ids.

segment-docs src/unify/identity-resolution/identity-resolution-settings.md, "Flat matching logic":
a call whose identifiers match no profile creates one; a call that matches one profile adds to
it; a call that matches several merges them. Before adding or merging, the limits are checked
on the profile that would result: if one is exceeded, the call's lowest-priority identifier is
demoted (not promoted to an external id) and matching runs again ("Priority"). Each decision is
returned as a change, so the call's record can say what happened and why.

The graph changes only through the primitives `create`, `add_id`, `merge`, `link` and `touch`:
`resolve` decides and calls them for a new call, and `replay` calls them from the changes a
stored record already carries (a restart rebuilds the graph without deciding anything again).
Per call the work is proportional to the call's identifiers and the profiles they match, whose
identifiers the limits bound.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterator
from heapq import merge as merge_sorted
from sys import intern
from typing import Any, NamedTuple, cast

from segemu.identity.extract import ExternalIdKey
from segemu.identity.profiles import Collection, ExternalId, Profile, TraitValue
from segemu.identity.settings import Space

Change = dict[str, Any]
# Pending moves to the end of the profiles' order are applied at most this many at a time.
_SETTLE_AT = 1024
# A profile's call list is trimmed of evicted calls when it is longer than this.
_TRIM_AT = 256
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PREFIX: dict[str, str] = {"users": "use_", "accounts": "acc_"}


class Call(NamedTuple):
    """What the graph notes about the call that changed it."""

    record_id: int
    message_id: str
    source: str | None
    # The call's timestamp (normalized); orders traits.
    timestamp: str


def segment_id(collection: str, space: str, call: Call, salt: str = "") -> str:
    """A profile id shaped like Segment's (`use_` and 27 base62 characters: segment-docs
    externalids.md shows `use_4paotyretuj4Ta2bEYQ0vKOq1e7`), derived from the call that
    created it, so a rebuilt graph gives every profile the same id again."""
    digest = hashlib.blake2b(
        f"{space}\0{call.record_id}\0{call.message_id}\0{salt}".encode(), digest_size=20
    ).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(27):
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return _PREFIX[collection] + "".join(chars)


def key_text(key: ExternalIdKey) -> str:
    return f"{key[0]}:{key[1]}"


class Graph:
    def __init__(self, space: Space, oldest_record: Callable[[], int]) -> None:
        self.space = space
        self.settings = space.settings
        self._oldest_record = oldest_record
        # Profiles by segment id, least recently updated first (the cap lets the first go)
        # once the moves in `_moved` are applied (`_settle`).
        self.profiles: dict[str, Profile] = {}
        # Profiles updated since the order of `profiles` was last brought up to date, oldest
        # first. Moving a profile to the end of a dict of 100,000 on every call costs cache
        # misses on the ingest path; applied in a batch, before anything reads the order (or
        # every _SETTLE_AT updates), the same moves give the same order.
        self._moved: list[Profile] = []
        # Each identifier's ExternalId, whose `profile` has it.
        self._index: dict[Collection, dict[ExternalIdKey, ExternalId]] = {
            "users": {},
            "accounts": {},
        }
        # Segment ids merged away, and the profile each went into (a lookup still finds it).
        self.merged_into: dict[str, str] = {}
        self.dropped = 0

    # -- lookups -----------------------------------------------------------------------------

    def find(self, collection: Collection, key: ExternalIdKey) -> Profile | None:
        if key[0] == "segment_id":
            segment = key[1]
            seen = 0
            while segment in self.merged_into and seen < 1000:
                segment = self.merged_into[segment]
                seen += 1
            profile = self.profiles.get(segment)
            return profile if profile is not None and profile.collection == collection else None
        external = self._index[collection].get(key)
        return None if external is None else external.profile

    def iter_profiles(self, collection: Collection | None = None) -> Iterator[Profile]:
        """Profiles, most recently updated first."""
        for profile in reversed(self.in_order()):
            if collection is None or profile.collection == collection:
                yield profile

    def in_order(self) -> list[Profile]:
        """Profiles, least recently updated first."""
        self._settle()
        return list(self.profiles.values())

    def count(self, collection: Collection) -> int:
        return sum(1 for p in self.profiles.values() if p.collection == collection)

    # -- deciding: a new call ----------------------------------------------------------------

    def resolve(
        self, keys: list[ExternalIdKey], call: Call, changes: list[Change], alias: bool = False
    ) -> Profile | None:
        """The profile a call's user identifiers resolve to (None if none is left), changing
        the graph as Segment would and noting each change."""
        index = self._index["users"]
        # Every identifier known, all on one profile: nothing to decide (a blocked value is
        # never in the index, so none of them is blocked).
        if keys and not alias:
            known = self.known(keys)
            if known is not None:
                first = cast(Profile, known[0].profile)
                self.touch(first, keys, call)
                return first
        settings = self.settings
        kept: list[ExternalIdKey] = []
        for key in keys:
            reason = settings.blocked(key[1])
            if reason is None:
                kept.append(key)
            else:
                changes.append(
                    {
                        "action": "blocked",
                        "type": key[0],
                        "id": key[1],
                        "external_id": key_text(key),
                        "reason": reason,
                    }
                )
        if alias and len(kept) > 1:
            kept = [self._alias_key(key) if key[0] == "anonymous_id" else key for key in kept]
        if not kept:
            return None
        kept.sort(key=lambda k: settings.rank(k[0]))
        while True:
            matched = self._matched(kept)
            excess = self._excess(kept, matched)
            if excess is None:
                break
            demoted = kept.pop()
            id_type, values, limit = excess
            changes.append(
                {
                    "action": "refused",
                    "type": demoted[0],
                    "id": demoted[1],
                    "external_id": key_text(demoted),
                    "profiles": [p.segment_id for p in matched],
                    "reason": _refusal(demoted, id_type, values, limit, matched),
                }
            )
            if not kept:
                return None
        if not matched:
            profile = self.create("users", segment_id("users", self.space.name, call), call)
            changes.append({"action": "created", "segment_id": profile.segment_id})
        else:
            # The oldest survives: by its first call's timestamp, then by arrival.
            matched.sort(key=lambda p: (p.created_at, p.record_ids[0] if p.record_ids else 0))
            profile = matched[0]
            for other in matched[1:]:
                by = next((k for k in kept if _profile_of(index.get(k)) is other), None)
                self.merge(other, profile)
                changes.append(
                    {
                        "action": "merged",
                        "from": other.segment_id,
                        "into": profile.segment_id,
                        "by": key_text(by) if by is not None else None,
                    }
                )
        for key in kept:
            if key not in profile.external_ids:
                self.add_id(profile, key, call)
                changes.append(
                    {
                        "action": "added",
                        "segment_id": profile.segment_id,
                        "type": key[0],
                        "id": key[1],
                        "external_id": key_text(key),
                    }
                )
        self.touch(profile, kept, call)
        return profile

    def resolve_account(self, group_id: str, call: Call, changes: list[Change]) -> Profile | None:
        key = ("group_id", group_id)
        reason = self.settings.blocked(group_id)
        if reason is not None:
            changes.append(
                {
                    "action": "blocked",
                    "type": "group_id",
                    "id": group_id,
                    "external_id": key_text(key),
                    "reason": reason,
                }
            )
            return None
        found = self._index["accounts"].get(key)
        account = None if found is None else found.profile
        if account is None:
            account = self.create("accounts", segment_id("accounts", self.space.name, call), call)
            self.add_id(account, key, call)
            changes.append(
                {
                    "action": "created",
                    "segment_id": account.segment_id,
                    "collection": "accounts",
                    "type": "group_id",
                    "id": group_id,
                    "external_id": key_text(key),
                }
            )
        self.touch(account, [key], call)
        return account

    def _alias_key(self, key: ExternalIdKey) -> ExternalIdKey:
        """An alias's previousId as the graph knows it: a user_id if a profile has it so."""
        as_user = ("user_id", key[1])
        if as_user in self._index["users"] and key not in self._index["users"]:
            return as_user
        return key

    def _matched(self, keys: list[ExternalIdKey]) -> list[Profile]:
        matched: list[Profile] = []
        index = self._index["users"]
        for key in keys:
            external = index.get(key)
            profile = None if external is None else external.profile
            if profile is not None and profile not in matched:
                matched.append(profile)
        return matched

    def _excess(
        self, keys: list[ExternalIdKey], matched: list[Profile]
    ) -> tuple[str, list[str], int] | None:
        """The first identifier type (by priority) whose values on the resulting profile would
        exceed its limit: (type, values, limit)."""
        values: dict[str, list[str]] = {}
        for profile in matched:
            for id_type, value in profile.external_ids:
                values.setdefault(id_type, []).append(value)
        for id_type, value in keys:
            found = values.setdefault(id_type, [])
            if value not in found:
                found.append(value)
        for id_type in sorted(values, key=self.settings.rank):
            limit = self.settings.limit(id_type)
            if len(values[id_type]) > limit:
                return id_type, values[id_type], limit
        return None

    # -- the primitives ----------------------------------------------------------------------

    def create(self, collection: Collection, new_id: str, call: Call) -> Profile:
        # Positional: a restart without graph.json creates 100,000 of them here.
        profile = Profile(
            new_id,
            self.space.name,
            collection,
            call.timestamp,
            call.timestamp,
            call.message_id,
            call.source,
            call.message_id,
            call.source,
        )
        self.profiles[new_id] = profile
        # At the end already, but moves still pending must not pass it.
        self._moved.append(profile)
        if len(self.profiles) > self.settings.max_profiles:
            self._settle()
            self._drop(next(iter(self.profiles.values())))
        return profile

    def add_id(self, profile: Profile, key: ExternalIdKey, call: Call) -> None:
        external = profile.external_ids[key] = ExternalId(
            key[0],
            key[1],
            profile.collection,
            call.source,
            call.timestamp,
            call.timestamp,
            call.message_id,
            call.record_id,
            profile,
        )
        self._index[profile.collection][key] = external

    def merge(self, other: Profile, into: Profile) -> None:
        index = self._index[other.collection]
        for key, external in other.external_ids.items():
            kept = into.external_ids.setdefault(key, external)
            kept.profile = into
            index[key] = kept
        for name, history in other.trait_history.items():
            for old in history:
                into._remember(name, old)
        for name, trait in other.traits.items():
            into.set_trait(name, trait)
        into.record_ids = list(merge_sorted(into.record_ids, other.record_ids))
        for linked, collection in other.links.items():
            into.links[linked] = collection
            partner = self.profiles.get(linked)
            if partner is not None:
                partner.links.pop(other.segment_id, None)
                partner.links[into.segment_id] = into.collection
        if other.created_at < into.created_at:
            into.created_at = other.created_at
            into.first_message_id = other.first_message_id
            into.first_source = other.first_source
        into.merged.extend([other.segment_id, *other.merged])
        self.merged_into[other.segment_id] = into.segment_id
        del self.profiles[other.segment_id]

    def link(self, user: Profile, account: Profile) -> bool:
        """Link a user to an account; True if they were not linked yet."""
        if account.segment_id in user.links:
            return False
        user.links[account.segment_id] = account.collection
        account.links[user.segment_id] = user.collection
        return True

    def known(self, keys: list[ExternalIdKey]) -> list[ExternalId] | None:
        """The identifiers, if one profile has every one of them already (then a call
        carrying them changes nothing in the graph): `[0].profile` is that profile."""
        index = self._index["users"]
        first = index.get(keys[0])
        if first is None:
            return None
        found = [first]
        profile = first.profile
        for key in keys[1:]:
            external = index.get(key)
            if external is None or external.profile is not profile:
                return None
            found.append(external)
        return found

    def rejoin(
        self,
        keys: list[ExternalIdKey],
        record_id: int,
        message_id: str,
        source: str | None,
        timestamp: str,
    ) -> Profile | None:
        """The profile that has every one of a call's identifiers already, with the call
        joined to it (as `touch`); None, with nothing changed, when one is new or they are on
        several profiles (the call needs deciding: `resolve`). The ingest path's common call
        (track calls by a known userId): one lookup per identifier, no list or Call built."""
        index = self._index["users"]
        first = index.get(keys[0])
        if first is None:
            return None
        profile = cast(Profile, first.profile)
        count = len(keys)
        if count == 1:
            if timestamp > first.last_seen:
                first.last_seen = timestamp
        elif count == 2:  # userId and anonymousId: most calls of a known user
            second = index.get(keys[1])
            if second is None or second.profile is not profile:
                return None
            if timestamp > first.last_seen:
                first.last_seen = timestamp
            if timestamp > second.last_seen:
                second.last_seen = timestamp
        else:
            found: list[ExternalId] = []
            for key in keys:
                external = index.get(key)
                if external is None or external.profile is not profile:
                    return None
                found.append(external)
            for external in found:
                if timestamp > external.last_seen:
                    external.last_seen = timestamp
        self._joined(profile, record_id, message_id, source, timestamp)
        return profile

    def touch(self, profile: Profile, keys: list[ExternalIdKey], call: Call) -> None:
        """The call joins the profile: last seen of its ids, its call list, its recency."""
        self.seen(profile, keys, call.record_id, call.message_id, call.source, call.timestamp)

    def seen(
        self,
        profile: Profile,
        keys: list[ExternalIdKey] | list[ExternalId],
        record_id: int,
        message_id: str,
        source: str | None,
        timestamp: str,
    ) -> None:
        """`touch` with the call's fields as they are (the ingest path's common case, which
        passes the ExternalIds `known` found)."""
        external_ids = profile.external_ids
        for key in keys:
            external = key if isinstance(key, ExternalId) else external_ids.get(key)
            if external is not None and timestamp > external.last_seen:
                external.last_seen = timestamp
        self._joined(profile, record_id, message_id, source, timestamp)

    def _joined(
        self, profile: Profile, record_id: int, message_id: str, source: str | None, timestamp: str
    ) -> None:
        """The call joins the profile: its call list, last call and recency."""
        ids = profile.record_ids
        if not ids or ids[-1] < record_id:
            ids.append(record_id)
            if len(ids) > _TRIM_AT and len(ids) % _TRIM_AT == 0:
                cut = bisect_left(ids, self._oldest_record())
                if cut:
                    del ids[:cut]
        elif record_id not in ids:
            ids.insert(bisect_left(ids, record_id), record_id)
        profile.last_message_id = message_id
        profile.last_source = source
        if timestamp > profile.updated_at:
            profile.updated_at = timestamp
        # Most recently updated last: the cap drops from the front.
        moved = self._moved
        moved.append(profile)
        if len(moved) >= _SETTLE_AT:
            self._settle()

    def _settle(self) -> None:
        """Apply the pending moves: each profile to the end, in the order they were updated
        (one merged away or dropped since is skipped)."""
        moved = self._moved
        if not moved:
            return
        profiles = self.profiles
        for profile in moved:
            segment = profile.segment_id
            if profiles.get(segment) is profile:
                profiles[segment] = profiles.pop(segment)
        moved.clear()

    def bump(self, profile: Profile, timestamp: str) -> None:
        """The profile was updated now: most recently updated last (the cap drops the first)."""
        if timestamp > profile.updated_at:
            profile.updated_at = timestamp
        self._moved.append(profile)
        if len(self._moved) >= _SETTLE_AT:
            self._settle()

    def set_traits(self, profile: Profile, traits: dict[str, Any], call: Call) -> list[str]:
        """Apply a call's traits; the names whose value changed."""
        changed = []
        for name, value in traits.items():
            new = TraitValue(value, call.timestamp, call.source, call.message_id, call.record_id)
            if profile.set_trait(str(name), new):
                changed.append(str(name))
        return changed

    def _drop(self, profile: Profile) -> None:
        """The profile cap: the least recently updated profile goes, with its identifiers."""
        index = self._index[profile.collection]
        for key in profile.external_ids:
            external = index.get(key)
            if external is not None and external.profile is profile:
                del index[key]
        for linked in profile.links:
            partner = self.profiles.get(linked)
            if partner is not None:
                partner.links.pop(profile.segment_id, None)
        del self.profiles[profile.segment_id]
        for merged in profile.merged:
            self.merged_into.pop(merged, None)
        self.dropped += 1

    def restore(self, profile: Profile) -> None:
        """Put back a profile read from disk (persist.py), with its identifiers (whose
        `profile` the reader set as it built them: 300,000 of them at start-up)."""
        self.profiles[profile.segment_id] = profile
        self._index[profile.collection].update(profile.external_ids)

    def clear(self) -> None:
        self.profiles.clear()
        self._moved.clear()
        self._index["users"].clear()
        self._index["accounts"].clear()
        self.merged_into.clear()

    # -- replaying: a stored call ------------------------------------------------------------

    def replay(self, changes: list[Change], call: Call) -> None:
        """Apply the changes a stored record carries, as `resolve` made them."""
        # The profile of the last change: a call's "added" changes follow its "created".
        last_id: Any = None
        last: Profile | None = None
        for change in changes:
            action = change.get("action")
            if action == "added":
                segment = change["segment_id"]
                if segment != last_id:
                    last_id, last = segment, self.profiles.get(str(segment))
                if last is not None:
                    # Identifier types read back are many copies of a few names: one each.
                    key = (intern(str(change["type"])), str(change["id"]))
                    self.add_id(last, key, call)
            elif action == "created":
                collection: Collection = (
                    "accounts" if change.get("collection") == "accounts" else "users"
                )
                new_id = str(change["segment_id"])
                if new_id not in self.profiles:
                    profile = self.create(collection, new_id, call)
                    if collection == "accounts":
                        self.add_id(profile, ("group_id", str(change["id"])), call)
                last_id, last = None, None
            elif action == "merged":
                other = self.profiles.get(str(change["from"]))
                into = self.profiles.get(str(change["into"]))
                if other is not None and into is not None and other is not into:
                    self.merge(other, into)
                last_id, last = None, None


def _profile_of(external: ExternalId | None) -> Profile | None:
    return None if external is None else external.profile


def _refusal(
    demoted: ExternalIdKey,
    id_type: str,
    values: list[str],
    limit: int,
    matched: list[Profile],
) -> str:
    shown = ", ".join(values[:5]) + (", ..." if len(values) > 5 else "")
    if len(matched) > 1:
        joined = " and ".join(p.segment_id for p in matched[:3])
        what = f"merging {joined}"
    elif matched:
        what = f"adding it to {matched[0].segment_id}"
    else:
        what = "keeping it"
    return (
        f"{key_text(demoted)} was not used: {what} would give one profile {len(values)} "
        f"{id_type} values ({shown}); {id_type} allows {limit}"
    )
