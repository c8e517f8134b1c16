"""The delivery worker: carries out deliveries that really happen or fail on purpose.

The Webhook destination really POSTs each request to its URL (a developer's own local
service). Any destination can have failures injected (a status code, latency, the first N
attempts). A failed attempt is retried like Segment retries cloud-mode deliveries: 5xx, 408
and 429 answers and network errors are retried with exponential backoff; any other 4xx is a
final failure (DOCS connections/destinations/index.md §Retries; the same split as the SDKs'
retry rules in segment-wire-contract.md §3.2).

Requests go out through the Sender the shell handed in (segemu/outbound.py): the core holds
no HTTP client of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from segemu.destinations.presets.webhook import encode
from segemu.destinations.runtime import LiveDelivery
from segemu.outbound import OutboundRequest, Sender, SendError

if TYPE_CHECKING:
    from segemu.functions.deliver import FunctionAttempt

log = logging.getLogger("segemu.destinations")
# Runs one attempt of a delivery to a destination with a Destination or Insert Function
# (segemu/functions/deliver.py), handed in by the emulator.
FunctionRunner = Callable[[LiveDelivery], Awaitable["FunctionAttempt"]]

# Segment gives a partner API this long to answer before the attempt counts as failed.
ATTEMPT_TIMEOUT = 10.0
_RETRYABLE = frozenset({408, 429})


def retryable(status: int | None) -> bool:
    """None stands for a network error or a timeout."""
    return status is None or status >= 500 or status in _RETRYABLE


class DeliveryWorker:
    def __init__(
        self,
        on_update: Callable[[LiveDelivery], None],
        sender: Sender,
        functions: FunctionRunner | None = None,
    ) -> None:
        # Told of every attempt's outcome: the emulator re-checks waiters against the record.
        self.on_update = on_update
        self.sender = sender
        self.functions = functions
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def schedule(self, live: LiveDelivery, delay: float) -> None:
        if self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # ingest outside a loop (a synchronous test): nothing can run
            return
        task = loop.create_task(self._attempt(live, delay), name="segemu-delivery")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, live: LiveDelivery, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        destination = live.destination
        live.attempts += 1
        failures = destination.failures
        if failures is not None and failures.latency:
            await asyncio.sleep(failures.latency)
        status: int | None
        if failures is not None and (failures.times == -1 or live.attempts <= failures.times):
            status, detail = failures.status, "injected failure"
        elif destination.functions is not None and self.functions is not None:
            await self._function_attempt(live)
            return
        elif destination.sends:
            status, detail = await self._post(live)
        else:
            status, detail = 200, "recorded"
        live.responses.append({"attempt": live.attempts, "status": status, "detail": detail})
        if status is not None and status < 300:
            live.status, live.reason = "delivered", None
        elif retryable(status) and live.attempts < destination.retry.max_attempts:
            wait = destination.retry.backoff * 2 ** (live.attempts - 1)
            live.status = "retrying"
            live.reason = (
                f"attempt {live.attempts} failed ({_describe(status, detail)}); "
                f"retrying in {wait:g}s"
            )
            self.schedule(live, wait)
        else:
            live.status = "failed"
            final = "not retried" if not retryable(status) else "no attempts left"
            live.reason = f"attempt {live.attempts} failed ({_describe(status, detail)}); {final}"
        self.on_update(live)

    async def _function_attempt(self, live: LiveDelivery) -> None:
        """A function's outcome decides as its error type says (functions/deliver.py):
        retried ones follow the same retry policy as an HTTP 5xx."""
        assert self.functions is not None
        try:
            attempt = await self.functions(live)
        except Exception as exc:  # a bug here must fail this delivery, not the worker
            log.exception("running a function delivery failed")
            attempt_outcome, detail = "failed", f"segemu could not run the function: {exc}"
        else:
            attempt_outcome, detail = attempt.outcome, attempt.detail or ""
        destination = live.destination
        live.responses.append(
            {"attempt": live.attempts, "outcome": attempt_outcome, "detail": detail}
        )
        if attempt_outcome in ("delivered", "filtered"):
            live.status, live.reason = attempt_outcome, detail or None
        elif attempt_outcome == "retry" and live.attempts < destination.retry.max_attempts:
            wait = destination.retry.backoff * 2 ** (live.attempts - 1)
            live.status = "retrying"
            live.reason = f"attempt {live.attempts} failed ({detail}); retrying in {wait:g}s"
            self.schedule(live, wait)
        else:
            live.status = "failed"
            final = "no attempts left" if attempt_outcome == "retry" else "not retried"
            live.reason = f"attempt {live.attempts} failed ({detail}); {final}"
        self.on_update(live)

    async def _post(self, live: LiveDelivery) -> tuple[int | None, str]:
        status: int | None = 200
        detail = ""
        for request in live.requests:
            outbound = OutboundRequest(
                request["method"],
                request["url"],
                request["headers"],
                encode(request["body"]),
                ATTEMPT_TIMEOUT,
            )
            try:
                response = await self.sender.send(outbound)
            except SendError as exc:
                status, detail = None, str(exc)
            else:
                status, detail = response.status, response.text[:200]
            if status is None or status >= 300:
                break
        return status, detail

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.sender.close()


def _describe(status: int | None, detail: str) -> str:
    if status is None:
        return detail
    return f"HTTP {status}" + (
        f": {detail}"
        if detail and detail != "injected failure"
        else " (injected)"
        if detail == "injected failure"
        else ""
    )
