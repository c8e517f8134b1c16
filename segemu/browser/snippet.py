"""`segemu snippet`: a snippet to paste into a page, loading analytics.js from segemu.

It keeps the contract of Segment's snippet (DOCS `_includes/content/snippet-helper.md`; the
buffer analytics-next replays, packages/browser/src/core/buffer/index.ts):
- `window.analytics` is an array of queued calls, each `[method, ...args]`, until
  analytics.js replaces it; page-aware calls end with a buffered page context
  (`{__t: "bpc", ...}`), so a call queued before the page changed keeps the page it was made on;
- `analytics._writeKey` and `analytics._loadOptions` tell the bundle what `load()` was given;
- `analytics._cdn` is where the bundle fetches its settings and lazy chunks. Without it,
  analytics.js finds its CDN only from an `https://` script URL, and over plain http falls back
  to https://cdn.segment.com (lib/parse-cdn.ts; sdk-captures scenario
  `snippet-no-cdn-override`): that line is what makes the snippet work offline.
"""

from __future__ import annotations

import json
import textwrap

# The stubs the snippet defines (the methods analytics.js accepts before it loads), and those
# that carry the page they were called on.
_METHODS = (
    "trackSubmit",
    "trackClick",
    "trackLink",
    "trackForm",
    "pageview",
    "identify",
    "reset",
    "group",
    "track",
    "ready",
    "alias",
    "debug",
    "page",
    "screen",
    "once",
    "off",
    "on",
    "addSourceMiddleware",
    "addIntegrationMiddleware",
    "setAnonymousId",
    "addDestinationMiddleware",
    "register",
)
_PAGE_AWARE = ("track", "screen", "alias", "group", "page", "identify")
SNIPPET_VERSION = "5.2.1"

_TEMPLATE = """\
!function () {
  // segemu's snippet: analytics.js, its settings and every event stay on this machine.
  var globalKey = "analytics";
  var analytics = (window[globalKey] = window[globalKey] || []);
  if (analytics.initialize || analytics.invoked) return;
  analytics.invoked = true;
  analytics.methods = %(methods)s;
  analytics.factory = function (method) {
    return function () {
      if (window[globalKey].initialized) {
        return window[globalKey][method].apply(window[globalKey], arguments);
      }
      var args = Array.prototype.slice.call(arguments);
      if (%(page_aware)s.indexOf(method) > -1) {
        var canonical = document.querySelector("link[rel='canonical']");
        args.push({ __t: "bpc", c: (canonical && canonical.getAttribute("href")) || undefined,
          p: location.pathname, u: location.href, s: location.search, t: document.title,
          r: document.referrer });
      }
      args.unshift(method);
      analytics.push(args);
      return analytics;
    };
  };
  for (var i = 0; i < analytics.methods.length; i++) {
    analytics[analytics.methods[i]] = analytics.factory(analytics.methods[i]);
  }
  analytics.load = function (key, options) {
    var script = document.createElement("script");
    script.async = true;
    script.setAttribute("data-global-segment-analytics-key", globalKey);
    script.src = analytics._cdn + "/analytics.js/v1/" + encodeURIComponent(key) +
      "/analytics.min.js";
    var first = document.getElementsByTagName("script")[0];
    first.parentNode.insertBefore(script, first);
    analytics._loadOptions = options;
  };
  analytics._writeKey = %(write_key)s;
  analytics._cdn = %(url_literal)s;
  analytics.SNIPPET_VERSION = %(version)s;
  analytics.load(%(write_key)s);
%(page)s}();
"""


def render_snippet(url: str, write_key: str, *, page: bool = True, script_tag: bool = True) -> str:
    """The snippet for a segemu at `url` (scheme, host and port, no path)."""
    javascript = _TEMPLATE % {
        "url_literal": _literal(url.rstrip("/")),
        "methods": textwrap.fill(
            json.dumps(list(_METHODS)), 74, subsequent_indent="    ", break_on_hyphens=False
        ),
        "page_aware": json.dumps(list(_PAGE_AWARE)),
        "write_key": _literal(write_key),
        "version": _literal(SNIPPET_VERSION),
        "page": "  analytics.page();\n" if page else "",
    }
    if not script_tag:
        return javascript
    return f"<script>\n{javascript}</script>\n"


def _literal(text: str) -> str:
    """A JS string literal that is also safe inside an HTML <script> element."""
    return json.dumps(text).replace("<", "\\u003c")
