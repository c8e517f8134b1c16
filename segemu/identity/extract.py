"""The external ids a call carries, as Segment promotes them (segment-docs
src/unify/identity-resolution/externalids.md, "Default externalIDs", and
identity-resolution-settings.md):

| type                | where                                                              |
| user_id             | userId                                                             |
| anonymous_id        | anonymousId                                                        |
| email               | traits.email, context.traits.email (and properties.email: segemu) |
| ios.id / android.id | context.device.id when context.device.type is ios / android        |
| *.idfa              | context.device.advertisingId, when context.device.adTrackingEnabled |
| *.push_token        | context.device.token                                               |
| ga_client_id        | integrations["Google Analytics"].clientId                          |
| (any type)          | context.externalIds [{id, type, collection: users, encoding}]     |
| custom identifiers  | properties.<name>, traits.<name>, context.traits.<name>            |

`group_id` (groupId of a group call) is an account's identifier, read by `account_id`.
Work is linear in the number of identifiers, with each value capped (MAX_ID_LENGTH).
"""

from __future__ import annotations

from typing import Any

from segemu.identity.settings import MAX_ID_LENGTH, IdentitySettings

ExternalIdKey = tuple[str, str]
# At most this many entries of context.externalIds are read from one call.
MAX_EXTERNAL_IDS = 50


def _text(value: Any) -> str | None:
    """An identifier's value as text: strings as sent, whole numbers as Segment coerces them."""
    if type(value) is str:
        return value if len(value) <= MAX_ID_LENGTH else None
    if type(value) is int:
        return str(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if type(value) is dict else {}


def user_ids(event: dict[str, Any], settings: IdentitySettings) -> list[ExternalIdKey]:
    """Every (type, value) of the users collection the call carries, each once, in the order
    found (the caller sorts them by priority)."""
    found: list[ExternalIdKey] = []

    def add(id_type: str, value: Any) -> None:
        text = _text(value)
        if text is not None and (id_type, text) not in found:
            found.append((id_type, text))

    add("user_id", event.get("userId"))
    add("anonymous_id", event.get("anonymousId"))
    call_type = event.get("type")
    if call_type == "alias":
        add(previous_id_type(event), event.get("previousId"))
    traits = _dict(event.get("traits")) if call_type != "group" else {}
    context = _dict(event.get("context"))
    context_traits = _dict(context.get("traits"))
    properties = _dict(event.get("properties"))
    for holder in (traits, context_traits, properties):
        if "email" in holder:
            add("email", holder["email"])
    device = _dict(context.get("device"))
    platform = device.get("type")
    if type(platform) is str and platform.lower() in ("ios", "android"):
        prefix = platform.lower()
        add(f"{prefix}.id", device.get("id"))
        if device.get("adTrackingEnabled") is True:
            add(f"{prefix}.idfa", device.get("advertisingId"))
        add(f"{prefix}.push_token", device.get("token"))
    for integrations in (_dict(event.get("integrations")), _dict(context.get("integrations"))):
        google = _dict(integrations.get("Google Analytics"))
        if "clientId" in google:
            add("ga_client_id", google["clientId"])
    external = context.get("externalIds")
    if type(external) is list:
        for entry in external[:MAX_EXTERNAL_IDS]:
            entry = _dict(entry)
            id_type = entry.get("type")
            if type(id_type) is str and id_type and entry.get("collection", "users") == "users":
                # segment-docs externalids.md: "externalIDs must be lower-case" (their types).
                add(id_type.lower(), entry.get("id"))
    for name in settings.identifiers:
        for holder in (properties, traits, context_traits):
            if name in holder:
                add(name, holder[name])
    return found


def previous_id_type(event: dict[str, Any]) -> str:
    """An alias's previousId is "the existing ID you've referred to the user by. It might be an
    Anonymous ID ... or a User ID" (segment-docs connections/spec/alias). The graph looks it up
    as both; as a new identifier it is an anonymous_id (see Graph.resolve)."""
    return "anonymous_id"


def account_id(event: dict[str, Any]) -> str | None:
    """The group_id of a group call: the account the call's user is linked to."""
    if event.get("type") != "group":
        return None
    return _text(event.get("groupId"))
