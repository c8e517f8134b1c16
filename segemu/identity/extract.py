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
    found (the caller sorts them by priority). On the ingest path of every call: plain dict
    lookups, no work for what a call does not carry."""
    found: list[ExternalIdKey] = []
    text = _text(event.get("userId"))
    if text is not None:
        found.append(("user_id", text))
    text = _text(event.get("anonymousId"))
    if text is not None:
        found.append(("anonymous_id", text))
    call_type = event.get("type")
    if call_type == "alias":
        text = _text(event.get("previousId"))
        if text is not None:
            found.append((previous_id_type(event), text))
    traits = event.get("traits") if call_type != "group" else None
    context = event.get("context")
    context = context if type(context) is dict else _EMPTY
    context_traits = context.get("traits")
    properties = event.get("properties")
    holders = [h for h in (traits, context_traits, properties) if type(h) is dict and h]
    for holder in holders:
        if "email" in holder:
            text = _text(holder["email"])
            if text is not None:
                found.append(("email", text))
    device = context.get("device")
    if type(device) is dict:
        _device_ids(device, found)
    for integrations in (event.get("integrations"), context.get("integrations")):
        if type(integrations) is dict and integrations:
            google = integrations.get("Google Analytics")
            if type(google) is dict and "clientId" in google:
                text = _text(google["clientId"])
                if text is not None:
                    found.append(("ga_client_id", text))
    external = context.get("externalIds")
    if type(external) is list:
        for entry in external[:MAX_EXTERNAL_IDS]:
            entry = _dict(entry)
            id_type = entry.get("type")
            text = _text(entry.get("id"))
            if (
                type(id_type) is str
                and id_type
                and text is not None
                and entry.get("collection", "users") == "users"
            ):
                # segment-docs externalids.md: "externalIDs must be lower-case" (their types).
                found.append((id_type.lower(), text))
    for name in settings.identifiers:
        for holder in holders:
            if name in holder:
                text = _text(holder[name])
                if text is not None:
                    found.append((name, text))
    if len(found) > 2:
        found = list(dict.fromkeys(found))
    elif len(found) == 2 and found[0] == found[1]:
        del found[1]
    return found


def _device_ids(device: dict[str, Any], found: list[ExternalIdKey]) -> None:
    platform = device.get("type")
    if type(platform) is not str:
        return
    prefix = platform.lower()
    if prefix not in ("ios", "android"):
        return
    for key, suffix in (("id", ".id"), ("token", ".push_token")):
        text = _text(device.get(key))
        if text is not None:
            found.append((prefix + suffix, text))
    if device.get("adTrackingEnabled") is True:
        text = _text(device.get("advertisingId"))
        if text is not None:
            found.append((prefix + ".idfa", text))


_EMPTY: dict[str, Any] = {}


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
