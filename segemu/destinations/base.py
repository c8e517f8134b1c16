"""The contract every destination follows, in the style of Segment's Actions destinations.

An Actions destination (segmentio/action-destinations, packages/core/src/destination-kit) is a
set of actions; each action has a default subscription (an FQL condition such as
`type = "track"`), default field mappings (mapping-kit directives such as
`{"@path": "$.properties.revenue"}`), and a `perform` that turns the mapped fields into the
HTTP request the partner's API receives. Here the subscription and mappings are data, so a user
can paste the ones from their workspace into config, and `build` is the part of `perform` that
shapes the request (no network: segemu records it; only the Webhook destination really sends).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict


class Request(TypedDict):
    """One HTTP request a destination's API would have received."""

    action: str
    method: str
    url: str
    headers: dict[str, str]
    body: Any


# (mapped fields, destination settings) -> the requests perform() would send. Settings are the
# destination's settings from config merged over the preset's defaults.
Build = Callable[[dict[str, Any], Mapping[str, Any]], list[Request]]


@dataclass(frozen=True, slots=True)
class Action:
    # The name of the mapping in Segment's quick setup (e.g. "Track Calls"); config finds an
    # action by it. Each request names the action it came from ("Track Event").
    name: str
    # The default subscription, in Segment's FQL (segemu/destinations/fql.py).
    subscribe: str
    # The default field mappings, in mapping-kit directives (segemu/destinations/mapping.py),
    # resolved against the event as Segment stores it.
    mapping: Mapping[str, Any]
    build: Build
    # The action's key in action-destinations (e.g. "trackEvent"), for citations and config.
    key: str = ""


@dataclass(frozen=True, slots=True)
class Preset:
    # The default id of a destination made from this preset in config, e.g. "mixpanel".
    slug: str
    # The catalog name, e.g. "Mixpanel (Actions)".
    name: str
    # Every name the integrations object may use for this destination; matching is exact and
    # case-sensitive, as Segment's is (see segemu/destinations/routing.py).
    aliases: tuple[str, ...]
    actions: tuple[Action, ...]
    # Default settings (fake credentials are fine: nothing is sent).
    settings: Mapping[str, Any] = field(default_factory=dict)
    # Where the facts come from: doc pages and action-destinations paths.
    sources: tuple[str, ...] = ()
    # For a destination whose options object in the integrations object can switch it off
    # (the warehouse's {"all": false} or warehouseIds): (options, settings) -> still on?
    accepts_options: Callable[[Mapping[str, Any], Mapping[str, Any]], bool] | None = None
    # Whether its actions read the call's identity outcome (record["identity"]), handed to
    # them as the setting `identity` (the warehouse's Profiles Sync tables).
    reads_identity: bool = False
    # Whether `All: false` in the integrations object leaves it on: true of data warehouses
    # only (DOCS guides/filtering-data.md).
    ignores_all: bool = False
