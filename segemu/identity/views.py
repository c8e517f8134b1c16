"""Profiles as plain data, the same for every surface: the control API, the pytest API (in
process and over HTTP), the CLI.

    profile_view(identity, profile)  the profile with its trait history, its identifiers (and
                                     which call linked each), and its calls' identity changes
    matches(profile, text)           the search behind `/_segemu/profiles?q=`
    query_view(identity, record)     what `profile.` query paths read on a record
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from segemu.identity.profiles import Profile
from segemu.identity.stage import Identity
from segemu.message import Record

# How many of a profile's calls the detail view lists (newest), and how many with changes.
CALLS_SHOWN = 200
# A search over every profile pauses this often, so ingest and /health keep being answered.
SLICE_SECONDS = 0.004


def profile_view(identity: Identity, profile: Profile) -> dict[str, Any]:
    detail = profile.detail()
    calls: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    ids = list(profile.record_ids)[-CALLS_SHOWN:]
    for record in identity.events_of(ids):
        event = record["event"]
        entry = {
            "id": record["id"],
            "messageId": record["messageId"],
            "type": record["type"],
            "event": event.get("event") or event.get("name"),
            "receivedAt": record["receivedAt"],
            "timestamp": event.get("timestamp"),
            "source": record.get("source"),
        }
        calls.append(entry)
        made = (record.get("identity") or {}).get("changes") or []
        if made:
            changes.append({**entry, "changes": made})
    detail["events"] = calls
    detail["identity_changes"] = changes
    detail["accounts" if profile.collection == "users" else "users"] = [
        linked.summary()
        for segment_id in profile.links
        if (linked := identity.by_segment_id(profile.space, segment_id)) is not None
    ]
    return detail


def matches(profile: Profile, text: str) -> bool:
    """Whether any identifier, the segment id, or a trait's name or value contains `text`
    (case-insensitively). Linear in the profile's size; values are looked at up to 200
    characters."""
    needle = text.lower()
    if needle in profile.segment_id.lower():
        return True
    for external in profile.external_ids.values():
        if needle in external.key.lower():
            return True
    for name, trait in profile.traits.items():
        if needle in name.lower() or needle in f"{name}:{trait.value}"[:200].lower():
            return True
    return False


def query_view(identity: Identity, record: Record) -> dict[str, Any] | None:
    """The current profile of a record's call, as `profile.` query paths read it:
    {segment_id, space, traits, external_ids: {type: [values]}, accounts, merged}."""
    resolved = record.get("identity")
    if not resolved or not resolved.get("segment_id"):
        return None
    profile = identity.by_segment_id(str(resolved.get("space")), str(resolved["segment_id"]))
    if profile is None:
        return None
    external_ids: dict[str, list[str]] = {}
    for id_type, value in profile.external_ids:
        external_ids.setdefault(id_type, []).append(value)
    return {
        "segment_id": profile.segment_id,
        "space": profile.space,
        "traits": profile.trait_values(),
        "external_ids": external_ids,
        "accounts": list(profile.links),
        "merged": list(profile.merged),
    }


def lookup(
    identity: Identity, external_id: str, space: str | None, collection: str, newest: int
) -> dict[str, Any]:
    """`/_segemu/profiles?id=`: the profile with an external id, in detail, in a list of one
    (or none), and the id of the newest stored call (a waiting reader waits for later ones)."""
    profile = identity.profile(external_id, space=space, collection=collection)
    return {
        "profiles": [] if profile is None else [profile_view(identity, profile)],
        "newest": newest,
    }


async def search_profiles(
    identity: Identity, space: str | None, collection: str, q: str | None, limit: int, offset: int
) -> tuple[list[Profile], bool]:
    """Profiles (most recently updated first) whose identifiers or traits contain `q`: a page of
    `limit` after `offset` matches, and whether there are more. Runs in slices of
    SLICE_SECONDS, so a search over 100,000 profiles never holds the event loop long."""
    found: list[Profile] = []
    seen = 0
    deadline = time.perf_counter() + SLICE_SECONDS
    for count, profile in enumerate(identity.profiles(space=space, collection=collection), 1):
        if not q or matches(profile, q):
            if seen >= offset:
                found.append(profile)
                if len(found) > limit:
                    return found[:limit], True
            seen += 1
        if count % 64 == 0 and time.perf_counter() > deadline:
            await asyncio.sleep(0)
            deadline = time.perf_counter() + SLICE_SECONDS
    return found, False
