"""/_segemu/openapi.json describes every route the app serves, and nothing it does not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from segemu import create_emulator
from segemu.http.app import create_app
from segemu.http.server import RunningServer
from segemu.http.tracking import BATCH_ROUTES, SINGLE_ROUTES
from tests.conftest import get_json

CATCH_ALL = "/{tail}"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture
async def document(server: RunningServer, http: aiohttp.ClientSession) -> dict[str, Any]:
    async with http.get(f"{server.url}/_segemu/openapi.json") as response:
        assert response.content_type == "application/json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    answer: dict[str, Any] = await get_json(http, f"{server.url}/_segemu/openapi.json")
    return answer


def served() -> dict[str, set[str]]:
    """Every path the app registers, with its methods (lower case, HEAD left out: aiohttp
    adds it to every GET), the tracking routes' pattern expanded to each name."""
    app = create_app(create_emulator(db=":memory:"))
    paths: dict[str, set[str]] = {}
    tracking_names = [*SINGLE_ROUTES, *BATCH_ROUTES]
    for resource in app.router.resources():
        methods = {route.method.lower() for route in resource if route.method != "HEAD"}
        canonical = resource.canonical
        if canonical == CATCH_ALL:
            continue
        if canonical == "/v1/{route}":
            # One regex route serves several names: expand it to the names it matches.
            pattern = resource.get_info()["pattern"]
            names = [name for name in tracking_names if pattern.fullmatch(f"/v1/{name}")]
            assert names, f"a tracking route that serves none of {tracking_names}"
            for name in names:
                paths.setdefault(f"/v1/{name}", set()).update(methods)
            continue
        if canonical.startswith("/v1/") and canonical.endswith("/"):
            # The SDKs' routes also answer with a trailing slash; the document names each once.
            canonical = canonical.rstrip("/")
        paths.setdefault(canonical, set()).update(methods)
    return paths


def test_every_tracking_name_is_served() -> None:
    paths = served()
    for name in [*SINGLE_ROUTES, *BATCH_ROUTES]:
        assert paths.get(f"/v1/{name}") == {"post"}, name


async def test_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] == "segemu"
    assert document["info"]["version"]


async def test_describes_every_route_and_only_those(document: dict[str, Any]) -> None:
    paths = served()
    described = {
        path: {method for method in item if method in HTTP_METHODS}
        for path, item in document["paths"].items()
    }
    assert described == paths


async def test_every_operation_has_responses_and_a_tag(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            assert operation.get("responses"), f"{method} {path}"
            for status, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status), f"{method} {path} {status}"
                assert response["description"], f"{method} {path} {status}"
            assert operation.get("summary"), f"{method} {path}"
            assert operation.get("tags"), f"{method} {path}"
            # Path parameters are declared, and only the ones in the path.
            in_path = set(re.findall(r"{(\w+)}", path))
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, f"{method} {path}"


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


async def test_every_ref_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    found = list(refs(document))
    assert found
    for ref in found:
        prefix, _, name = ref.rpartition("/")
        assert prefix == "#/components/schemas", ref
        assert name in schemas, ref
    # And every schema is used by something.
    assert {ref.rpartition("/")[2] for ref in found} == set(schemas)


async def test_passes_the_openapi_spec_validator(document: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)
