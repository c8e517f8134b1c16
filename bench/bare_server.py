"""The ceiling for the ingest benchmark: a bare aiohttp handler that only parses the JSON body
and answers 200, served the way segemu serves (no access log)."""

from __future__ import annotations

import asyncio
import sys

import orjson
from aiohttp import web

OK = b'{"success":true}'


async def handle(request: web.Request) -> web.Response:
    orjson.loads(await request.read())
    return web.Response(body=OK, content_type="application/json")


async def main() -> None:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
