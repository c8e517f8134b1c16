"""Reading the Profile API over HTTP as an app's server code does (Basic auth, the access token
as the user name)."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp


def auth(token: str = "any-token") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{token}:".encode()).decode()}


async def profile_api(
    http: aiohttp.ClientSession,
    base_url: str,
    path: str,
    *,
    space: str = "default",
    collection: str = "users",
    token: str = "any-token",
    status: int = 200,
) -> Any:
    """GET /v1/spaces/{space}/collections/{collection}/profiles/{path}; checks the status."""
    url = f"{base_url}/v1/spaces/{space}/collections/{collection}/profiles/{path}"
    async with http.get(url, headers=auth(token)) as response:
        body = await response.json()
        assert response.status == status, body
        assert response.headers["Request-Id"]
        return body
