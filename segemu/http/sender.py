"""The HTTP client the core's deliveries go out through (segemu/outbound.py): aiohttp, owned by
the shell, handed to `create_emulator(..., sender=HttpSender())`."""

from __future__ import annotations

import aiohttp

from segemu.outbound import OutboundRequest, OutboundResponse, SendError


class HttpSender:
    def __init__(self) -> None:
        # Opened on the first send, so it belongs to the loop that sends.
        self._session: aiohttp.ClientSession | None = None

    async def send(self, request: OutboundRequest) -> OutboundResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.request(
                request.method,
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=aiohttp.ClientTimeout(total=request.timeout),
            ) as response:
                headers = {}
                if "Retry-After" in response.headers:
                    headers["retry-after"] = response.headers["Retry-After"]
                return OutboundResponse(response.status, await response.text(), headers)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
