"""Destination and Insert Functions as deliveries: run after the ack by the delivery worker.

Routing decided at ingest whether a call reaches the destination (connection, consent, the
integrations object by the destination's name, destination filters): a function is never
invoked for a call a filter dropped (DOCS destination-functions.md, "Your function isn't
invoked for an event if ... the event doesn't pass the filter"). Then, per delivery:

1. the Insert Function, if any, gets the call and returns it changed, or drops it
   (`DropEvent`, `EventNotSupported`, no handler for the type: DOCS insert-functions.md);
   the delivery keeps the call before and after;
2. the Destination Function's handler for the type (`onTrack`...), or `onBatch` when batching
   is on; else the destination's own mapping builds its requests from the changed call.

How an error decides the outcome (DOCS _includes/content/functions/errors-and-error-handling.md
and destination-functions.md §Handling batching errors): `RetryError`, a timeout, a network
error out of fetch and a lost worker are retried with the destination's retry policy;
`ValidationError` and `InvalidEventPayload` fail ("Message Rejected"); `EventNotSupported`
filters ("Unsupported Event Type"); any other error fails ("Bad Request").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segemu.destinations.base import Action, Preset, Request
from segemu.functions.config import Batching, FunctionFile
from segemu.functions.pool import Result

if TYPE_CHECKING:
    from segemu.destinations.runtime import LiveDelivery
    from segemu.functions.service import Functions

HANDLERS: dict[str, str] = {
    "track": "onTrack",
    "identify": "onIdentify",
    "page": "onPage",
    "screen": "onScreen",
    "group": "onGroup",
    "alias": "onAlias",
    "delete": "onDelete",
}
_EVERY_TYPE = " or ".join(f'type = "{kind}"' for kind in HANDLERS)
RETRIED = frozenset({"RetryError", "Timeout", "FetchError", "WorkerCrashed"})
REJECTED = frozenset({"ValidationError", "InvalidEventPayload"})


def function_preset(name: str) -> Preset:
    """A Destination Function as routing sees it: one action subscribed to every type, whose
    requests are the fetches the function makes (known once it ran)."""

    def no_requests(fields: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        return []

    action = Action(name="Function", subscribe=_EVERY_TYPE, mapping={}, build=no_requests)
    return Preset(slug="function", name=name, aliases=(), actions=(action,))


@dataclass(frozen=True, slots=True)
class FunctionAttempt:
    # delivered | filtered | failed | retry
    outcome: str
    detail: str | None = None


def classify(result: Result) -> FunctionAttempt:
    if result.ok:
        return FunctionAttempt("delivered")
    error = result.error or {}
    name = str(error.get("name", "Error"))
    message = str(error.get("message", ""))
    described = f"{name}: {message}" if message else name
    if error.get("line"):
        described += f" (line {error['line']})"
    if name in ("EventNotSupported", "DropEvent"):
        return FunctionAttempt("filtered", f"Unsupported Event Type: {described}")
    if name in REJECTED:
        return FunctionAttempt("failed", f"Message Rejected: {described}")
    if name in RETRIED:
        return FunctionAttempt("retry", described)
    return FunctionAttempt("failed", f"Bad Request: {described}")


def invocation_entry(
    role: str, handler: str, result: Result, fetches: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "role": role,
        "handler": handler,
        "ok": result.ok,
        "error": result.error,
        "returned": result.value,
        "logs": result.logs,
        "fetches": fetches,
        "durationMs": round(result.duration_ms, 3),
    }


def as_requests(handler: str, fetches: list[dict[str, Any]]) -> list[Request]:
    return [
        {
            "action": handler,
            "method": fetch["method"],
            "url": fetch["url"],
            "headers": fetch["headers"],
            "body": fetch["body"],
        }
        for fetch in fetches
    ]


@dataclass(slots=True)
class _Batch:
    items: list[tuple[dict[str, Any], asyncio.Future[tuple[FunctionAttempt, dict[str, Any]]]]] = (
        field(default_factory=list)
    )
    timer: asyncio.TimerHandle | None = None


class FunctionDeliveries:
    """Carries out one attempt of a delivery to a destination with functions."""

    def __init__(self, functions: Functions) -> None:
        self.functions = functions
        self._batches: dict[str, _Batch] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def attempt(self, live: LiveDelivery) -> FunctionAttempt:
        destination = live.destination
        bound = destination.functions
        assert bound is not None
        event = self.functions.routed_event(live.record, destination)
        handler = HANDLERS.get(str(event.get("type")), "onTrack")
        info = live.function if live.function is not None else {"invocations": []}
        live.function = info
        # The requests are what this attempt sends: none until the functions ran.
        live.requests = []
        if bound.insert is not None:
            result, fetches = await self.functions.invoke(bound.insert, handler, [event])
            info["invocations"].append(invocation_entry("insert", handler, result, fetches))
            if not result.ok:
                verdict = classify(result)
                if verdict.outcome == "filtered":
                    info["insert"] = {"before": event, "dropped": verdict.detail}
                    return FunctionAttempt("filtered", f"insert function: {verdict.detail}")
                return verdict
            if not isinstance(result.value, dict):
                reason = "insert function returned no event (return the event to forward it)"
                info["insert"] = {"before": event, "dropped": reason}
                return FunctionAttempt("filtered", reason)
            info["insert"] = {"before": event, "after": result.value}
            event = result.value
        if bound.function is None:
            # The destination's own mapping, on the call as the insert function left it.
            delivery = self.functions.delivery_for(live.record, destination, event)
            live.requests = delivery["requests"]
            if delivery["status"] == "failed":
                return FunctionAttempt("failed", delivery["reason"])
            if delivery["status"] == "filtered":
                return FunctionAttempt("filtered", delivery["reason"])
            return FunctionAttempt("delivered")
        if bound.batching is not None and "onBatch" in self.functions.handlers(bound.function):
            verdict, entry = await self._batched(bound.function, bound.batching, event)
            info["invocations"].append(entry)
            live.requests = as_requests("onBatch", entry["fetches"])
            info["returned"] = entry["returned"]
            return verdict
        result, fetches = await self.functions.invoke(bound.function, handler, [event])
        info["invocations"].append(invocation_entry("destination", handler, result, fetches))
        live.requests = as_requests(handler, fetches)
        info["returned"] = result.value
        return classify(result)

    # -- onBatch --------------------------------------------------------------------------

    async def _batched(
        self, file: FunctionFile, batching: Batching, event: dict[str, Any]
    ) -> tuple[FunctionAttempt, dict[str, Any]]:
        loop = asyncio.get_running_loop()
        batch = self._batches.setdefault(file.key, _Batch())
        future: asyncio.Future[tuple[FunctionAttempt, dict[str, Any]]] = loop.create_future()
        batch.items.append((event, future))
        if len(batch.items) >= batching.size:
            self._flush(file)
        elif batch.timer is None:
            batch.timer = loop.call_later(batching.wait, self._flush, file)
        return await future

    def _flush(self, file: FunctionFile) -> None:
        batch = self._batches.pop(file.key, None)
        if batch is None:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        task = asyncio.get_running_loop().create_task(self._run_batch(file, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_batch(self, file: FunctionFile, batch: _Batch) -> None:
        events = [event for event, _ in batch.items]
        result, fetches = await self.functions.invoke(file, "onBatch", [events])
        entry = invocation_entry("destination", "onBatch", result, fetches)
        entry["batchSize"] = len(events)
        statuses = result.value if result.ok and isinstance(result.value, list) else None
        for index, (_, future) in enumerate(batch.items):
            if future.done():
                continue
            verdict = classify(result)
            if statuses is not None and index < len(statuses):
                verdict = _batch_item(statuses[index])
            future.set_result((verdict, entry))

    async def close(self) -> None:
        for batch in self._batches.values():
            if batch.timer is not None:
                batch.timer.cancel()
            for _, future in batch.items:
                future.cancel()
        self._batches.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _batch_item(status: Any) -> FunctionAttempt:
    """One event's entry in what onBatch returned: {status, errormessage} (DOCS
    destination-functions.md §Handling batching errors): 5xx and 429 are retried."""
    if not isinstance(status, dict) or not isinstance(status.get("status"), int):
        return FunctionAttempt("delivered")
    code = status["status"]
    message = str(status.get("errormessage", ""))
    if code < 300:
        return FunctionAttempt("delivered")
    if code >= 500 or code in (408, 429):
        return FunctionAttempt("retry", f"onBatch status {code}: {message}")
    return FunctionAttempt("failed", f"onBatch status {code}: {message}")
