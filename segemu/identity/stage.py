"""The identity stage of the pipeline, and the in-process Profiles API built on it.

For every accepted call (not blocked by its tracking plan), the stage resolves the call's
identifiers in the space of its source (segemu/identity/graph.py), applies identify traits to
the user's profile and group traits to the account, links the user to the account of a group
call, and writes once onto the record:

    record["identity"] = {"space": "default", "segment_id": "use_…" | None,
                          "account_id": "acc_…" (group calls), "changes": [...]}

where each change is one of
    {"action": "created", "segment_id", ["collection": "accounts", "type", "id"]}
    {"action": "added", "segment_id", "type", "id", "external_id"}
    {"action": "merged", "from", "into", "by"}
    {"action": "refused", "type", "id", "external_id", "profiles", "reason"}
    {"action": "blocked", "type", "id", "external_id", "reason"}
    {"action": "linked", "segment_id", "account_id", "group_id"}

The in-process API (stable; the Profile API, the control API, the pytest API and Engage build
on it):

    identity.profile("user_id:u1", space=None, collection="users") -> Profile | None
    identity.profiles(space=None, collection="users") -> Iterator[Profile]  (newest first)
    identity.events(profile) -> list[Record]            (its stored calls, oldest first)
    identity.set_trait(profile, name, value, trait_class="computed_trait", ...)
    identity.on_change(listener) -> unsubscribe         (ProfileChange after every call)
    identity.on_replay(listener) -> unsubscribe         (only those of calls replayed at start)
    identity.space(space_id_or_name) -> Space | None; identity.spaces
    Profile: segment_id, space, collection, traits (name -> TraitValue), trait_values(),
             trait_history, external_ids ((type, id) -> ExternalId), record_ids, links,
             merged, created_at, updated_at, summary(), detail()
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from segemu.destinations.runtime import received_event
from segemu.engage.engine import ENGAGE_ROUTE
from segemu.identity import persist
from segemu.identity.extract import account_id, user_ids
from segemu.identity.graph import Call, Change, Graph
from segemu.identity.profiles import Collection, Profile, TraitClass, TraitValue
from segemu.identity.settings import Space, Spaces
from segemu.message import Record

if TYPE_CHECKING:
    from segemu.store import EventStore

log = logging.getLogger("segemu.identity")


@dataclass(slots=True)
class ProfileChange:
    """What one call (or one `set_trait`) did to the graph, told to every listener."""

    space: Space
    profile: Profile | None
    account: Profile | None
    record: Record | None
    changes: list[Change]
    # Names of the traits whose value changed.
    traits: list[str] = field(default_factory=list)
    # Whether it comes from rebuilding the graph at start-up (no new call).
    replayed: bool = False


Listener = Callable[[ProfileChange], None]


class Identity:
    def __init__(self, spaces: Spaces) -> None:
        self.spaces = spaces
        self._store: EventStore | None = None
        self.graphs: dict[str, Graph] = {
            space.name: Graph(space, self._oldest_record) for space in spaces.all
        }
        # Listeners of every change, and those of the changes replayed at start-up (these and
        # the ones that only rebuild state from replayed calls: Engage's). A live call builds
        # a ProfileChange only when someone listens to live ones.
        self._listeners: list[Listener] = []
        self._replay_listeners: list[Listener] = []
        # The graph of each source seen, by source name.
        self._by_source: dict[str | None, Graph] = {}
        # Calls up to this id are in the graph read from disk: replay skips them.
        self._through = 0

    def load(self, db: str) -> str | None:
        """Read the graph a clean stop wrote beside the calls in `db` (persist.py); calls up
        to the id it covers are then not replayed. Returns a problem to report, if any."""
        self._through, problem = persist.load(self.graphs, persist.graph_path(db))
        return problem

    def covers(self, record_id: int) -> bool:
        """Whether the graph read from disk holds every call up to `record_id`: replaying them
        would change nothing but what listeners rebuild from them."""
        return record_id <= self._through

    def save(self, db: str, through: int) -> None:
        """Write the graph beside the calls (a clean stop)."""
        persist.save(self.graphs, through, persist.graph_path(db))

    def attach(self, store: EventStore) -> None:
        """The store whose records the profiles' calls are read from."""
        self._store = store

    def _oldest_record(self) -> int:
        store = self._store
        return 0 if store is None or len(store) == 0 else store.oldest_id

    # -- the pipeline stage --------------------------------------------------------------------

    def __call__(self, record: Record) -> None:
        protocols = record.get("protocols")
        if protocols is not None and protocols.get("blocked"):
            return  # Segment drops a blocked call before it reaches Unify.
        source = record.get("source")
        graph = self._by_source.get(source)
        if graph is None:
            graph = self._by_source[source] = self.graphs[self.spaces.for_source(source).name]
        event = record["event"]
        keys = user_ids(event, graph.settings)
        kind = event.get("type")
        if keys and kind in _PLAIN_CALLS:
            # The common call (track, page, screen), every identifier known on one profile:
            # nothing to decide, nothing to apply (bench/identity.py: ingest on vs off).
            timestamp = event.get("timestamp")
            found = graph.rejoin(
                keys,
                record["id"],
                record["messageId"],
                source,
                timestamp if type(timestamp) is str else record["receivedAt"],
            )
            if found is not None:
                record["identity"] = {
                    "space": graph.space.name,
                    "segment_id": found.segment_id,
                    "changes": [],
                }
                if self._listeners:
                    self._tell(ProfileChange(graph.space, found, None, record, []))
                return
        space = graph.space
        call = _call(record)
        changes: list[Change] = []
        profile = graph.resolve(keys, call, changes, alias=kind == "alias")
        account = None
        group_id = account_id(event)
        if group_id is not None:
            account = graph.resolve_account(group_id, call, changes)
            if account is not None and profile is not None and graph.link(profile, account):
                changes.append(
                    {
                        "action": "linked",
                        "segment_id": profile.segment_id,
                        "account_id": account.segment_id,
                        "group_id": group_id,
                    }
                )
        # Engage's own identify calls carry audience traits that the Engage stage has set on
        # the profile already, with their class (segemu/engage/stage.py).
        traits = (
            []
            if kind not in _TRAIT_CALLS or record.get("route") == ENGAGE_ROUTE
            else self._apply_traits(graph, received_event(record), profile, account, call)
        )
        identity: dict[str, Any] = {
            "space": space.name,
            "segment_id": None if profile is None else profile.segment_id,
            "changes": changes,
        }
        if account is not None:
            identity["account_id"] = account.segment_id
        record["identity"] = identity
        if self._listeners:
            self._tell(ProfileChange(space, profile, account, record, changes, traits))

    def _apply_traits(
        self,
        graph: Graph,
        event: dict[str, Any],
        profile: Profile | None,
        account: Profile | None,
        call: Call,
    ) -> list[str]:
        # `event` is the call as destinations receive it: traits that the source's schema
        # controls block, or the tracking plan omits, never reach the profile either (DOCS
        # connections/sources/schema/index.md, "Identify and Group Trait Filters").
        traits = event.get("traits")
        if type(traits) is not dict or not traits:
            return []
        kind = event.get("type")
        if kind == "identify" and profile is not None:
            return graph.set_traits(profile, traits, call)
        if kind == "group" and account is not None:
            return graph.set_traits(account, traits, call)
        return []

    # -- rebuilding ----------------------------------------------------------------------------

    def replay(self, record: Record) -> None:
        """Rebuild the graph from a stored record's own identity decisions."""
        identity: Any = record.get("identity")
        if type(identity) is not dict:
            return
        if record["id"] <= self._through:
            if self._replay_listeners:
                self._heard_again(record, identity)
            return
        graph = self.graphs.get(str(identity.get("space")))
        if graph is None:
            return  # a space since removed from the config
        changes = identity.get("changes")
        call = _call(record)
        if type(changes) is list and changes:
            graph.replay(changes, call)
        profiles = graph.profiles
        profile = profiles.get(str(identity.get("segment_id")))
        account_segment = identity.get("account_id")
        account = None if account_segment is None else profiles.get(str(account_segment))
        event = record["event"]
        if profile is not None:
            # The call's identifiers on its profile were last seen now (those it added too).
            keys = user_ids(event, graph.settings)
            graph.seen(profile, keys, call.record_id, call.message_id, call.source, call.timestamp)
        if account is not None:
            group_id = account_id(event)
            graph.touch(account, [("group_id", group_id)] if group_id else [], call)
            if profile is not None:
                graph.link(profile, account)
        # Engage's own identify calls carry audience traits that the Engage stage has set on
        # the profile already, with their class (segemu/engage/stage.py).
        traits = (
            []
            if event.get("type") not in _TRAIT_CALLS or record.get("route") == ENGAGE_ROUTE
            else self._apply_traits(graph, received_event(record), profile, account, call)
        )
        if self._replay_listeners:
            self._tell(
                ProfileChange(
                    graph.space,
                    profile,
                    account,
                    record,
                    list(changes) if type(changes) is list else [],
                    traits,
                    replayed=True,
                )
            )

    def _heard_again(self, record: Record, identity: dict[str, Any]) -> None:
        """A stored call the saved graph already holds: the graph stays as saved, but listeners
        that rebuild their own state from the calls (Engage's computed traits and audiences)
        hear it, on the profile it belongs to now."""
        graph = self.graphs.get(str(identity.get("space")))
        if graph is None:
            return
        profile = graph.find("users", ("segment_id", str(identity.get("segment_id"))))
        account = graph.find("accounts", ("segment_id", str(identity.get("account_id"))))
        self._tell(ProfileChange(graph.space, profile, account, record, [], [], replayed=True))

    # -- the in-process Profiles API ---------------------------------------------------------

    def space(self, space_id: str | None = None) -> Space | None:
        return self.spaces.default if space_id is None else self.spaces.find(space_id)

    def profile(
        self, external_id: str, *, space: str | None = None, collection: str = "users"
    ) -> Profile | None:
        """The profile with an external id `type:value` (`user_id:u1`, `segment_id:use_…`)
        in the users (or accounts) collection of a space (the default space for None)."""
        id_type, separator, value = external_id.partition(":")
        found = self.space(space)
        if not separator or not id_type or found is None:
            return None
        if collection not in ("users", "accounts"):
            return None
        return self.graphs[found.name].find(cast(Collection, collection), (id_type, value))

    def profiles(
        self, *, space: str | None = None, collection: str | None = "users"
    ) -> Iterator[Profile]:
        """Profiles of a collection (both for None), most recently updated first."""
        found = self.space(space)
        if found is None or collection not in ("users", "accounts", None):
            return iter(())
        return self.graphs[found.name].iter_profiles(cast(Collection | None, collection))

    def events(self, profile: Profile) -> list[Record]:
        """The profile's stored calls, oldest first, anonymous ones from before a merge too;
        calls retention has evicted are gone (the profile keeps their ids and traits)."""
        if self._store is None:
            return []
        return self._store.records(profile.record_ids)

    def events_of(self, record_ids: list[int]) -> list[Record]:
        if self._store is None:
            return []
        return self._store.records(record_ids)

    def by_segment_id(self, space: str, segment_id: str) -> Profile | None:
        """A profile of either collection by its segment id (merged-away ids too)."""
        graph = self.graphs.get(space)
        if graph is None:
            return None
        return graph.find("users", ("segment_id", segment_id)) or graph.find(
            "accounts", ("segment_id", segment_id)
        )

    def set_trait(
        self,
        profile: Profile,
        name: str,
        value: Any,
        *,
        trait_class: TraitClass = "computed_trait",
        timestamp: str,
        source: str | None = None,
    ) -> bool:
        """Set a trait that no call carries (a computed trait, an audience); True if its value
        changed. Listeners hear it as a change without a record."""
        trait = TraitValue(value, timestamp, source, None, None, trait_class)
        changed = profile.set_trait(name, trait)
        if changed:
            self.graphs[profile.space].bump(profile, timestamp)
            if self._listeners:
                space = self.graphs[profile.space].space
                self._tell(ProfileChange(space, profile, None, None, [], [name]))
        return changed

    def on_change(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        self._replay_listeners.append(listener)

        def unsubscribe() -> None:
            self._listeners.remove(listener)
            self._replay_listeners.remove(listener)

        return unsubscribe

    def on_replay(self, listener: Listener) -> Callable[[], None]:
        """Hear only the changes of stored calls replayed at start-up (state rebuilt from the
        calls), so that live calls need not build a ProfileChange for it."""
        self._replay_listeners.append(listener)
        return lambda: self._replay_listeners.remove(listener)

    def _tell(self, change: ProfileChange) -> None:
        for listener in self._replay_listeners if change.replayed else self._listeners:
            try:
                listener(change)
            except Exception:  # a broken listener must not break ingest
                log.exception("profile listener %r failed", listener)

    def reset(self) -> None:
        """Forget every profile (a reset of the whole store)."""
        self._by_source.clear()
        self.graphs = {space.name: Graph(space, self._oldest_record) for space in self.spaces.all}


# Calls that carry no traits and link no account: only their identifiers matter.
_PLAIN_CALLS = frozenset(("track", "page", "screen"))
# The calls whose traits a profile takes (identify: the user's; group: the account's): for
# others the event as destinations receive it is not worked out.
_TRAIT_CALLS = frozenset(("identify", "group"))


def _call(record: Record) -> Call:
    event = record["event"]
    timestamp = event.get("timestamp")
    return Call(
        record["id"],
        record["messageId"],
        record.get("source"),
        timestamp if type(timestamp) is str else record["receivedAt"],
    )
