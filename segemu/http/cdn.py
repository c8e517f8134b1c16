"""Segment's CDN, for pages on localhost: the settings analytics.js loads, the analytics.js the
snippet loads, and the lazy chunks of the official bundle (reference/segment-wire-contract.md
§5; sdk-captures/README.md "The standalone bundle / snippet").

The settings point analytics.js at the segemu the browser reached, taken from the request's
Host (or X-Forwarded-Host/-Proto behind a proxy), so that `localhost`, `127.0.0.1` and a LAN
name all work without configuration.
"""

from __future__ import annotations

import re

from aiohttp import web

from segemu.browser.library import Library, ScriptCache, resolve_library
from segemu.browser.settings import cdn_settings
from segemu.destinations.consent import consent_settings
from segemu.http.keys import EMULATOR
from segemu.http.responses import cors_headers, error_response, json_response
from segemu.message import deep_merge

SETTINGS_PATH = "/v1/projects/{write_key}/settings"
LIBRARY_PATH = "/analytics.js/v1/{write_key}/analytics.min.js"
BUNDLES_PATH = "/analytics-next/bundles/{name}"
LIBRARY = web.AppKey("library", Library)
SCRIPTS = web.AppKey("scripts", ScriptCache)

# The chunk names webpack gives the bundle (`<name>.bundle.<hash>.js`, with .map files).
_CHUNK_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.js(\.map)?")
# Where an http:// page's copy of the official bundle finds its CDN. analytics.js reads
# `analytics._cdn`, or else only an https:// script URL (lib/parse-cdn.ts); a page that left
# `_cdn` out of its snippet would fetch its settings from https://cdn.segment.com and never
# load (sdk-captures scenario `snippet-no-cdn-override`). So the served copy sets `_cdn` to
# its own origin first, unless the page chose one. Segment's CDN does not need this: it is
# served over https.
_CDN_PRELUDE = (
    "/* segemu: analytics._cdn defaults to where this script came from. */\n"
    "(function(){try{var s=document.currentScript;if(!s||!s.src)return;"
    "var k=s.getAttribute('data-global-segment-analytics-key')||'analytics';"
    "var a=window[k]=window[k]||[];if(!a._cdn)a._cdn=new URL(s.src).origin}catch(e){}})();\n"
)
_SCRIPT_HEADERS = {
    "Content-Type": "application/javascript; charset=utf-8",
    # Re-fetched on every page load: a reinstalled bundle shows at once.
    "Cache-Control": "no-cache",
}


def public_host(request: web.Request) -> tuple[str, str]:
    """(host[:port], scheme) of segemu as the browser reached it."""
    host = _first(request.headers.get("X-Forwarded-Host")) or request.host
    scheme = _first(request.headers.get("X-Forwarded-Proto")) or request.scheme
    return host, "https" if scheme == "https" else "http"


def _first(value: str | None) -> str | None:
    """The first value of a proxy header a chain of proxies may have appended to."""
    if not value:
        return None
    first = value.split(",")[0].strip()
    return first or None


async def settings(request: web.Request) -> web.Response:
    """GET /v1/projects/<writeKey>/settings (analytics-next browser/index.ts loadCDNSettings).

    Served for every write key, even one no configured source has: the page then loads and
    its calls are stored as rejected with the reason, where the developer looks, instead of
    analytics.js failing quietly in the browser console.
    """
    write_key = request.match_info["write_key"]
    emulator = request.app[EMULATOR]
    source = emulator.sources.for_write_key(write_key)
    host, scheme = public_host(request)
    # Consent settings from the destinations' categories, under the source's own settings.
    overrides = deep_merge(
        consent_settings(emulator.destinations.current, source),
        source.settings if source is not None else {},
    )
    body = cdn_settings(write_key, f"{host}/v1", scheme, overrides)
    return json_response(request, body)


async def analytics_js(request: web.Request) -> web.Response:
    """GET /analytics.js/v1/<writeKey>/analytics.min.js: what the snippet's script tag loads."""
    scripts = request.app[SCRIPTS]
    try:
        text = scripts.for_write_key(request.match_info["write_key"])
    except OSError as exc:  # removed while segemu runs (npm uninstall): say what to do
        return error_response(
            request,
            503,
            "analytics_js_unavailable",
            f"cannot read {scripts.library.script}: {exc.strerror or exc}; reinstall "
            f"@segment/analytics-next or restart segemu to serve its built-in analytics.js",
        )
    if scripts.library.kind == "analytics-next":
        text = _CDN_PRELUDE + text
    headers = {**cors_headers(request), **_SCRIPT_HEADERS}
    return web.Response(text=text, headers=headers)


async def bundle(request: web.Request) -> web.StreamResponse:
    """GET /analytics-next/bundles/<chunk>: the official bundle's lazy chunks, from beside its
    standalone.js (standalone.ts sets webpack's public path to `<cdn>/analytics-next/bundles/`)."""
    library = request.app[LIBRARY]
    name = request.match_info["name"]
    if library.bundles is None:
        return error_response(
            request,
            404,
            "not_found",
            f"no chunk {name!r}: segemu serves its built-in analytics.js, which has none; "
            f"install @segment/analytics-next (or set analytics_js) to serve the official one",
        )
    path = library.bundles / name
    if not _CHUNK_NAME.fullmatch(name) or not path.is_file():
        return error_response(
            request, 404, "not_found", f"no chunk {name!r} beside {library.script}"
        )
    headers = {**cors_headers(request), "Cache-Control": "no-cache"}
    return web.FileResponse(path, headers=headers)


def setup_routes(app: web.Application) -> None:
    """Resolves the library from the emulator's config; a bad analytics_js setting raises
    ConfigError, naming where it was set."""
    found = resolve_library(app[EMULATOR].config)
    app[LIBRARY] = found
    app[SCRIPTS] = ScriptCache(found)
    app.router.add_get(SETTINGS_PATH, settings)
    app.router.add_get(LIBRARY_PATH, analytics_js)
    app.router.add_get(BUNDLES_PATH, bundle)
