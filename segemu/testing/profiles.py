"""What the fixtures' profile methods return and how their assertions explain a failure.

`segemu.profile("user_id:u1")` returns a ProfileInfo (or None); `assert_profile`,
`assert_merged` and `assert_not_merged` fail with the nearest miss: the trait value that is
there instead, the profile each identifier is on, and the refused merge (with its reason) that
kept two identifiers apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_SHOWN = 8


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    segment_id: str
    space: str
    collection: str
    # The profile's traits, computed traits and audiences (name -> value).
    traits: dict[str, Any]
    # Identifier type -> its values, in the order they joined the profile.
    external_ids: dict[str, list[str]]
    # The profile's stored calls, oldest first (id, messageId, type, event, receivedAt, ...).
    events: list[dict[str, Any]]
    # Audiences the profile is in (Engage), by key; empty until audiences are configured.
    audiences: dict[str, Any]
    computed_traits: dict[str, Any]
    accounts: list[dict[str, Any]]
    merged: list[str]
    identity_changes: list[dict[str, Any]]
    # The whole answer of /_segemu/profiles/{id}.
    detail: dict[str, Any]


def profile_info(detail: Mapping[str, Any]) -> ProfileInfo:
    external_ids: dict[str, list[str]] = {}
    for external in detail.get("external_ids", []):
        external_ids.setdefault(external["type"], []).append(external["id"])
    classes = {
        name: trait.get("class") for name, trait in (detail.get("trait_details") or {}).items()
    }
    traits = dict(detail.get("traits") or {})
    return ProfileInfo(
        segment_id=detail["segment_id"],
        space=detail["space"],
        collection=detail["collection"],
        traits=traits,
        external_ids=external_ids,
        events=list(detail.get("events") or []),
        audiences=dict(
            detail.get("audiences")
            or {name: value for name, value in traits.items() if classes.get(name) == "audience"}
        ),
        computed_traits={
            name: value for name, value in traits.items() if classes.get(name) == "computed_trait"
        },
        accounts=list(detail.get("accounts") or []),
        merged=list(detail.get("merged") or []),
        identity_changes=list(detail.get("identity_changes") or []),
        detail=dict(detail),
    )


def describe(info: ProfileInfo) -> str:
    ids = ", ".join(f"{t}:{v}" for t, values in info.external_ids.items() for v in values)
    return f"{info.segment_id} ({ids or 'no identifiers'})"


def missing_profile(external_id: str, nearby: list[dict[str, Any]]) -> str:
    lines = [f"no profile has {external_id}"]
    if nearby:
        lines.append("profiles with a similar identifier or trait:")
        for summary in nearby[:_SHOWN]:
            ids = ", ".join(f"{e['type']}:{e['id']}" for e in summary["external_ids"])
            lines.append(f"  {summary['segment_id']}: {ids}")
    else:
        lines.append("(no profile has an identifier or trait like it)")
    return "\n".join(lines)


def profile_problems(
    info: ProfileInfo,
    traits: Mapping[str, Any] | None,
    external_ids: Mapping[str, Any] | None,
    audiences: Mapping[str, Any] | None = None,
) -> list[str]:
    """What differs from what was expected, one line each (empty when it all holds)."""
    problems: list[str] = []
    details = info.detail.get("trait_details") or {}
    for name, expected in (traits or {}).items():
        if name not in info.traits:
            known = ", ".join(sorted(info.traits)[:_SHOWN]) or "none"
            problems.append(f"trait {name!r}: missing (its traits: {known})")
        elif info.traits[name] != expected:
            origin = details.get(name) or {}
            problems.append(
                f"trait {name!r}: expected {expected!r}, got {info.traits[name]!r} "
                f"(set at {origin.get('updated_at')} by message {origin.get('message_id')})"
            )
    for id_type, expected in (external_ids or {}).items():
        wanted = [expected] if isinstance(expected, str) else list(expected)
        have = info.external_ids.get(id_type, [])
        for value in wanted:
            if value not in have:
                refused = _refusal_of(info, f"{id_type}:{value}")
                problems.append(
                    f"external id {id_type}:{value}: missing (its {id_type}: "
                    f"{', '.join(have) or 'none'})" + (f"; {refused}" if refused else "")
                )
    for name, expected in (audiences or {}).items():
        if info.audiences.get(name) != expected:
            problems.append(
                f"audience {name!r}: expected {expected!r}, got {info.audiences.get(name)!r}"
            )
    return problems


def _refusal_of(info: ProfileInfo, external_id: str) -> str | None:
    for call in reversed(info.identity_changes):
        for change in call.get("changes", []):
            if change.get("external_id") == external_id and change.get("action") in (
                "refused",
                "blocked",
            ):
                return f"{change['action']} on message {call.get('messageId')}: {change['reason']}"
    return None


def not_merged_message(
    a: str, b: str, info_a: ProfileInfo | None, info_b: ProfileInfo | None
) -> str:
    lines = [f"expected {a} and {b} to be one profile, they are not:"]
    for name, info in ((a, info_a), (b, info_b)):
        lines.append(f"  {name}: " + ("no profile" if info is None else describe(info)))
    for name, info, other in ((a, info_a, b), (b, info_b, a)):
        if info is None:
            continue
        reason = _refusal_of(info, other) or _refusal_about(info, other, name)
        if reason:
            lines.append(f"  {reason}")
    return "\n".join(lines)


def _refusal_about(info: ProfileInfo, other: str, name: str) -> str | None:
    """A refused change on the profile's calls that kept an identifier away from it."""
    for call in reversed(info.identity_changes):
        for change in call.get("changes", []):
            if change.get("action") == "refused":
                return f"refused on message {call.get('messageId')}: {change['reason']}"
    return None


def merged_message(a: str, b: str, info: ProfileInfo) -> str:
    lines = [f"expected {a} and {b} to stay apart, they are one profile: {describe(info)}"]
    for call in info.identity_changes:
        for change in call.get("changes", []):
            if change.get("action") == "merged":
                lines.append(
                    f"  message {call.get('messageId')} merged {change['from']} into "
                    f"{change['into']} (by {change.get('by')})"
                )
            elif change.get("action") == "added" and change.get("external_id") in (a, b):
                lines.append(f"  message {call.get('messageId')} added {change['external_id']}")
    return "\n".join(lines)
