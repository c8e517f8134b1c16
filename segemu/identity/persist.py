"""The identity graph on disk, beside the calls: `<db>/identity/graph.json`.

A restart rebuilds the graph from the stored calls, each of which carries the identity
decisions made for it (stage.py `replay`): nothing is decided again. That alone would lose what
retention took: a profile whose calls were all evicted keeps its identifiers and traits (the
issue's rule, and Segment's: profiles outlive the events that built them). So a clean stop also
writes the whole graph here, with the id of the newest call it covers; at start the graph is
read back and only the calls after that id are replayed. After a hard kill the file is older:
the calls since are replayed, and only profiles whose calls were evicted after the file was
written lose what those calls brought.

The file is a TinyDB database (`TinyDB(path)` opens it): table `graph`, one document per space.
It lives in a subdirectory, where the event store's storage never looks. It is written to a
temporary file and renamed, so a kill during the write leaves the previous one intact.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson

from segemu.identity.graph import Graph
from segemu.identity.profiles import Collection, ExternalId, Profile, TraitValue

log = logging.getLogger("segemu.identity")
DIRECTORY = "identity"
FILE = "graph.json"
FORMAT = 2


def graph_path(db: str) -> Path:
    return Path(db) / DIRECTORY / FILE


def save(graphs: dict[str, Graph], through: int, path: Path) -> None:
    documents = {
        str(number): {"format": FORMAT, "through": through, **_graph_doc(graph)}
        for number, graph in enumerate(graphs.values(), 1)
    }
    data = orjson.dumps({"graph": documents})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def load(graphs: dict[str, Graph], path: Path) -> tuple[int, str | None]:
    """Read the graph back into `graphs` (spaces by name); returns the id of the newest call
    it covers (0 if none), and a problem to report if the file could not be used."""
    if not path.is_file():
        return 0, None
    try:
        data = orjson.loads(path.read_bytes())
        documents = data["graph"].values()
        through = 0
        for document in documents:
            if document.get("format") != FORMAT:
                return 0, f"{path} has format {document.get('format')!r}; rebuilt from the calls"
            graph = graphs.get(document["space"])
            if graph is None:
                continue  # a space no longer configured
            _read_graph(graph, document)
            through = int(document["through"])
        return through, None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        for graph in graphs.values():
            graph.clear()
        return 0, f"{path} could not be read ({exc}); the graph was rebuilt from the calls"


def _graph_doc(graph: Graph) -> dict[str, Any]:
    return {
        "space": graph.space.name,
        "merged_into": graph.merged_into,
        # Least recently updated first: the order the profile cap drops them in.
        "profiles": [_profile_doc(p) for p in graph.in_order()],
    }


# A profile is a list, and its identifiers and traits lists whose trailing fields are left
# out where they equal the profile's own (first seen at its creation by its first call, a trait
# set by its last call): most profiles are then a few strings, and reading 100,000 of them
# back builds few objects.
def _profile_doc(profile: Profile) -> list[Any]:
    first = [profile.created_at, profile.first_message_id, profile.first_source]
    last = [profile.updated_at, profile.last_message_id, profile.last_source]
    first_record = profile.record_ids[0] if profile.record_ids else 0
    last_record = profile.record_ids[-1] if profile.record_ids else 0
    id_defaults = [*first, first_record, profile.updated_at]
    trait_defaults = [*last, last_record, "trait"]
    return [
        profile.segment_id,
        profile.collection,
        *first,
        *last,
        [
            _trimmed(
                [e.type, e.id],
                [e.first_seen, e.first_message_id, e.source, e.record_id, e.last_seen],
                id_defaults,
            )
            for e in profile.external_ids.values()
        ],
        {name: _trait_doc(t, trait_defaults) for name, t in profile.traits.items()},
        {
            name: [_trait_doc(t, trait_defaults) for t in history]
            for name, history in profile.trait_history.items()
        },
        profile.record_ids,
        profile.links,
        profile.merged,
    ]


def _trait_doc(trait: TraitValue, defaults: list[Any]) -> list[Any]:
    return _trimmed(
        [trait.value],
        [trait.updated_at, trait.message_id, trait.source, trait.record_id, trait.trait_class],
        defaults,
    )


def _trimmed(head: list[Any], fields: list[Any], defaults: list[Any]) -> list[Any]:
    """`head` and `fields`, each field that equals its default as 0, trailing ones left out."""
    values = [
        0 if value == default else value for value, default in zip(fields, defaults, strict=True)
    ]
    while values and values[-1] == 0:
        values.pop()
    return head + values


def _untrimmed(doc: list[Any], at: int, defaults: list[Any]) -> list[Any]:
    values = doc[at:]
    return [
        default if n >= len(values) or values[n] == 0 else values[n]
        for n, default in enumerate(defaults)
    ]


def _read_graph(graph: Graph, document: dict[str, Any]) -> None:
    # On the start-up path: 100,000 profiles are read back here, so each object is built
    # once, with positional arguments, the parsed dicts and lists become the profile's own,
    # and an identifier or trait that kept every default (most of them: brought by the
    # profile's first call, set by its last) skips `_untrimmed`.
    space = graph.space.name
    new_profile = Profile
    new_external = ExternalId
    new_trait = TraitValue
    for doc in document["profiles"]:
        (
            segment_id,
            collection,
            created,
            first_message,
            first_source,
            updated,
            last_message,
            last_source,
            external_ids,
            traits,
            history,
            record_ids,
            links,
            merged,
        ) = doc
        first_record = record_ids[0] if record_ids else 0
        last_record = record_ids[-1] if record_ids else 0
        trait_record = last_record or None
        for name, trait in traits.items():
            if len(trait) == 1:
                traits[name] = new_trait(trait[0], updated, last_source, last_message, trait_record)
            else:
                traits[name] = _trait(
                    trait, [updated, last_message, last_source, last_record, "trait"]
                )
        for name, old in history.items():
            defaults = [updated, last_message, last_source, last_record, "trait"]
            history[name] = [_trait(trait, defaults) for trait in old]
        kind: Collection = "accounts" if collection == "accounts" else "users"
        own: dict[tuple[str, str], ExternalId] = {}
        profile = new_profile(
            segment_id,
            space,
            kind,
            created,
            updated,
            first_message,
            first_source,
            last_message,
            last_source,
            own,
            traits,
            history,
            record_ids,
            links,
            merged,
        )
        for entry in external_ids:
            if len(entry) == 2:
                id_type, value = entry
                own[id_type, value] = new_external(
                    id_type,
                    value,
                    kind,
                    first_source,
                    created,
                    updated,
                    first_message,
                    first_record,
                    profile,
                )
            else:
                defaults = [created, first_message, first_source, first_record, updated]
                seen, message_id, source, record_id, last_seen = _untrimmed(entry, 2, defaults)
                id_type, value = entry[0], entry[1]
                own[id_type, value] = new_external(
                    id_type, value, kind, source, seen, last_seen, message_id, record_id, profile
                )
        graph.restore(profile)
    graph.merged_into.update(document["merged_into"])


def _trait(doc: list[Any], defaults: list[Any]) -> TraitValue:
    updated_at, message_id, source, record_id, trait_class = _untrimmed(doc, 1, defaults)
    return TraitValue(doc[0], updated_at, source, message_id, record_id or None, trait_class)
