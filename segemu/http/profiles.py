"""The control API's profiles: /_segemu/profiles (list and search), /_segemu/profiles/{id}, and
the identity changes of one call (/_segemu/events/{messageId}/identity)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from segemu.http.keys import EMULATOR
from segemu.http.params import ParamError, int_param
from segemu.http.responses import error_response, json_response
from segemu.identity import Identity
from segemu.identity.views import lookup, profile_view, search_profiles

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def _space(request: web.Request, identity: Identity) -> str | web.Response | None:
    space = request.query.get("space") or None
    if space is not None and identity.space(space) is None:
        known = ", ".join(s.name for s in identity.spaces.all)
        return error_response(
            request, 404, "not_found", f"no space {space!r}; segemu's spaces: {known}"
        )
    return space


def _collection(request: web.Request) -> str | web.Response:
    collection = request.query.get("collection", "users")
    if collection not in ("users", "accounts"):
        return error_response(request, 400, "invalid_query", "collection must be users or accounts")
    return collection


async def list_profiles(request: web.Request) -> web.Response:
    """GET /_segemu/profiles?q=&space=&collection=users|accounts&limit=&next=; with
    ?id=type:value, the one profile with that external id in detail (or none)."""
    emulator = request.app[EMULATOR]
    identity = emulator.identity
    space = _space(request, identity)
    if isinstance(space, web.Response):
        return space
    collection = _collection(request)
    if isinstance(collection, web.Response):
        return collection
    try:
        limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = int_param(request, "next", 0, 0, 10**9)
    except ParamError as exc:
        return error_response(request, 400, "invalid_query", str(exc))
    assert limit is not None
    assert offset is not None
    external_id = request.query.get("id")
    if external_id:
        return json_response(
            request, lookup(identity, external_id, space, collection, emulator.store.next_id - 1)
        )
    q = request.query.get("q") or None
    page, more = await search_profiles(identity, space, collection, q, limit, offset)
    next_url = str(request.rel_url.update_query(next=offset + limit)) if more else None
    return json_response(
        request,
        {"profiles": [p.summary() for p in page], "count": len(page), "next": next_url},
    )


async def get_profile(request: web.Request) -> web.Response:
    """GET /_segemu/profiles/{type:value}?space=&collection=: one profile in detail."""
    identity = request.app[EMULATOR].identity
    space = _space(request, identity)
    if isinstance(space, web.Response):
        return space
    collection = _collection(request)
    if isinstance(collection, web.Response):
        return collection
    external_id = request.match_info["external_id"]
    id_type, _, value = external_id.partition(":")
    if not id_type or not value:
        return error_response(
            request,
            400,
            "invalid_id",
            f"a profile is named by an external id like user_id:u1, got {external_id!r}",
        )
    profile = identity.profile(external_id, space=space, collection=collection)
    if profile is None:
        return error_response(request, 404, "not_found", f"no profile with {external_id}")
    return json_response(request, profile_view(identity, profile))


async def call_identity(request: web.Request) -> web.Response:
    """GET /_segemu/events/{messageId}/identity: the profile a call resolved to, and the
    identity changes it caused, with the profiles they name as they are now."""
    emulator = request.app[EMULATOR]
    message_id = request.match_info["message_id"]
    record = emulator.store.first_with_message_id(message_id)
    if record is None:
        return error_response(request, 404, "not_found", f"no event with messageId {message_id!r}")
    return json_response(request, identity_of_call(emulator.identity, record))


def identity_of_call(identity: Identity, record: Any) -> dict[str, Any]:
    resolved = record.get("identity")
    if resolved is None:
        return {"messageId": record["messageId"], "identity": None, "profiles": {}}
    named = {resolved.get("segment_id"), resolved.get("account_id")}
    for change in resolved.get("changes", []):
        named.update(change.get(key) for key in ("segment_id", "from", "into", "account_id"))
        named.update(change.get("profiles") or [])
    profiles = {}
    for segment_id in sorted(s for s in named if isinstance(s, str)):
        profile = identity.by_segment_id(str(resolved.get("space")), segment_id)
        profiles[segment_id] = None if profile is None else profile.summary()
    return {"messageId": record["messageId"], "identity": resolved, "profiles": profiles}


def setup_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(f"{prefix}/profiles", list_profiles)
    app.router.add_get(f"{prefix}/profiles/{{external_id}}", get_profile)
    app.router.add_get(f"{prefix}/events/{{message_id}}/identity", call_identity)


def openapi_paths(prefix: str) -> dict[str, Any]:
    """These routes, for /_segemu/openapi.json (segemu/http/openapi.py)."""
    tag = ["Profiles"]
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    bad = {"400": {"description": "A client mistake, explained in `message`.", **error}}
    missing = {"404": {"description": "No such profile, space or call.", **error}}
    answer = {"content": {"application/json": {"schema": {"type": "object"}}}}

    def query(name: str, description: str, schema: dict[str, Any] | None = None) -> Any:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema or {"type": "string"},
        }

    space = query("space", "A space's name or space id (the default space if absent).")
    collection = query(
        "collection", "users (default) or accounts.", {"enum": ["users", "accounts"]}
    )
    return {
        f"{prefix}/profiles": {
            "get": {
                "tags": tag,
                "summary": "Profiles, most recently updated first; search with q",
                "parameters": [
                    query("q", "Text an identifier, the segment id or a trait contains."),
                    query("id", "One external id (type:value): that profile in detail."),
                    space,
                    collection,
                    query(
                        "limit",
                        "Page size.",
                        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    ),
                    query(
                        "next", "The cursor of the next page.", {"type": "integer", "minimum": 0}
                    ),
                ],
                "responses": {
                    "200": {"description": "`profiles`, `count`, `next`.", **answer},
                    **bad,
                    **missing,
                },
            }
        },
        f"{prefix}/profiles/{{external_id}}": {
            "get": {
                "tags": tag,
                "summary": "One profile: traits with history, identifiers, calls, merges",
                "parameters": [
                    {
                        "name": "external_id",
                        "in": "path",
                        "required": True,
                        "description": "type:value, e.g. user_id:u1 or segment_id:use_...",
                        "schema": {"type": "string", "pattern": "^[^:]+:.+$"},
                    },
                    space,
                    collection,
                ],
                "responses": {"200": {"description": "The profile.", **answer}, **bad, **missing},
            }
        },
        f"{prefix}/events/{{message_id}}/identity": {
            "get": {
                "tags": tag,
                "summary": "The profile one call resolved to, and its identity changes",
                "parameters": [
                    {
                        "name": "message_id",
                        "in": "path",
                        "required": True,
                        "description": "The call's messageId.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {"description": "`identity` and the `profiles` it names.", **answer},
                    **missing,
                },
            }
        },
    }
