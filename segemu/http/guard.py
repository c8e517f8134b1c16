"""Who may use the control API: the developer, not every web page they happen to visit.

segemu listens on the developer's machine, and any page in their browser can send requests to
it. The Tracking API and the CDN routes answer every origin, as Segment's do: pages must reach
them, and all they give back is what any page may see (`{"success": true}`, analytics.js, CDN
settings). The control API (/_segemu/*) holds every stored event and can wipe the store, so:

- Host: a name other than localhost, an IP address, the address segemu listens on or a name the
  user allowed is refused. DNS rebinding points a name its owner controls at 127.0.0.1; the
  browser then sends that name as Host. An IP literal or `*.localhost` cannot be rebound (the
  rule of Vite's dev server, packages/vite/src/node/server/middlewares/hostCheck.ts).
- Origin: a browser request from a page on an origin the user did not allow (allowed_origins),
  or one that is not segemu's own, is refused; the answers carry no CORS grant to it either.
- Requests without an Origin (the CLI, the pytest plugin, curl, test runners in Node) are the
  developer's and pass, unless the browser's Sec-Fetch-Site says a foreign page embedded them
  (an <img> or <script> pointed at /_segemu/wait, say).
- A state-changing call never comes as a form or text/plain body, which a page can send
  without a preflight (and which old browsers send without an Origin).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from aiohttp import hdrs, web

from segemu.config import Config

CONTROL_PREFIX = "/_segemu"
# Answered to any origin like the Tracking API: the document holds nothing private, and API
# tools on other origins (an online OpenAPI viewer) read it.
PUBLIC_CONTROL_PATHS = frozenset({f"{CONTROL_PREFIX}/openapi.json"})
STATE_CHANGING = frozenset({hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_DELETE, hdrs.METH_PATCH})
# The Content-Types of a "simple" request, which browsers send cross-site without asking
# (Fetch standard §CORS-safelisted request-header).
SIMPLE_CONTENT_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
# Listening on these means every interface: any IP address of the machine reaches segemu.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


# The Profile API (http/profile_api.py) holds every profile: Segment's answers no browser
# ("The Profile API doesn't support CORS", segment-docs src/unify/profile-api.md), and
# segemu guards it as it guards the control API.
PROFILE_API_PREFIX = "/v1/spaces/"


def is_control(path: str) -> bool:
    if path.startswith(PROFILE_API_PREFIX):
        return True
    return path.startswith(CONTROL_PREFIX) and path not in PUBLIC_CONTROL_PATHS


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The control API's rules, from the config (allowed_origins, allowed_hosts) and the
    address segemu listens on."""

    origins: frozenset[str]
    hosts: frozenset[str]
    any_host: bool

    @classmethod
    def from_config(cls, config: Config, listen_host: str | None = None) -> AccessPolicy:
        hosts = {name for name in config.allowed_hosts if name != "*"}
        for listening in (config.host, listen_host):
            name = (listening or "").strip("[]").lower()
            if name not in _WILDCARD_HOSTS:
                hosts.add(name)
        return cls(
            origins=frozenset(config.allowed_origins),
            hosts=frozenset(hosts),
            any_host="*" in config.allowed_hosts,
        )

    def host_allowed(self, host: str | None) -> bool:
        if host is None or self.any_host:  # no Host: not a browser (they always send one)
            return True
        name = host_name(host)
        return name in self.hosts or _always_allowed(name)

    def origin_allowed(self, request: web.Request, origin: str) -> bool:
        """An allowed origin, or segemu's own (a page segemu served, calling back home)."""
        origin = origin.lower()
        if origin in self.origins:
            return True
        host = request.headers.get(hdrs.HOST)
        return host is not None and origin == f"{request.scheme}://{host.lower()}"

    def check(self, request: web.Request) -> Refusal | None:
        """Why this control API request is refused, or None."""
        headers = request.headers
        host = headers.get(hdrs.HOST)
        if not self.host_allowed(host):
            return Refusal(
                403,
                "forbidden_host",
                f"the control API does not answer to Host {host!r} (a guard against DNS "
                f"rebinding); use localhost or an IP address, or add the name to "
                f"allowed_hosts (--allow-host, SEGEMU_ALLOWED_HOSTS)",
            )
        origin = headers.get(hdrs.ORIGIN)
        if origin is not None:
            if not self.origin_allowed(request, origin):
                return Refusal(
                    403,
                    "forbidden_origin",
                    f"the control API does not answer pages on {origin}; to let them call it, "
                    f"add the origin to allowed_origins (--allow-origin, "
                    f"SEGEMU_ALLOWED_ORIGINS)",
                )
        elif headers.get("Sec-Fetch-Site") in ("cross-site", "same-site") and (
            headers.get("Sec-Fetch-Mode") != "navigate"
        ):
            return Refusal(
                403,
                "forbidden_origin",
                "the control API does not answer requests another site's page embeds",
            )
        if request.method in STATE_CHANGING:
            content_type = headers.get(hdrs.CONTENT_TYPE, "")
            media_type = content_type.partition(";")[0].strip().lower()
            if media_type in SIMPLE_CONTENT_TYPES:
                return Refusal(
                    415,
                    "unsupported_content_type",
                    f"{request.method} {request.path} takes a JSON body: send Content-Type: "
                    f"application/json (or no body), not {media_type}",
                )
        return None


def host_name(host: str) -> str:
    """The name in a Host header, without port, brackets or trailing dot, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        host = name
    return host.rstrip(".")


@functools.lru_cache(maxsize=256)
def _always_allowed(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761 §6.3: always loopback
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
