"""A Source Function called by name with a webhook given as data: what the control API's
POST /_segemu/functions/<name>/requests and the pytest API's `function_request` run. The
answer is the invocation, with the stored records its emitted calls became."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from segemu.emulator import Emulator


async def invoke_by_name(
    emulator: Emulator, name: str, payload: Any, base_url: str
) -> tuple[dict[str, Any], str | None]:
    """(the invocation, None), or ({}, the problem with the request)."""
    functions = emulator.functions
    source = functions.source(name)
    if source is None:
        known = ", ".join(f["name"] for f in functions.describe() if f["kind"] == "source")
        return {}, f"no Source Function named {name!r}; known: {known or 'none configured'}"
    if not isinstance(payload, dict):
        return {}, "the body must be a JSON object: {method, headers, query, body}"
    body = payload.get("body", "")
    headers = payload.get("headers") or {}
    query = payload.get("query") or {}
    if not isinstance(body, str):
        return {}, "'body' is the webhook's body as a string"
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return {}, "'headers' must be an object of strings"
    if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
        return {}, "'query' must be an object of strings"
    url = f"{base_url}/functions/{name}" + (f"?{urlencode(query)}" if query else "")
    method = str(payload.get("method") or "POST")
    answer = await functions.request(source, method, url, dict(headers), body)
    invocation = dict(answer.invocation)
    stored = (emulator.store.get(record_id) for record_id in invocation["recordIds"])
    invocation["records"] = [emulator.readable(r) for r in stored if r is not None]
    return invocation, None
