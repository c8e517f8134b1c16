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
    lookups, no work for what a call does not carry, and the ids most calls carry (userId,
    anonymousId as strings) read without a helper call."""
    found: list[ExternalIdKey] = []
    value = event.get("userId")
    if type(value) is str:
        if len(value) <= MAX_ID_LENGTH:
            found.append(("user_id", value))
    elif value is not None and (text := _text(value)) is not None:
        found.append(("user_id", text))
    value = event.get("anonymousId")
    if type(value) is str:
        if len(value) <= MAX_ID_LENGTH:
            found.append(("anonymous_id", value))
    elif value is not None and (text := _text(value)) is not None:
        found.append(("anonymous_id", text))
    call_type = event.get("type")
    if call_type == "alias":
        text = _text(event.get("previousId"))
        if text is not None:
            found.append((previous_id_type(event), text))
    context = event.get("context")
    # Most calls' context holds none of the places ids are read from (library, page,
    # userAgent, ...): one set operation in C then stands for the four lookups below.
    if type(context) is not dict or context.keys().isdisjoint(_CONTEXT_ID_PLACES):
        context = _EMPTY
    # Where email and custom identifiers are read, in this order: a group call's traits are
    # the account's, not the user's.
    holders: list[dict[str, Any]] = []
    holder = None if call_type == "group" else event.get("traits")
    if type(holder) is dict and holder:
        holders.append(holder)
    if context:
        holder = context.get("traits")
        if type(holder) is dict and holder:
            holders.append(holder)
    holder = event.get("properties")
    if type(holder) is dict and holder:
        holders.append(holder)
    for holder in holders:
        if "email" in holder:
            text = _text(holder["email"])
            if text is not None:
                found.append(("email", text))
    if context:
        device = context.get("device")
        if type(device) is dict:
            _device_ids(device, found)
    integrations = event.get("integrations")
    if integrations:
        _google_id(integrations, found)
    if context:
        integrations = context.get("integrations")
        if integrations:
            _google_id(integrations, found)
        external = context.get("externalIds")
        if type(external) is list:
            _external_ids(external, found)
    if holders and settings.identifiers:
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


def _google_id(integrations: Any, found: list[ExternalIdKey]) -> None:
    if type(integrations) is not dict:
        return
    google = integrations.get("Google Analytics")
    if type(google) is dict and "clientId" in google:
        text = _text(google["clientId"])
        if text is not None:
            found.append(("ga_client_id", text))


def _external_ids(external: list[Any], found: list[ExternalIdKey]) -> None:
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
_CONTEXT_ID_PLACES = frozenset(("traits", "device", "integrations", "externalIds"))


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
