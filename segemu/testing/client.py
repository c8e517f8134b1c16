"""A synchronous client of segemu's control API, bound to one write key: what the `segemu`
fixture is, and what scripts and the CLI use. Standard library only (urllib), so it works in
any test without an event loop. Its API is api.py's; this module only carries the calls."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from segemu.testing.api import DEFAULT_WAIT_TIMEOUT, SegemuApi
from segemu.testing.calls import NETWORK_MARGIN, PREFIX, Call, ControlApiError, api_error


class SegemuClient(SegemuApi):
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
        self.before_read = before_read
        self.wait_timeout = wait_timeout
        if assert_timeout is not None:
            self.assert_timeout = assert_timeout

    def _call(self, call: Call) -> Any:
        http = call.http()
        return call.read(self.request(http.method, http.path, http.params, http.body, http.timeout))

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        timeout: float = NETWORK_MARGIN,
    ) -> Any:
        """Any control-API call: the JSON answer, or ControlApiError."""
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
