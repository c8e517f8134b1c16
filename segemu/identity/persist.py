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
from array import array
from pathlib import Path
from typing import Any

import orjson

from segemu.identity.graph import Graph
from segemu.identity.profiles import ExternalId, Profile, TraitValue

log = logging.getLogger("segemu.identity")
DIRECTORY = "identity"
FILE = "graph.json"
FORMAT = 1


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
        "profiles": [_profile_doc(p) for p in graph.profiles.values()],
    }


def _profile_doc(profile: Profile) -> dict[str, Any]:
    return {
        "segment_id": profile.segment_id,
        "collection": profile.collection,
        "created_at": profile.created_at,
        "updated_at": profile.updated_at,
        "first": [profile.first_message_id, profile.first_source],
        "last": [profile.last_message_id, profile.last_source],
        "external_ids": [
            [e.type, e.id, e.source, e.first_seen, e.last_seen, e.first_message_id, e.record_id]
            for e in profile.external_ids.values()
        ],
        "traits": {name: _trait_doc(t) for name, t in profile.traits.items()},
        "trait_history": {
            name: [_trait_doc(t) for t in history]
            for name, history in profile.trait_history.items()
        },
        "record_ids": list(profile.record_ids),
        "links": profile.links,
        "merged": profile.merged,
    }


def _trait_doc(trait: TraitValue) -> list[Any]:
    return [
        trait.value,
        trait.updated_at,
        trait.source,
        trait.message_id,
        trait.record_id,
        trait.trait_class,
    ]


def _trait(doc: list[Any]) -> TraitValue:
    return TraitValue(doc[0], doc[1], doc[2], doc[3], doc[4], doc[5])


def _read_graph(graph: Graph, document: dict[str, Any]) -> None:
    for doc in document["profiles"]:
        profile = Profile(
            segment_id=doc["segment_id"],
            space=graph.space.name,
            collection="accounts" if doc["collection"] == "accounts" else "users",
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            first_message_id=doc["first"][0],
            first_source=doc["first"][1],
            last_message_id=doc["last"][0],
            last_source=doc["last"][1],
            traits={name: _trait(t) for name, t in doc["traits"].items()},
            trait_history={
                name: [_trait(t) for t in history] for name, history in doc["trait_history"].items()
            },
            record_ids=array("q", doc["record_ids"]),
            links=dict(doc["links"]),
            merged=list(doc["merged"]),
        )
        for kind, value, source, first, last, message_id, record_id in doc["external_ids"]:
            profile.external_ids[(kind, value)] = ExternalId(
                kind, value, profile.collection, source, first, last, message_id, record_id
            )
        graph.restore(profile)
    graph.merged_into.update(document["merged_into"])
