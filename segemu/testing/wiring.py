"""Zero-config wiring of the Python SDK, and a guard against reaching the real Segment.

Auto-wiring points analytics-python's module-level client (`segment.analytics.track(...)`) at
the emulator with the test's write key, and flushes it before every wait or assertion, so a
test never sleeps for the SDK's background thread (it batches every 0.5 s: client.py,
analytics-python#65).

The guard fails a test whose code tries to reach Segment's real hosts: tests that leak events
into a production workspace are a known pain (reference/peers.md (b) 10).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

# Segment's data-plane hosts: the Tracking API (US and EU), the CDN that serves settings and
# analytics.js. Sources: reference/segment-wire-contract.md §1 and §5.
SEGMENT_HOSTS = frozenset(
    {
        "api.segment.io",
        "cdn.segment.com",
        "events.eu1.segmentapis.com",
        "cdn.segment.build",
        "api.segment.build",
    }
)


class SdkWiring:
    """Points `segment.analytics` at one emulator and write key; `flush` sends its queue."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    @staticmethod
    def _module() -> Any:
        try:
            import segment.analytics as analytics
        except ImportError:  # the SDK is not installed: nothing to wire
            return None
        return analytics

    def wire(self, url: str, write_key: str) -> None:
        analytics = self._module()
        if analytics is None:
            return
        analytics.write_key = write_key
        analytics.host = url
        analytics.send = True
        analytics.on_error = self._on_error
        client = analytics.default_client
        if client is None:
            return
        # Re-point the existing client rather than replacing it: stopping its consumer thread
        # waits out the SDK's upload interval (0.5 s), far more than a test should pay.
        client.flush()
        client.write_key, client.host, client.send = write_key, url, True
        for consumer in client.consumers or ():
            consumer.write_key, consumer.host = write_key, url
            consumer.on_error = self._on_error

    def _on_error(self, error: Exception, batch: Any) -> None:
        self.errors.append(f"{error} ({len(batch)} event(s) dropped)")

    def flush(self) -> None:
        analytics = self._module()
        if analytics is not None and analytics.default_client is not None:
            analytics.default_client.flush()


class NetworkGuard:
    """Refuses name lookups of Segment's hosts for as long as it is installed, and remembers
    each attempt so the test that made it can be failed."""

    def __init__(self, hosts: frozenset[str] = SEGMENT_HOSTS) -> None:
        self.hosts = hosts
        self.attempts: list[str] = []
        self._lock = threading.Lock()
        self._original: Callable[..., Any] | None = None

    def install(self) -> None:
        if self._original is not None:
            return
        original = self._original = socket.getaddrinfo

        def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if isinstance(name, str) and name.lower().rstrip(".") in self.hosts:
                with self._lock:
                    self.attempts.append(f"{name} (from thread {threading.current_thread().name})")
                raise ConnectionRefusedError(
                    f"segemu's network guard refused a connection to {name}: point the SDK at "
                    f"the segemu fixture's url instead"
                )
            return original(host, *args, **kwargs)

        socket.getaddrinfo = guarded

    def uninstall(self) -> None:
        if self._original is not None:
            socket.getaddrinfo = self._original
            self._original = None

    def take_attempts(self) -> list[str]:
        with self._lock:
            attempts, self.attempts = self.attempts, []
        return attempts
