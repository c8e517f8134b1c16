"""A synchronous client of segemu's control API, bound to one write key: what the `segemu`
fixture is, and what scripts and the CLI use. Standard library only (urllib), so it works in
any test without an event loop."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from segemu.expectations import summarize
from segemu.message import Record
from segemu.testing.api import (
    DEFAULT_WAIT_TIMEOUT,
    Assertions,
    ControlApiError,
    EventPages,
    Received,
    api_error,
    deliveries_params,
    events_params,
    recent_params,
    scoped,
    verdict_failure,
    wait_failure,
)
from segemu.testing.expect import Spec
from segemu.testing.snapshot import SnapshotStore, normalize

PREFIX = "/_segemu"
# Seconds beyond a long-poll's own timeout before the socket gives up.
NETWORK_MARGIN = 10.0


class SegemuClient(Assertions[None]):
    def __init__(
        self,
        url: str,
        write_key: str | None = None,
        *,
        before_read: Callable[[], None] | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        assert_timeout: float | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        # None reads every source: what the CLI does.
        self.write_key: str = write_key or ""
        # Flushes the SDKs the test wired up, so a read sees every call they queued.
        self.before_read = before_read
        self.wait_timeout = wait_timeout
        # Set by the pytest fixture (one place per test); None until then.
        self.snapshots: SnapshotStore | None = None
        if assert_timeout is not None:
            self.assert_timeout = assert_timeout

    # -- transport -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        timeout: float = NETWORK_MARGIN,
    ) -> Any:
        url = f"{self.url}{PREFIX}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                answer = json.loads(error.read())
            except ValueError:
                answer = None
            raise api_error(error.code, answer, f"{method} {PREFIX}{path}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ControlApiError(f"cannot reach segemu at {self.url}: {reason}") from None

    def _read(self) -> None:
        if self.before_read is not None:
            self.before_read()

    # -- reads ---------------------------------------------------------------------------

    def events(self, q: str | None = None, *, limit: int | None = None) -> list[Record]:
        """This write key's calls matching `q`, in the order they arrived."""
        self._read()
        pages = EventPages(self.write_key, q, limit)
        while pages.params is not None:
            pages.add(self.request("GET", "/events", pages.params))
        return pages.in_arrival_order()

    def wait_for(
        self, q: str | None = None, count: int = 1, timeout: float | None = None
    ) -> list[Record]:
        """Block until `count` calls match `q`; returns them in arrival order. The server
        answers within milliseconds of the event that satisfies it (a long-poll)."""
        __tracebackhide__ = True
        self._read()
        seconds = self.wait_timeout if timeout is None else timeout
        answer = self.request(
            "GET",
            "/wait",
            events_params(self.write_key, q, count=count, timeout=seconds),
            timeout=seconds + NETWORK_MARGIN,
        )
        if not answer["satisfied"]:
            recent = self.request("GET", "/events", recent_params(self.write_key))
            raise wait_failure(
                q, count, answer["count"], seconds, [summarize(r) for r in recent["events"]]
            )
        matched: list[Record] = answer["events"]
        return matched[::-1]

    def destination(self, destination_id: str, q: str | None = None) -> Received:
        """What `destination_id` received for this write key's calls (matching `q`):
        `.received` is the list of request bodies, oldest first."""
        self._read()
        answer = self.request(
            "GET",
            f"/destinations/{destination_id}/deliveries",
            deliveries_params(self.write_key, q),
        )
        return Received(destination_id, answer["deliveries"][::-1])

    def violations(self, kind: str = "violations", limit: int = 1000) -> dict[str, Any]:
        """This write key's calls that broke the tracking plan (GET /_segemu/violations):
        `events` (newest first, each with `violations` and `lint`), `totals`, `strict`."""
        self._read()
        answer: dict[str, Any] = self.request(
            "GET", "/violations", events_params(self.write_key, None, kind=kind, limit=limit)
        )
        return answer

    def reset(self) -> int:
        """Forget this write key's calls (every call, for a client with no write key)."""
        answer = self.request("POST", "/reset", body={"writeKey": self.write_key or None})
        return int(answer["removed"])

    def verdict(self, spec: Spec, timeout: float = 0.0) -> dict[str, Any]:
        self._read()
        answer: dict[str, Any] = self.request(
            "POST",
            "/assert",
            body=scoped(spec, self.write_key or None, timeout),
            timeout=timeout + NETWORK_MARGIN,
        )
        return answer

    def _judge(self, spec: Spec, timeout: float) -> None:
        __tracebackhide__ = True
        failure = verdict_failure(self.verdict(spec, timeout))
        if failure is not None:
            raise failure

    def snapshot(self, q: str | None = None) -> list[dict[str, Any]]:
        """This write key's calls in arrival order, volatile fields normalized
        (segemu/testing/snapshot.py)."""
        return normalize(self.events(q), self.write_key or None)

    def assert_snapshot(self, name: str | None = None, q: str | None = None) -> None:
        """Compare this write key's calls with the stored snapshot; pytest writes it with
        --segemu-update-snapshots."""
        __tracebackhide__ = True
        if self.snapshots is None:
            raise RuntimeError(
                "no snapshot location: use the pytest fixture, or set "
                ".snapshots = SnapshotStore(path)"
            )
        self.snapshots.check(self.snapshot(q), name)
