"""The async twin of SegemuClient, for async tests (pytest-aiohttp / pytest-asyncio): the same
API (api.py), awaited, over an aiohttp session opened in the test's own event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp

from segemu.testing.api import DEFAULT_WAIT_TIMEOUT, AsyncSegemuApi
from segemu.testing.calls import NETWORK_MARGIN, PREFIX, Call, ControlApiError, api_error


class AsyncSegemuClient(AsyncSegemuApi):
    def __init__(
        self,
        url: str,
        write_key: str,
        *,
        before_read: Callable[[], None] | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        assert_timeout: float | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.write_key = write_key
        self.before_read = before_read
        self.wait_timeout = wait_timeout
        if assert_timeout is not None:
            self.assert_timeout = assert_timeout
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, call: Call) -> Any:
        http = call.http()
        answer = await self.request(http.method, http.path, http.params, http.body, http.timeout)
        return call.read(answer)

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        timeout: float = NETWORK_MARGIN,
    ) -> Any:
        """Any control-API call: the JSON answer, or ControlApiError."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.request(
                method,
                f"{self.url}{PREFIX}{path}",
                params=params,
                json=body,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                answer = await response.json(content_type=None)
                if response.status >= 400:
                    raise api_error(response.status, answer, f"{method} {PREFIX}{path}")
                return answer
        except aiohttp.ClientConnectionError as error:
            raise ControlApiError(f"cannot reach segemu at {self.url}: {error}") from None
