"""Which destinations Segment would send one event to, and why not the others.

The checks, in the order Segment applies them:
1. the destination is enabled and connected to the event's source;
2. Schema controls: track events, page and screen calls blocked for the source (sources.py
   `Source.blocked_call`; DOCS connections/sources/schema/index.md) and the tracking plan's
   blocking settings (record["protocols"]["blocked"]); traits they omit are already gone
   from the event routing sees (runtime.py);
3. consent: with `context.consent.categoryPreferences`, a destination mapped to categories gets
   the event only if every one of its categories is consented; an event without the consent
   object flows to every destination (DOCS privacy/consent-management/
   consent-in-segment-connections.md; consent-faq.md). Segment checks consent before the
   integrations object;
4. the integrations object: `All: false` turns every destination but the warehouses off
   unless named true; a
   destination named `false` is off; `true` or an options object is on. Names are
   case-sensitive and match the destination's catalog name (DOCS spec/common.md
   §Integrations). A near miss ("mixpanel" for "Mixpanel") is explained in the reason;
5. destination filters (filters.py), in Segment's order: sample, drop ("only send" is a
   drop), drop properties, allow properties (DOCS connections/destinations/
   destination-filters.md §Limitations);
6. the destination's action subscriptions (Actions destinations run only subscribed actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segemu.destinations.config import Destination
from segemu.destinations.filters import apply_filters
from segemu.sources import Source


@dataclass(frozen=True, slots=True)
class Decision:
    # "route" (go on to the mapping) or "filtered".
    outcome: str
    reason: str | None
    # The event as this destination receives it, after property/trait filters.
    event: dict[str, Any]


def decide(
    destination: Destination,
    source: Source | None,
    event: dict[str, Any],
    blocked_by_plan: str | None = None,
) -> Decision:
    def filtered(reason: str) -> Decision:
        return Decision("filtered", reason, event)

    if not destination.enabled:
        return filtered("destination is disabled")
    if (
        source is not None
        and source.destinations is not None
        and destination.id not in source.destinations
    ):
        return filtered(f"not connected to source '{source.name}'")
    blocked = source.blocked_call(event.get("type"), event) if source is not None else None
    if blocked is not None:
        return filtered(blocked)
    if blocked_by_plan:
        return filtered(f"tracking plan: {blocked_by_plan}")
    consent = _consent(destination, event)
    if consent is not None:
        return filtered(consent)
    integrations = _integrations(destination, event.get("integrations"))
    if integrations is not None:
        return filtered(integrations)
    if destination.filters:
        event, reason = apply_filters(destination.filters, event)
        if reason is not None:
            return filtered(reason)
    return Decision("route", None, event)


def _consent(destination: Destination, event: dict[str, Any]) -> str | None:
    context = event.get("context")
    consent = context.get("consent") if isinstance(context, dict) else None
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if not isinstance(preferences, dict) or not destination.consent_categories:
        return None
    # A category the consent object does not mention counts as not consented, so an empty
    # categoryPreferences denies every category (consent-in-segment-connections.md: a
    # destination gets an event only when all its categories are consented to).
    denied = [c for c in destination.consent_categories if preferences.get(c) is not True]
    if denied:
        return f"consent: {', '.join(denied)} denied"
    return None


def _integrations(destination: Destination, integrations: Any) -> str | None:
    if not isinstance(integrations, dict) or not integrations:
        return None
    for alias in destination.aliases:
        if alias in integrations:
            value = integrations[alias]
            if value is False:
                return f"filtered by integrations object ('{alias}': false)"
            accepts = destination.preset.accepts_options
            if (
                isinstance(value, dict)
                and accepts is not None
                and not accepts(value, destination.settings)
            ):
                return f"filtered by integrations object ('{alias}': {value})"
            return None  # true, or an options object: on, whatever All says
    # `All: false` blocks "all downstream destinations, except data warehouses" (DOCS
    # guides/filtering-data.md §Integrations object); warehouses answer to `Warehouses` alone.
    if integrations.get("All", True) is False and not destination.preset.ignores_all:
        near = _near_miss(destination, integrations)
        return "filtered by integrations object (All: false)" + near
    return None


def _near_miss(destination: Destination, integrations: dict[str, Any]) -> str:
    folded = {alias.casefold(): alias for alias in destination.aliases}
    for key in integrations:
        if isinstance(key, str) and key.casefold() in folded:
            return (
                f"; '{key}' does not match: names are case-sensitive, Segment knows this "
                f"destination as '{folded[key.casefold()]}'"
            )
    return ""
