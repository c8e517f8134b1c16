"""Which destinations Segment would send one event to, and why not the others.

The checks, in the order Segment applies them:
1. the destination is enabled and connected to the event's source;
2. Schema controls: events blocked for the source (DOCS protocols/enforce/schema-configuration.md)
   and the tracking plan's blocking settings (record["protocols"]["blocked"]);
3. consent: with `context.consent.categoryPreferences`, a destination mapped to categories gets
   the event only if every one of its categories is consented; an event without the consent
   object flows to every destination (DOCS privacy/consent-management/
   consent-in-segment-connections.md; consent-faq.md). Segment checks consent before the
   integrations object;
4. the integrations object: `All: false` turns every destination off unless named true; a
   destination named `false` is off; `true` or an options object is on. Names are
   case-sensitive and match the destination's catalog name (DOCS spec/common.md
   §Integrations). A near miss ("mixpanel" for "Mixpanel") is explained in the reason;
5. destination filters, in Segment's order: sample, drop ("only send" is a drop), drop
   properties, allow properties (DOCS connections/destinations/destination-filters.md
   §Limitations);
6. the destination's action subscriptions (Actions destinations run only subscribed actions).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from segemu.destinations.config import Destination, DestinationFilter
from segemu.sources import Source

_FILTER_ORDER = {
    "sample": 0,
    "drop": 1,
    "only": 1,
    "drop_properties": 2,
    "drop_traits": 2,
    "allow_properties": 3,
    "allow_traits": 3,
}


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
    name = event.get("event")
    if source is not None and name is not None and name in source.block_events:
        return filtered(f"event '{name}' is blocked for source '{source.name}' (Schema controls)")
    if blocked_by_plan:
        return filtered(f"tracking plan: {blocked_by_plan}")
    consent = _consent(destination, event)
    if consent is not None:
        return filtered(consent)
    integrations = _integrations(destination, event.get("integrations"))
    if integrations is not None:
        return filtered(integrations)
    for rule in sorted(destination.filters, key=lambda f: _FILTER_ORDER[f.action]):
        event, reason = _apply(rule, destination, event)
        if reason is not None:
            return filtered(reason)
    return Decision("route", None, event)


def _consent(destination: Destination, event: dict[str, Any]) -> str | None:
    context = event.get("context")
    consent = context.get("consent") if isinstance(context, dict) else None
    preferences = consent.get("categoryPreferences") if isinstance(consent, dict) else None
    if not isinstance(preferences, dict) or not preferences or not destination.consent_categories:
        return None
    # A category the consent object does not mention counts as not consented.
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
    if integrations.get("All", True) is False:
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


def _apply(
    rule: DestinationFilter, destination: Destination, event: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    matches = rule.condition is None or rule.condition(event)
    if rule.action == "sample":
        if matches and _sampled_out(event, destination.id, rule.percent):
            return event, f"filter '{rule.name}': sampled out (keeps {rule.percent:g}%)"
        return event, None
    if rule.action == "drop":
        return event, (f"filter '{rule.name}' (drop event)" if matches else None)
    if rule.action == "only":
        return event, (None if matches else f"filter '{rule.name}' (only send matching events)")
    if not matches:
        return event, None
    key = "properties" if rule.action.endswith("properties") else "traits"
    fields = event.get(key)
    if not isinstance(fields, dict):
        return event, None
    if rule.action.startswith("drop"):
        kept = {k: v for k, v in fields.items() if k not in rule.fields}
    else:
        kept = {k: v for k, v in fields.items() if k in rule.fields}
    # The copy keeps the stored event intact: other destinations see every field.
    return {**event, key: kept}, None


def _sampled_out(event: dict[str, Any], destination_id: str, percent: float) -> bool:
    # Segment samples at random; here the draw is a hash of messageId and destination, so the
    # same event gets the same decision on every run and in every test.
    digest = hashlib.blake2b(
        f"{event.get('messageId')}:{destination_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest) % 10_000 >= percent * 100
