"""The Profile API at Segment's paths, so an app's server code works by changing only the host.

segment-docs src/unify/profile-api.md (routes, parameters, answers, errors) and
profile-api-limits.md:

    GET /v1/spaces/{space_id}/collections/{users|accounts}/profiles/{type:value}/traits
        ?include=a,b &limit=10 (<= 200) &class=audience|computed_trait &verbose=true &next=
    .../external_ids ?include=user_id,email &limit= &verbose= &next=
    .../events       ?start= &end= &include= &exclude= &limit= &sort=asc|desc &next=
    .../metadata     ?verbose=
    .../links        ?limit= (<= 20)

Basic auth with the access token as the user name and an empty password. Any token is accepted
unless the space lists `access_tokens`. Errors are `{"error": {"code", "message"}}` with
Segment's codes; every answer carries a `Request-Id` header. Reads go through the identity
graph's indexes: a profile is found by one dict lookup whatever the number of profiles.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from segemu.http.keys import EMULATOR
from segemu.http.responses import json_response
from segemu.identity import Profile, Space
from segemu.identity.extract import user_ids
from segemu.message import Record, parse_timestamp

PREFIX = "/v1/spaces/{space_id}/collections/{collection}/profiles/{external_id}"
COLLECTIONS = ("users", "accounts")
# segment-docs profile-api.md: traits 10 by default and up to 200; links up to 20; other lists
# "between 1 and 100".
TRAITS_LIMIT = (10, 200)
LIST_LIMIT = (10, 100)
LINKS_LIMIT = (20, 20)
TRAIT_CLASSES = ("audience", "computed_trait")
# How many of a profile's calls one /events request looks at before it answers with a cursor:
# a filter that matches few calls never decodes a whole long history in one go.
EVENTS_SCANNED = 2000
NOT_FOUND = "Profile was not found."


class ProfileApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def answer(request: web.Request, data: Any, status: int = 200) -> web.Response:
    response = json_response(request, data, status)
    response.headers["Request-Id"] = str(uuid.uuid4())
    return response


def error(request: web.Request, exc: ProfileApiError) -> web.Response:
    response = answer(request, {"error": {"code": exc.code, "message": exc.message}}, exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Profile API"'
    return response


Handler = Callable[[web.Request, Space, Profile], dict[str, Any]]


def route(handler: Handler) -> Callable[[web.Request], Coroutine[Any, Any, web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            space, profile = _find(request)
            return answer(request, handler(request, space, profile))
        except ProfileApiError as exc:
            return error(request, exc)

    return handle


def _find(request: web.Request) -> tuple[Space, Profile]:
    identity = request.app[EMULATOR].identity
    space_id = request.match_info["space_id"]
    space = identity.space(space_id)
    if space is None:
        known = ", ".join(s.space_id for s in identity.spaces.all)
        raise ProfileApiError(
            404, "not_found", f"Space {space_id!r} was not found; segemu's spaces: {known}"
        )
    _authenticate(request, space)
    collection = request.match_info["collection"]
    if collection not in COLLECTIONS:
        raise ProfileApiError(
            400,
            "validation_error",
            f"The parameter `collection` must be users or accounts, got {collection!r}",
        )
    external_id = request.match_info["external_id"]
    id_type, separator, value = external_id.partition(":")
    if not separator or not id_type or not value:
        raise ProfileApiError(
            400,
            "validation_error",
            f"The parameter `id` must be an external id like user_id:u1, got {external_id!r}",
        )
    if id_type != id_type.lower():
        # segment-docs externalids.md: "externalIDs must be lower-case".
        raise ProfileApiError(
            400, "validation_error", f"external id types are lower-case: {id_type.lower()!r}"
        )
    profile = identity.profile(external_id, space=space.name, collection=collection)
    if profile is None:
        raise ProfileApiError(404, "not_found", NOT_FOUND)
    return space, profile


def _authenticate(request: web.Request, space: Space) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise ProfileApiError(
            401,
            "authentication_error",
            "The Profile API takes Basic auth with the access token as the user name and an "
            "empty password (curl -u TOKEN:)"
            + ("" if space.access_tokens else "; segemu accepts any token for this space"),
        )
    try:
        token = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        raise ProfileApiError(
            401, "authentication_error", "the Authorization header is not valid Basic auth"
        ) from None
    if space.access_tokens and token not in space.access_tokens:
        raise ProfileApiError(
            401,
            "authentication_error",
            f"access token not valid for space {space.space_id!r} (see its access_tokens)",
        )


def _limit(request: web.Request, bounds: tuple[int, int]) -> int:
    default, highest = bounds
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= highest:
        raise ProfileApiError(
            400,
            "validation_error",
            f"The parameter `limit` must be a whole number between 1 and {highest}, got {raw!r}",
        )
    return int(raw)


def _names(request: web.Request, name: str) -> set[str] | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _verbose(request: web.Request) -> bool:
    return request.query.get("verbose", "").lower() in ("true", "1")


def _cursor(request: web.Request, has_more: bool, following: str, limit: int) -> dict[str, Any]:
    url = request.rel_url.update_query(next=following) if has_more else request.rel_url
    return {
        "url": str(url),
        "has_more": has_more,
        "next": following if has_more else "",
        "limit": limit,
    }


# -- the routes ----------------------------------------------------------------------------------


def traits(request: web.Request, space: Space, profile: Profile) -> dict[str, Any]:
    limit = _limit(request, TRAITS_LIMIT)
    include = _names(request, "include")
    trait_class = request.query.get("class")
    if trait_class is not None and trait_class not in TRAIT_CLASSES:
        raise ProfileApiError(
            400,
            "validation_error",
            f"The parameter `class` must be audience or computed_trait, got {trait_class!r}",
        )
    start = request.query.get("next", "")
    verbose = _verbose(request)
    # Keys in order, so that `next` (the key to go on from) pages through them.
    names = sorted(
        name
        for name, trait in profile.traits.items()
        if (include is None or name in include)
        and (trait_class is None or trait.trait_class == trait_class)
        and name >= start
    )
    shown: dict[str, Any] = {}
    for name in names[:limit]:
        trait = profile.traits[name]
        shown[name] = (
            {"value": trait.value, "source_id": trait.source, "updated_at": trait.updated_at}
            if verbose
            else trait.value
        )
    has_more = len(names) > limit
    return {
        "traits": shown,
        "cursor": _cursor(request, has_more, names[limit] if has_more else "", limit),
    }


def external_ids(request: web.Request, space: Space, profile: Profile) -> dict[str, Any]:
    limit = _limit(request, LIST_LIMIT)
    include = _names(request, "include")
    start = _offset(request)
    found = [
        external
        for external in profile.external_ids.values()
        if include is None or external.type in include
    ]
    page = found[start : start + limit]
    data = []
    for external in page:
        entry = {
            "source_id": external.source,
            "collection": external.collection,
            "id": external.id,
            "type": external.type,
            "created_at": external.first_seen,
            "encoding": "none",
            "first_message_id": external.first_message_id,
        }
        if _verbose(request):
            entry["last_seen_at"] = external.last_seen
        data.append(entry)
    has_more = len(found) > start + limit
    return {"data": data, "cursor": _cursor(request, has_more, str(start + limit), limit)}


def _offset(request: web.Request) -> int:
    raw = request.query.get("next", "")
    if raw == "":
        return 0
    if not (raw.isascii() and raw.isdigit()):
        raise ProfileApiError(
            400, "invalid_request_error", f"The cursor `next` is not valid: {raw!r}"
        )
    return int(raw)


def events(request: web.Request, space: Space, profile: Profile) -> dict[str, Any]:
    limit = _limit(request, LIST_LIMIT)
    include = _names(request, "include")
    exclude = _names(request, "exclude") or set()
    sort = request.query.get("sort", "desc")
    if sort not in ("asc", "desc"):
        raise ProfileApiError(
            400, "validation_error", f"The parameter `sort` must be asc or desc, got {sort!r}"
        )
    start, end = _moment(request, "start"), _moment(request, "end")
    cursor = request.query.get("next", "")
    if cursor and not (cursor.isascii() and cursor.isdigit()):
        raise ProfileApiError(
            400, "invalid_request_error", f"The cursor `next` is not valid: {cursor!r}"
        )
    ids = list(profile.record_ids)
    if sort == "desc":
        ids.reverse()
    if cursor:
        after = int(cursor)
        ids = [i for i in ids if (i < after if sort == "desc" else i > after)]
    store = request.app[EMULATOR].store
    data: list[dict[str, Any]] = []
    last = 0
    has_more = False
    for scanned, record_id in enumerate(ids):
        if len(data) >= limit or scanned >= EVENTS_SCANNED:
            has_more = True
            break
        last = record_id
        record = store.get(record_id)
        if record is None:
            continue
        entry = _event_entry(record, space, profile)
        name = entry.get("event")
        if include is not None and name not in include:
            continue
        if name in exclude:
            continue
        moment = parse_timestamp(entry["timestamp"])
        if moment is not None and (
            (start is not None and moment < start) or (end is not None and moment >= end)
        ):
            continue
        data.append(entry)
    return {"data": data, "cursor": _cursor(request, has_more, str(last), limit)}


def _moment(request: web.Request, name: str) -> Any:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    moment = parse_timestamp(raw if "T" in raw else f"{raw}T00:00:00Z")
    if moment is None:
        raise ProfileApiError(
            400, "validation_error", f"The parameter `{name}` must be ISO 8601, got {raw!r}"
        )
    return moment


def _event_entry(record: Record, space: Space, profile: Profile) -> dict[str, Any]:
    event = record["event"]
    carried = [
        {"collection": profile.collection, "type": kind, "id": value, "encoding": "none"}
        for kind, value in user_ids(event, space.settings)
        if (kind, value) in profile.external_ids
    ]
    entry: dict[str, Any] = {
        "external_ids": carried,
        "context": event.get("context", {}),
        "type": event.get("type"),
        "message_id": record["messageId"],
        "source_id": record.get("source"),
        "timestamp": event.get("timestamp") or record["receivedAt"],
        "properties": event.get("properties", {}),
        "related": {profile.collection: profile.segment_id},
    }
    kind = event.get("type")
    if kind == "track":
        entry["event"] = event.get("event")
    elif kind in ("page", "screen"):
        # Segment's timeline names page and screen calls as events (profile-api.md's example).
        entry["event"] = "Page Viewed" if kind == "page" else "Screen Viewed"
    elif kind in ("identify", "group"):
        entry["traits"] = event.get("traits", {})
    return entry


def metadata(request: web.Request, space: Space, profile: Profile) -> dict[str, Any]:
    return {
        "metadata": {
            "created_at": profile.created_at,
            "updated_at": profile.updated_at,
            "expires_at": None,
            "first_message_id": profile.first_message_id,
            "first_source_id": profile.first_source,
            "last_message_id": profile.last_message_id,
            "last_source_id": profile.last_source,
        }
    }


def links(request: web.Request, space: Space, profile: Profile) -> dict[str, Any]:
    limit = _limit(request, LINKS_LIMIT)
    identity = request.app[EMULATOR].identity
    data = []
    for segment_id, collection in list(profile.links.items())[:limit]:
        linked = identity.profile(
            f"segment_id:{segment_id}", space=space.name, collection=collection
        )
        if linked is None:
            continue
        data.append(
            {
                "to_collection": collection,
                "external_ids": [
                    {
                        "id": external.id,
                        "type": external.type,
                        "source_id": external.source,
                        "collection": collection,
                        "created_at": external.first_seen,
                        "encoding": "none",
                    }
                    for external in linked.external_ids.values()
                ],
            }
        )
    return {"data": data}


def setup_routes(app: web.Application) -> None:
    for name, handler in (
        ("traits", traits),
        ("external_ids", external_ids),
        ("events", events),
        ("metadata", metadata),
        ("links", links),
    ):
        app.router.add_get(f"{PREFIX}/{name}", route(handler))


def openapi_paths() -> dict[str, Any]:
    """These routes, for /_segemu/openapi.json (segemu/http/openapi.py)."""
    error = {"content": {"application/json": {"schema": {"type": "object"}}}}
    answers = {
        "200": {"description": "Segment's answer shape.", **error},
        "400": {"description": "validation_error or invalid_request_error.", **error},
        "401": {"description": "authentication_error.", **error},
        "403": {"description": "Refused: another origin, or a foreign Host.", **error},
        "404": {"description": "not_found: no such profile or space.", **error},
    }

    def path_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": schema,
        }

    def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "schema": schema,
        }

    text = {"type": "string"}
    day = {"type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"}
    schemas: dict[str, dict[str, Any]] = {
        "include": text,
        "exclude": text,
        "verbose": {"enum": ["true", "false"]},
        "class": {"enum": list(TRAIT_CLASSES)},
        "sort": {"enum": ["asc", "desc"]},
        "start": day,
        "end": day,
        "next": text,
        "limit": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT[1]},
    }
    limits = {"traits": TRAITS_LIMIT[1], "links": LINKS_LIMIT[1]}
    common = [
        path_param("space_id", "The space's id or name (`default`).", {"type": "string"}),
        path_param("collection", "users or accounts.", {"enum": list(COLLECTIONS)}),
        path_param(
            "external_id",
            "type:value, e.g. user_id:u1 (types are lower-case).",
            {"type": "string", "pattern": "^[a-z0-9_.\\-]+:.+$"},
        ),
    ]
    extra = {
        "traits": ["include", "limit", "class", "verbose"],
        "external_ids": ["include", "limit", "verbose"],
        "events": ["start", "end", "include", "exclude", "limit", "sort"],
        "metadata": ["verbose"],
        "links": ["limit"],
    }

    def parameters(name: str, names: list[str]) -> list[dict[str, Any]]:
        found = []
        for q in names:
            schema = schemas[q]
            if q == "limit":
                schema = {**schema, "maximum": limits.get(name, LIST_LIMIT[1])}
            found.append(query(q, f"Segment's `{q}`.", schema))
        return [*common, *found]

    return {
        f"{PREFIX}/{name}": {
            "get": {
                "tags": ["Profile API"],
                "summary": f"A profile's {name.replace('_', ' ')} (Segment's Profile API)",
                "security": [{"accessToken": []}],
                "parameters": parameters(name, params),
                "responses": answers,
            }
        }
        for name, params in extra.items()
    }
