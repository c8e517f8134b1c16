"""One function run on one input, as Segment's "Test function" panel runs it (DOCS
source-functions.md §Test the source function; destination-functions.md §Test the destination
function): the calls it emitted or the requests it made, its console output, its return value,
and the outcome its error type means. `segemu function run` prints it; the pytest API uses
`Functions.request` instead, on a running emulator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from segemu.config import ConfigError
from segemu.functions.config import FunctionsSettings
from segemu.functions.deliver import HANDLERS, classify
from segemu.functions.outbound import FetchPolicy
from segemu.functions.pool import WorkerPool
from segemu.outbound import Sender

TRIAL_URL = "http://localhost/functions/trial"


def webhook_request(raw: Any, where: str) -> dict[str, Any]:
    """A webhook file: {"method", "headers", "query", "body"} (body any JSON, or a string),
    or a bare JSON body."""
    if not isinstance(raw, dict) or "body" not in raw:
        raw = {"body": raw}
    body = raw["body"]
    headers = raw.get("headers") or {"Content-Type": "application/json"}
    if not isinstance(headers, dict):
        raise ConfigError(f"{where}: 'headers' must be an object")
    query = raw.get("query") or {}
    url = str(raw.get("url") or TRIAL_URL)
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return {
        "method": str(raw.get("method", "POST")),
        "url": url,
        "headers": {str(k): str(v) for k, v in headers.items()},
        "body": body if isinstance(body, str) else json.dumps(body),
    }


async def run_once(
    node: str,
    path: Path,
    code: str,
    settings: dict[str, Any],
    functions: FunctionsSettings,
    sender: Sender,
    *,
    request: dict[str, Any] | None = None,
    event: Any = None,
) -> dict[str, Any]:
    """Load `path` and run onRequest(request) or the handler for `event` (onBatch for a
    list). The answer is plain data for printing."""
    pool = WorkerPool(node, 1, functions.modules)
    await pool.start()
    try:
        loaded = await pool.load("trial", str(path), code)
        if not loaded.ok:
            return {"file": str(path), "outcome": "does not compile", "error": loaded.error}
        args: list[Any]
        if request is not None:
            handler, args = "onRequest", [request, settings]
        elif isinstance(event, list):
            handler, args = "onBatch", [event, settings]
        else:
            kind = event.get("type") if isinstance(event, dict) else None
            handler = HANDLERS.get(str(kind), "onTrack")
            args = [event, settings]
        fetches: list[dict[str, Any]] = []
        policy = FetchPolicy(functions, sender)

        async def on_fetch(asked: dict[str, Any]) -> dict[str, Any]:
            return await policy.answer(asked, fetches)

        result = await pool.invoke("trial", handler, args, functions.timeout, on_fetch)
    finally:
        await pool.close()
    verdict = classify(result)
    return {
        "file": str(path),
        "handler": handler,
        "handlers": loaded.handlers,
        # A Source Function's outcome is its webhook answer; a destination's, its delivery.
        "outcome": verdict.outcome if request is None else ("success" if result.ok else "error"),
        "detail": verdict.detail,
        "error": result.error,
        "logs": result.logs,
        "emitted": result.emitted,
        "fetches": fetches,
        "returned": result.value,
        "durationMs": round(result.duration_ms, 3),
    }
