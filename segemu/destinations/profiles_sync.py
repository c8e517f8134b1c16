"""Profiles Sync: the identity tables Segment lands in a warehouse beside the event tables, from
each call's identity outcome (record["identity"], segemu/identity/stage.py).

Sources (segmentio/segment-docs, by path):
- src/unify/profiles-sync/tables.md: the raw tables `id_graph_updates` (a row when a profile is
  created, segment_id = canonical_segment_id, and when one is merged into another),
  `external_id_mapping_updates` (a row per identifier the first time it is observed, with the
  segment id it was first seen on and the triggering event), `profile_traits_updates` (a row per
  identify that sets traits); and the materialised `user_identifiers`, `user_traits` (a row per
  identifier or trait value, added as they come) and `profile_merges` (a row per segment id,
  with the profile it now belongs to). On a merge Segment deletes the merged-away profile's
  rows and adds them to the profile it merged into; segemu loads that as one UPDATE that moves
  them (the same rows after the load). "Profiles Sync schema": `<profiles_space_name>.<table>`.
- src/unify/profiles-sync/sample-queries.md, FAQ: `external_id_hash` is the SHA-1 of
  `external_id_type` followed by `external_id_value`, in hex (BigQuery's
  `TO_HEX(SHA1(concat(...)))`).
- segmentio/profiles-sync-dbt models/profile_materializations/profile_traits_via_updates.sql:
  `profile_traits_updates` has `segment_id`, `seq`, and a column per trait (named like the
  identifies table's trait columns).

Chosen by segemu where Segment does not say: `seq` is the call's timestamp in milliseconds
since the epoch ("a sequential value derived from the timestamp"); a raw row's `id` is a SHA-1
of the messageId and what the row records, so it stays the same however often it is built;
`triggering_event_name` is the event name of a track call and the name of a page or screen
call. Not emulated: the recursive `id_graph_updates` rows of a merged profile whose own merged
profiles move with it (the materialised `profile_merges` does move them), the traits row
Segment writes for the surviving profile of a merge, accounts (groups), and the event tables
Profiles Sync lands with a `segment_id` column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from segemu.destinations.warehouse_naming import schema_name
from segemu.destinations.warehouse_rows import Row, _custom, _utc, cell
from segemu.message import parse_timestamp

RAW_TABLES = ("id_graph_updates", "external_id_mapping_updates", "profile_traits_updates")
MATERIALISED_TABLES = ("user_identifiers", "user_traits", "profile_merges")


def profiles_schema(identity: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """`profiles_schema` if set, else the space's name as a schema name (tables.md)."""
    chosen = settings.get("profiles_schema")
    if isinstance(chosen, str) and chosen.strip():
        return schema_name(chosen)
    return schema_name(str(identity.get("space") or "default"))


def sha1_hex(*parts: str) -> str:
    return hashlib.sha1("".join(parts).encode(), usedforsecurity=False).hexdigest()


def _seq(timestamp: str | None) -> int | None:
    moment = parse_timestamp(timestamp)
    return None if moment is None else int(moment.timestamp() * 1000)


def profiles_sync_rows(
    event: Mapping[str, Any], identity: Mapping[str, Any], loaded_at: str, source: str | None
) -> list[Row]:
    """The Profiles Sync rows of one call, in the order Segment would record them."""
    message_id = str(event.get("messageId") or "")
    kind = str(event.get("type") or "")
    timestamp = _utc(event.get("timestamp"))
    received_at = _utc(event.get("receivedAt"))
    when = {
        "seq": _seq(timestamp),
        "received_at": received_at,
        "uuid_ts": loaded_at,
        "timestamp": timestamp,
    }
    trigger = {"triggering_event_type": kind, "triggering_event_id": message_id}
    rows: list[Row] = []
    for change in identity.get("changes") or []:
        if not isinstance(change, dict) or change.get("collection") == "accounts":
            continue
        action = change.get("action")
        if action == "created":
            new_id = str(change.get("segment_id"))
            rows.append(
                Row(
                    "id_graph_updates",
                    "INSERT",
                    {
                        "id": sha1_hex(message_id, "created", new_id),
                        "segment_id": new_id,
                        "canonical_segment_id": new_id,
                        **trigger,
                        **when,
                    },
                )
            )
            rows.append(
                Row(
                    "profile_merges",
                    "INSERT",
                    {"canonical_segment_id": new_id, "segment_id": new_id, **when},
                )
            )
        elif action == "merged":
            merged_from, merged_into = str(change.get("from")), str(change.get("into"))
            rows.append(
                Row(
                    "id_graph_updates",
                    "INSERT",
                    {
                        "id": sha1_hex(message_id, "merged", merged_from, merged_into),
                        "segment_id": merged_from,
                        "canonical_segment_id": merged_into,
                        **trigger,
                        **when,
                    },
                )
            )
            # The merged-away profile's materialised rows now belong to the one it went into.
            for table in MATERIALISED_TABLES:
                rows.append(
                    Row(
                        table,
                        "UPDATE",
                        {
                            "where": {"canonical_segment_id": merged_from},
                            "set": {"canonical_segment_id": merged_into},
                        },
                    )
                )
        elif action == "added":
            id_type, value = str(change.get("type")), str(change.get("id"))
            first_on = str(change.get("segment_id"))
            external_hash = sha1_hex(id_type, value)
            rows.append(
                Row(
                    "external_id_mapping_updates",
                    "INSERT",
                    {
                        "external_id_hash": external_hash,
                        "external_id_type": id_type,
                        "external_id_value": value,
                        "id": sha1_hex(message_id, "added", external_hash),
                        "received_at": received_at,
                        "segment_id": first_on,
                        "seq": when["seq"],
                        "timestamp": timestamp,
                        "triggering_event_id": message_id,
                        "triggering_event_name": _event_name(event),
                        "triggering_event_source_id": source,
                        "triggering_event_source_name": source,
                        "triggering_event_source_slug": (
                            schema_name(source) if source is not None else None
                        ),
                        "triggering_event_type": kind,
                        "uuid_ts": loaded_at,
                    },
                )
            )
    segment_id = identity.get("segment_id")
    if segment_id:
        # The identifiers the call added, on the profile they belong to after this call's
        # merges (the call's own segment_id), in the order they were added.
        for change in identity.get("changes") or []:
            if isinstance(change, dict) and change.get("action") == "added":
                rows.append(
                    Row(
                        "user_identifiers",
                        "INSERT",
                        {
                            "canonical_segment_id": segment_id,
                            "type": str(change.get("type")),
                            "value": str(change.get("id")),
                            **when,
                        },
                    )
                )
        traits = event.get("traits")
        if kind == "identify" and isinstance(traits, dict) and traits:
            rows.extend(_trait_rows(str(segment_id), traits, message_id, when))
    return [Row(row.table, row.method, _without_nulls(row.columns)) for row in rows]


def _trait_rows(
    segment_id: str, traits: Mapping[str, Any], message_id: str, when: Mapping[str, Any]
) -> list[Row]:
    update: dict[str, Any] = {
        "id": sha1_hex(message_id, "traits", segment_id),
        "segment_id": segment_id,
        **when,
    }
    _custom(update, traits)
    rows = [Row("profile_traits_updates", "INSERT", update)]
    for name, value in traits.items():
        if value is None:
            continue
        rows.append(
            Row(
                "user_traits",
                "INSERT",
                {
                    "canonical_segment_id": segment_id,
                    "name": str(name),
                    "value": cell(value),
                    **when,
                },
            )
        )
    return rows


def _event_name(event: Mapping[str, Any]) -> str | None:
    name = event.get("event") if event.get("type") == "track" else event.get("name")
    return name if isinstance(name, str) else None


def _without_nulls(columns: dict[str, Any]) -> dict[str, Any]:
    # schema.md: a column only gets a non-null value.
    return {name: value for name, value in columns.items() if value is not None}
