"""The inspector in a browser: `GET /` is a page that runs the terminal inspector (segemu/tui)
in xterm.js, one process per open tab, attached to segemu through its control API.

It is the same Textual app as `segemu tui --url`, not a second inspector: textual-serve
(Textualize's bridge, built on aiohttp) runs it under Textual's web driver and relays its
screen and keys over a websocket. segemu uses only its process bridge (AppService) and its
browser bundle (textual.js, xterm.css, the Roboto Mono font), and serves the page itself:
textual-serve's own page loads its font from Google Fonts, and segemu works offline.

Security (DESIGN.md, Security): the page and the websocket sit behind the control API's
guard (http/guard.py), so a page on another origin can neither open the websocket (its Origin
is checked) nor frame the page, and a rebound host name is refused. The inspector process
reads the control API as the CLI does (no Origin), so nothing is opened to other origins.
At most MAX_SESSIONS tabs run at once: each is a process.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from segemu.http.responses import error_response

log = logging.getLogger("segemu.http")

PAGE_PATH = "/"
MAX_SESSIONS = 8
# How long a tab's inspector has to quit when the tab closes, before it is killed.
QUIT_SECONDS = 5.0
# The browser's first terminal size when it sends none (textual-serve's default).
DEFAULT_SIZE = (80, 24)
# The files of textual-serve's bundle the page loads, by the name it asks for: a closed list,
# so no other file of the machine can be asked for.
STATIC_FILES = {
    "textual.js": ("js/textual.js", "application/javascript"),
    "xterm.css": ("css/xterm.css", "text/css"),
    "RobotoMono.ttf": ("fonts/RobotoMono-VariableFont_wght.ttf", "font/ttf"),
}

Target = Callable[[web.Request], str]
"""The URL of the segemu the inspector attaches to, for a request of the page."""

SESSIONS = web.AppKey("webview_sessions", set)


def served_by_segemu(request: web.Request) -> str:
    """segemu's own URL as the inspector process reaches it: the address this connection
    came in on (a name the browser used may not resolve for the process)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return f"http://{request.host}"
    host, port = sockname[0], sockname[1]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def web_url(server_url: str) -> str:
    return f"{server_url}{PAGE_PATH}"


def _static_dir() -> Path | None:
    try:
        import textual_serve
    except ImportError:
        return None
    return Path(textual_serve.__file__).parent / "static"


Guard = Callable[[web.Request], Any]
"""The control API's access rules (http/guard.py AccessPolicy.check): a Refusal or None."""


def setup_routes(
    app: web.Application,
    prefix: str,
    target: Target = served_by_segemu,
    guard: Guard | None = None,
) -> None:
    """`guard`: checked by the page itself, since `/` is outside the control API's prefix
    (the websocket and files, under it, are checked with the control API)."""
    sessions: set[web.WebSocketResponse] = set()
    endings: set[asyncio.Future[None]] = set()
    app[SESSIONS] = sessions
    base = f"{prefix}/web"

    async def page(request: web.Request) -> web.StreamResponse:
        refusal = guard(request) if guard is not None else None
        if refusal is not None:
            answer = error_response(request, refusal.status, refusal.code, refusal.message)
            for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"):
                answer.headers.popall(name, None)  # the page is no other origin's to read
            return answer
        if _static_dir() is None:
            return error_response(
                request,
                503,
                "web_view_unavailable",
                "the web view needs textual-serve: pip install textual-serve",
            )
        host = html.escape(request.host, quote=True)
        body = PAGE.format(static=f"{base}/static", websocket=f"ws://{host}{base}/ws")
        return web.Response(
            text=body,
            content_type="text/html",
            headers={
                # No other site may frame it (clickjacking the inspector's keys).
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": "frame-ancestors 'none'",
                "Cache-Control": "no-store",
            },
        )

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        folder = _static_dir()
        if name not in STATIC_FILES or folder is None:
            return error_response(request, 404, "not_found", f"no file {request.path}")
        path, content_type = STATIC_FILES[name]
        return web.FileResponse(
            folder / path,
            headers={"Content-Type": content_type, "Cache-Control": "max-age=3600"},
        )

    async def websocket(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(heartbeat=15, max_msg_size=64 * 1024)
        if not socket.can_prepare(request).ok:
            return error_response(
                request, 400, "not_a_websocket", f"{request.path} takes a websocket upgrade"
            )
        if len(sessions) >= MAX_SESSIONS:
            return error_response(
                request,
                503,
                "too_many_sessions",
                f"{MAX_SESSIONS} web inspectors are open already; close one",
            )
        try:
            from textual_serve.app_service import AppService
            from textual_serve.download_manager import DownloadManager
        except ImportError:
            return error_response(
                request, 503, "web_view_unavailable", "the web view needs textual-serve"
            )
        width = _size(request.query.get("width"), DEFAULT_SIZE[0])
        height = _size(request.query.get("height"), DEFAULT_SIZE[1])
        # textual-serve runs it through a shell; `exec` leaves no shell between, so a kill
        # reaches the inspector itself.
        command = "exec " + shlex.join(
            [sys.executable, "-m", "segemu", "tui", "--url", target(request)]
        )
        await socket.prepare(request)
        sessions.add(socket)
        service = AppService(
            command,
            write_bytes=socket.send_bytes,
            write_str=socket.send_str,
            close=lambda: _close(socket),
            download_manager=DownloadManager(),
        )
        try:
            await service.start(width, height)
            await _relay(socket, service)
        finally:
            sessions.discard(socket)
            # Shielded and awaited at cleanup: a handler is cancelled when its client goes
            # away, and the process must still be quit and reaped.
            ending = asyncio.ensure_future(_end(service))
            endings.add(ending)
            ending.add_done_callback(endings.discard)
            await asyncio.shield(ending)
            await socket.close()
        return socket

    async def close_sessions(app: web.Application) -> None:
        # A stop ends each tab's inspector now, not after the shutdown timeout.
        for socket in list(sessions):
            await socket.close()

    async def reap(app: web.Application) -> None:
        if endings:
            await asyncio.gather(*endings, return_exceptions=True)

    app.on_shutdown.append(close_sessions)
    app.on_cleanup.append(reap)
    app.router.add_get(PAGE_PATH, page)
    app.router.add_get(f"{base}/static/{{name}}", static)
    app.router.add_get(f"{base}/ws", websocket)


async def _relay(socket: web.WebSocketResponse, service: Any) -> None:
    """The browser's keys, sizes and focus to the inspector process (textual-serve's
    protocol: JSON lists of [kind, data])."""
    async for message in socket:
        if message.type != WSMsgType.TEXT:
            continue
        try:
            kind, *rest = message.json()
        except (ValueError, TypeError):
            continue  # not the page's; ignored rather than ending the session
        if kind == "stdin" and rest and isinstance(rest[0], str):
            await service.send_bytes(rest[0].encode("utf-8"))
        elif kind == "resize" and rest and isinstance(rest[0], dict):
            size = rest[0]
            await service.set_terminal_size(
                _size(size.get("width"), DEFAULT_SIZE[0]),
                _size(size.get("height"), DEFAULT_SIZE[1]),
            )
        elif kind == "ping" and rest:
            await socket.send_json(["pong", str(rest[0])])
        elif kind == "blur":
            await service.blur()
        elif kind == "focus":
            await service.focus()


async def _close(socket: web.WebSocketResponse) -> None:
    await socket.close()


async def _end(service: Any) -> None:
    """Quit the tab's inspector and reap its process (AppService.stop does not wait for it)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(service.stop(), QUIT_SECONDS)
    process = service._process
    if process is None:
        return
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()


def _size(value: object, default: int) -> int:
    """A terminal dimension from the browser, within what a screen can hold."""
    try:
        number = int(str(value))
    except ValueError:
        return default
    return min(max(number, 10), 1000)


def openapi_paths(prefix: str) -> dict[str, Any]:
    html_page = {"text/html": {"schema": {"type": "string"}}}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        PAGE_PATH: {
            "get": {
                "tags": ["Web view"],
                "summary": "The inspector in a browser (segemu's own page, no CDN)",
                "responses": {
                    "200": {"description": "The page.", "content": html_page},
                    "403": {"description": "A Host or Origin the guard refuses.", "content": error},
                    "503": {"description": "textual-serve is not installed.", "content": error},
                },
            }
        },
        f"{prefix}/web/static/{{name}}": {
            "get": {
                "tags": ["Web view"],
                "summary": "The page's script, styles and font",
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "description": "One of " + ", ".join(STATIC_FILES) + ".",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {"description": "The file."},
                    "404": {"description": "No such file.", "content": error},
                },
            }
        },
        f"{prefix}/web/ws": {
            "get": {
                "tags": ["Web view"],
                "summary": "The websocket that runs one inspector for the page",
                "parameters": [
                    {
                        "name": name,
                        "in": "query",
                        "description": f"The terminal's {name} in cells.",
                        "schema": {"type": "integer"},
                    }
                    for name in ("width", "height")
                ],
                "responses": {
                    "101": {"description": "Switching to the websocket."},
                    "400": {"description": "Not a websocket upgrade.", "content": error},
                    "503": {"description": "Too many open web inspectors.", "content": error},
                },
            }
        },
    }


# The page: textual-serve's bundle and font, served by segemu; no request leaves the machine.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>segemu inspector</title>
<link rel="stylesheet" href="{static}/xterm.css">
<style>
@font-face {{ font-family: "Roboto Mono"; src: url("{static}/RobotoMono.ttf"); }}
body {{ background: #0c181f; margin: 0; }}
.ended {{ display: none; position: absolute; inset: 0; z-index: 10; align-items: center;
  justify-content: center; font: 16px "Roboto Mono", monospace; color: #eee;
  background: rgba(12, 24, 31, 0.85); flex-direction: column; }}
body.-closed .ended {{ display: flex; }}
.ended a {{ color: #ac5af4; margin-top: 1em; }}
</style>
<script src="{static}/textual.js"></script>
</head>
<body>
<div class="ended"><div>The inspector has ended.</div><a href="/">Open it again</a></div>
<div id="terminal" class="textual-terminal" data-session-websocket-url="{websocket}"
  data-font-size="14"></div>
</body>
</html>
"""
