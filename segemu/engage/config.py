"""Engage's computed traits and audiences, as the config file declares them.

    [engage.computed_traits.orders_last_30_days]
    type = "event_counter"
    event = "Order Completed"
    window = "30d"

    [engage.computed_traits.lifetime_revenue]
    type = "sum"
    event = "Order Completed"
    property = "properties.revenue"

    [engage.audiences.big_spenders]
    traits = "traits.lifetime_revenue>100"
    send = ["identify", "track"]

    [[engage.audiences.recent_buyers.performed]]
    event = "Order Completed"
    within = "30d"

The trait types are Segment's (segment-docs engage/audiences/computed-traits.md §Types of
Computed Traits): an event counter, an aggregation of a numeric property (sum, average, min,
max), most frequent, first, last, unique list and unique list count. Conditions are written in
segemu's query language, not in Segment's builder, so the same text works in `segemu events
--where` to see which calls a trait counts. Audiences are built from traits, computed traits and
performed events within a time window (engage/audiences/index.md §Building an Audience).

Everything is checked here, when the emulator is built: a mistake is a ConfigError naming the
file and the entry.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from segemu.config import Config, ConfigError
from segemu.message import Record
from segemu.query import MATCH_ALL, Query, QueryError, field_reader, parse_query

# segment-docs engage/audiences/computed-traits.md §Types of Computed Traits. "Aggregation" is
# four types here, one per function, so that `type` alone says what the value is.
COUNTER = "event_counter"
AGGREGATIONS = ("sum", "average", "min", "max")
MOST_FREQUENT = "most_frequent"
FIRST = "first"
LAST = "last"
UNIQUE_LIST = "unique_list"
UNIQUE_LIST_COUNT = "unique_list_count"
TRAIT_TYPES: tuple[str, ...] = (
    COUNTER,
    *AGGREGATIONS,
    MOST_FREQUENT,
    FIRST,
    LAST,
    UNIQUE_LIST,
    UNIQUE_LIST_COUNT,
)
# Engage computes over track, page and screen calls (computed-traits.md: "based on your events
# and event properties that you are sending through Segment on the page and track calls";
# audiences/index.md §Events adds screen calls).
EVENT_TYPES = frozenset({"track", "page", "screen"})
# How an audience reaches the destinations connected to it (engage/using-engage-data.md
# §Event Destinations and Audiences).
SEND_AS = ("identify", "track")

_TRAIT_KEYS = ("type", "event", "where", "property", "window")
_AUDIENCE_KEYS = ("traits", "performed", "send", "destinations", "include_anonymous")
_PERFORMED_KEYS = ("event", "where", "within", "at_least", "at_most")
_DURATION = re.compile(r"\s*(\d+)\s*(s|m|h|d|w)\s*")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Keys that become trait names on profiles and in identify calls: Segment snake-cases them
# (using-engage-data.md: "the trait name is the snake_cased version of the audience name").
_KEY = re.compile(r"[a-z][a-z0-9_]*")

ValueReader = Callable[[Record], tuple[bool, Any]]


@dataclass(frozen=True, slots=True)
class EventCondition:
    """Which calls count: of the types Engage computes over, with this event name (track calls
    only, when given), matching the query."""

    event: str | None = None
    where: Query = MATCH_ALL

    def matches(self, record: Record) -> bool:
        if record.get("type") not in EVENT_TYPES:
            return False
        if self.event is not None and (
            record.get("type") != "track" or record["event"].get("event") != self.event
        ):
            return False
        return self.where.matches(record)

    def describe(self) -> dict[str, Any]:
        return {"event": self.event, "where": str(self.where) or None}


@dataclass(frozen=True, slots=True)
class ComputedTrait:
    key: str
    type: str
    condition: EventCondition
    # The property whose values are aggregated (every type but the counter).
    property: str | None = None
    read: ValueReader | None = field(default=None, compare=False, repr=False)
    # Only calls whose timestamp is within this many seconds of now count; None: all of them.
    window: float | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "type": self.type,
            **self.condition.describe(),
            "property": self.property,
            "window": self.window,
        }


@dataclass(frozen=True, slots=True)
class Performed:
    """A performed-event condition of an audience: between `at_least` and `at_most` matching
    calls within the window (`at_most = 0` is Segment's "and not who")."""

    condition: EventCondition
    within: float | None = None
    at_least: int = 1
    at_most: int | None = None

    def holds(self, count: int) -> bool:
        return count >= self.at_least and (self.at_most is None or count <= self.at_most)


@dataclass(frozen=True, slots=True)
class Audience:
    key: str
    traits: Query = MATCH_ALL
    performed: tuple[Performed, ...] = ()
    send: tuple[str, ...] = ("identify",)
    # The destinations Engage sends to; None: every enabled destination.
    destinations: tuple[str, ...] | None = None
    # audiences/index.md §Building an Audience: by default only known users (a userId, an
    # email, an ios.idfa or android.idfa) are members; "Include Anonymous Users" lets in
    # profiles that have only anonymous ids.
    include_anonymous: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "traits": str(self.traits) or None,
            "performed": [
                {
                    **p.condition.describe(),
                    "within": p.within,
                    "atLeast": p.at_least,
                    "atMost": p.at_most,
                }
                for p in self.performed
            ],
            "send": list(self.send),
            "destinations": None if self.destinations is None else list(self.destinations),
            "includeAnonymous": self.include_anonymous,
        }


@dataclass(frozen=True, slots=True)
class EngageConfig:
    computed_traits: tuple[ComputedTrait, ...] = ()
    audiences: tuple[Audience, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.computed_traits or self.audiences)


def load_engage(config: Config) -> EngageConfig:
    """The [engage] table, checked; a mistake is a ConfigError naming the file and entry."""
    table = config.sections.get("engage", {})
    origin = config.config_file or "settings"
    _known(table, ("computed_traits", "audiences"), f"{origin}: [engage]")
    traits = tuple(
        _computed_trait(key, entry, f"{origin}: [engage.computed_traits.{key}]")
        for key, entry in _table(table, "computed_traits", f"{origin}: [engage]").items()
    )
    audiences = tuple(
        _audience(key, entry, f"{origin}: [engage.audiences.{key}]")
        for key, entry in _table(table, "audiences", f"{origin}: [engage]").items()
    )
    taken = {trait.key for trait in traits}
    for audience in audiences:
        if audience.key in taken:
            raise ConfigError(
                f"{origin}: [engage.audiences.{audience.key}]: the key is already a computed "
                f"trait's; an audience's key becomes a trait of its members, so keys must differ"
            )
    return EngageConfig(traits, audiences)


def parse_duration(value: Any, where: str, key: str) -> float:
    """ "30d", "12h", "90m", "45s", "2w", or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, str):
        found = _DURATION.fullmatch(value)
        if found is not None and int(found[1]) > 0:
            return float(int(found[1]) * _SECONDS[found[2]])
    raise ConfigError(
        f'{where}: \'{key}\' must be a duration such as "30d", "12h", "90m", "45s" or '
        f'"2w", or a number of seconds, got {value!r}'
    )


def _computed_trait(key: str, entry: Any, where: str) -> ComputedTrait:
    entry = _entry(key, entry, where, _TRAIT_KEYS)
    kind = entry.get("type")
    if kind not in TRAIT_TYPES:
        close = difflib.get_close_matches(str(kind), TRAIT_TYPES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"{where}: 'type' must be one of {', '.join(TRAIT_TYPES)}, got {kind!r}{hint}"
        )
    condition = _condition(entry, where)
    path = entry.get("property")
    read: ValueReader | None = None
    if kind == COUNTER:
        if path is not None:
            raise ConfigError(f"{where}: an event_counter counts calls; it takes no 'property'")
    else:
        if not isinstance(path, str) or not path:
            raise ConfigError(
                f"{where}: a {kind} trait needs 'property', the field whose values it reads, "
                f'such as "properties.revenue"'
            )
        try:
            read = field_reader(path)
        except QueryError as exc:
            raise ConfigError(f"{where}: 'property': {exc}") from None
    window = entry.get("window")
    return ComputedTrait(
        key=key,
        type=kind,
        condition=condition,
        property=path,
        read=read,
        window=None if window is None else parse_duration(window, where, "window"),
    )


def _audience(key: str, entry: Any, where: str) -> Audience:
    entry = _entry(key, entry, where, _AUDIENCE_KEYS)
    traits = MATCH_ALL
    if "traits" in entry:
        traits = _query(entry["traits"], where, "traits")
    performed_entries = entry.get("performed", [])
    if isinstance(performed_entries, dict):
        performed_entries = [performed_entries]
    if not isinstance(performed_entries, list):
        raise ConfigError(f"{where}: 'performed' must be a list of tables ([[...performed]])")
    performed = tuple(
        _performed(item, f"{where} performed #{n}") for n, item in enumerate(performed_entries, 1)
    )
    if "traits" not in entry and not performed:
        raise ConfigError(
            f"{where}: an audience needs a condition: 'traits' (a query over the profile's "
            f"traits, such as \"traits.plan:pro\") and/or 'performed' events"
        )
    send = entry.get("send", ["identify"])
    if (
        not isinstance(send, list)
        or not send
        or any(item not in SEND_AS for item in send)
        or len(set(send)) != len(send)
    ):
        raise ConfigError(
            f"{where}: 'send' must list how members are sent, out of \"identify\" and "
            f'"track", got {send!r}'
        )
    destinations = entry.get("destinations")
    if destinations is not None and (
        not isinstance(destinations, list) or not all(isinstance(d, str) for d in destinations)
    ):
        raise ConfigError(f"{where}: 'destinations' must be a list of destination ids")
    include_anonymous = entry.get("include_anonymous", False)
    if not isinstance(include_anonymous, bool):
        raise ConfigError(f"{where}: 'include_anonymous' must be true or false")
    return Audience(
        key=key,
        traits=traits,
        performed=performed,
        send=tuple(send),
        destinations=None if destinations is None else tuple(destinations),
        include_anonymous=include_anonymous,
    )


def _performed(item: Any, where: str) -> Performed:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be a table, got {item!r}")
    _known(item, _PERFORMED_KEYS, where)
    if "event" not in item and "where" not in item:
        raise ConfigError(f"{where}: needs 'event' and/or 'where' to say which calls count")
    at_most = _count(item, "at_most", where, None)
    # With only a ceiling ("at_most = 0": did not perform), there is no floor.
    at_least = _count(item, "at_least", where, 1 if at_most is None else 0)
    if at_most is not None and at_most < at_least:
        raise ConfigError(f"{where}: 'at_most' ({at_most}) is below 'at_least' ({at_least})")
    within = item.get("within")
    return Performed(
        condition=_condition(item, where),
        within=None if within is None else parse_duration(within, where, "within"),
        at_least=at_least,
        at_most=at_most,
    )


def _count(item: Mapping[str, Any], key: str, where: str, default: int | None) -> Any:
    value = item.get(key, default)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ConfigError(f"{where}: '{key}' must be a whole number of calls, got {value!r}")
    return value


def _condition(entry: Mapping[str, Any], where: str) -> EventCondition:
    event = entry.get("event")
    if event is not None and (not isinstance(event, str) or not event):
        raise ConfigError(f"{where}: 'event' must be an event name, got {event!r}")
    query = _query(entry["where"], where, "where") if "where" in entry else MATCH_ALL
    return EventCondition(event, query)


def _query(value: Any, where: str, key: str) -> Query:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a query (text), got {value!r}")
    try:
        return parse_query(value)
    except QueryError as exc:
        raise ConfigError(f"{where}: '{key}': {exc}") from None


def _entry(key: str, entry: Any, where: str, known: tuple[str, ...]) -> dict[str, Any]:
    if _KEY.fullmatch(key) is None:
        raise ConfigError(
            f"{where}: the key becomes a trait name, so it must be snake_case (lowercase "
            f"letters, digits and underscores, starting with a letter), got {key!r}"
        )
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table, got {entry!r}")
    _known(entry, known, where)
    return entry


def _known(entry: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in entry:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: unknown key '{key}'{hint}; known keys: {', '.join(known)}")


def _table(table: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{key}' must be a table ([engage.{key}.<key>])")
    return value
