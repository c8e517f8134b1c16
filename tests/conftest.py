from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from segemu import create_emulator
from segemu.http.server import RunningServer, start_server

# The pytest plugin's own tests run pytest inside pytest.
pytest_plugins = ["pytester"]


@pytest.fixture
async def server() -> AsyncIterator[RunningServer]:
    """A real segemu server on a free port of 127.0.0.1, with an in-memory store."""
    running = await start_server(create_emulator(db=":memory:"), "127.0.0.1", 0)
    yield running
    await running.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # auto_decompress off: tests look at exactly what segemu answered.
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()
