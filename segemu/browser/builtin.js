/*
 * segemu's built-in analytics.js: served at /analytics.js/v1/<writeKey>/analytics.min.js when
 * the official @segment/analytics-next bundle is not installed. It does what a page using the
 * snippet needs, the way analytics.js does it, and sends every call to segemu:
 *  - replays the snippet's queue (`[method, ...args]`, page-aware calls ending with a buffered
 *    page context, packages/page-tools/src/page-context.ts);
 *  - identify, track, page, screen, group, alias, reset, ready, user(), group(),
 *    setAnonymousId, on/once/off, addSourceMiddleware;
 *  - keeps the user as analytics.js does (packages/browser/src/core/user/index.ts): ids in the
 *    cookies and localStorage entries ajs_anonymous_id, ajs_user_id, ajs_group_id, traits in
 *    localStorage ajs_user_traits and ajs_group_properties;
 *  - fills context.page, userAgent, locale, timezone and campaign (utm_*), as
 *    plugins/env-enrichment/index.ts does;
 *  - loads the source's settings from <cdn>/v1/projects/<writeKey>/settings and posts each call
 *    to <protocol>://<apiHost>/<t|i|p|s|g|a> as text/plain JSON with Basic auth, retrying
 *    failures with X-Retry-Count like plugins/segmentio/fetch-dispatcher.ts;
 *  - trackLink/trackClick and trackForm/trackSubmit, as core/auto-track.ts binds them.
 * Features it leaves out (device-mode destinations, batching, integration and destination
 * middleware) say so in the console.
 */
(function () {
  "use strict";

  var VERSION = "segemu-__SEGEMU_VERSION__";
  var EMBEDDED_KEY = "__WRITE_KEY__";
  var MAX_RETRIES = 5;
  var PAGE_AWARE = ["track", "screen", "alias", "group", "page", "identify"];
  var ONE_YEAR = 365 * 24 * 3600;

  var script = document.currentScript;
  var globalKey =
    (script && script.getAttribute("data-global-segment-analytics-key")) || "analytics";
  var snippet = window[globalKey];
  if (snippet && (snippet.initialize || snippet.initialized)) return; // loaded twice

  // -- storage, the way analytics.js keeps the user --------------------------------------

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var at = parts[i].indexOf("=");
      if (parts[i].slice(0, at) === name) return decodeURIComponent(parts[i].slice(at + 1));
    }
    return null;
  }

  function writeCookie(name, value) {
    var attributes = "; path=/; SameSite=Lax; max-age=" + (value === null ? 0 : ONE_YEAR);
    document.cookie = name + "=" + encodeURIComponent(value === null ? "" : value) + attributes;
  }

  function parse(text) {
    if (text === null || text === undefined) return null;
    try {
      var value = JSON.parse(text);
      return value === undefined ? null : value;
    } catch (error) {
      return text; // analytics.js reads values that are not JSON as they are
    }
  }

  function readLocal(name) {
    try {
      return parse(window.localStorage.getItem(name));
    } catch (error) {
      return null;
    }
  }

  function writeLocal(name, value) {
    try {
      if (value === null) window.localStorage.removeItem(name);
      else window.localStorage.setItem(name, JSON.stringify(value));
    } catch (error) {
      console.warn("[segemu analytics.js] localStorage is unavailable; " + name + " not kept");
    }
  }

  // Ids live in a cookie and in localStorage; the first found is copied to both.
  function readId(name) {
    var value = parse(readCookie(name));
    if (value === null || value === "") value = readLocal(name);
    if (value === null || value === "") return null;
    value = String(value);
    writeId(name, value);
    return value;
  }

  function writeId(name, value) {
    writeCookie(name, value);
    writeLocal(name, value);
  }

  function uuid() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function Entity(idKey, traitsKey, withAnonymousId) {
    this.id = function (value) {
      if (value !== undefined) {
        var previous = readId(idKey);
        if (value === null) writeId(idKey, null);
        else writeId(idKey, String(value));
        // A different known user: the anonymous id belonged to the previous one.
        if (withAnonymousId && previous !== null && value !== null && String(value) !== previous) {
          writeId("ajs_anonymous_id", null);
        }
      }
      return readId(idKey);
    };
    this.traits = function (value) {
      if (value !== undefined) writeLocal(traitsKey, value === null ? null : value);
      var traits = readLocal(traitsKey);
      return traits && typeof traits === "object" ? traits : {};
    };
    if (withAnonymousId) {
      this.anonymousId = function (value) {
        if (value !== undefined) writeId("ajs_anonymous_id", value === null ? null : String(value));
        var id = readId("ajs_anonymous_id");
        if (id === null) {
          id = uuid();
          writeId("ajs_anonymous_id", id);
        }
        return id;
      };
    }
  }

  var user = new Entity("ajs_user_id", "ajs_user_traits", true);
  var group = new Entity("ajs_group_id", "ajs_group_properties", false);

  // -- context -------------------------------------------------------------------------

  function currentPage() {
    var canonical = document.querySelector("link[rel='canonical']");
    return { __t: "bpc", c: (canonical && canonical.getAttribute("href")) || undefined,
      p: location.pathname, u: location.href, s: location.search, t: document.title,
      r: document.referrer };
  }

  function isBufferedPage(value) {
    return !!value && typeof value === "object" && value.__t === "bpc";
  }

  function pageContext(bpc) {
    var path = bpc.p;
    var url = bpc.u.split("#")[0];
    if (bpc.c) {
      try {
        path = new URL(bpc.c, location.href).pathname;
      } catch (error) {
        path = bpc.c.charAt(0) === "/" ? bpc.c : "/" + bpc.c;
      }
      url = bpc.c.indexOf("?") > -1 ? bpc.c : bpc.c + bpc.s;
    }
    return { path: path, referrer: bpc.r, search: bpc.s, title: bpc.t, url: url };
  }

  // utm_campaign becomes name, any other utm_X becomes X (env-enrichment's utm()).
  function campaign(search) {
    var found = null;
    search.replace(/^\?/, "").split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      var key = decodeURIComponent((at < 0 ? pair : pair.slice(0, at)).replace(/\+/g, " "));
      if (key.indexOf("utm_") !== 0 || key.length === 4) return;
      var value = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1).replace(/\+/g, " "));
      found = found || {};
      found[key === "utm_campaign" ? "name" : key.slice(4)] = value;
    });
    return found;
  }

  function timezone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return undefined;
    }
  }

  // -- building calls ------------------------------------------------------------------

  var OPTION_FIELDS = ["integrations", "context", "anonymousId", "userId", "timestamp",
    "messageId"];

  function event(type, fields, options, bpc) {
    options = options && typeof options === "object" ? options : {};
    var page = pageContext(bpc || currentPage());
    var context = { library: { name: "analytics.js", version: VERSION }, page: page,
      userAgent: navigator.userAgent, locale: navigator.language, timezone: timezone() };
    var utm = campaign(page.search);
    if (utm) context.campaign = utm;
    // Unknown option keys are context, as analytics-core's event factory has it.
    Object.keys(options).forEach(function (key) {
      if (OPTION_FIELDS.indexOf(key) < 0) context[key] = options[key];
    });
    var call = { type: type, context: Object.assign(context, options.context || {}),
      integrations: options.integrations || {},
      userId: options.userId !== undefined ? options.userId : user.id(),
      anonymousId: options.anonymousId || user.anonymousId(),
      timestamp: options.timestamp ? new Date(options.timestamp).toISOString()
        : new Date().toISOString(),
      messageId: options.messageId || "ajs-segemu-" + Date.now() + "-" + uuid() };
    return Object.assign(call, fields);
  }

  // Trailing arguments: [properties] [options] [callback], any of them left out.
  function tail(args) {
    var rest = { callback: undefined, objects: [] };
    args.forEach(function (arg) {
      if (typeof arg === "function") rest.callback = arg;
      else if (arg === null || arg === undefined || typeof arg === "object") rest.objects.push(arg);
    });
    return rest;
  }

  // page([category], [name], [properties], [options], [callback]), as analytics.js reads it.
  function pageArguments(args) {
    var names = [];
    while (args.length && names.length < 2 && (typeof args[0] === "string" ||
        (args[0] === null && typeof args[1] === "string"))) {
      names.push(args.shift());
    }
    var rest = tail(args);
    var category = names.length === 2 ? names[0] : null;
    var name = names.length === 2 ? names[1] : names.length === 1 ? names[0] : null;
    return { category: category, name: name, properties: rest.objects[0] || {},
      options: rest.objects[1], callback: rest.callback };
  }

  var calls = {
    track: function (args) {
      var name = args.shift();
      var rest = tail(args);
      return [event("track", { event: name, properties: rest.objects[0] || {} },
        rest.objects[1]), rest.callback];
    },
    identify: function (args) {
      var id = typeof args[0] === "object" && args[0] !== null ? undefined : args.shift();
      var rest = tail(args);
      var traits = rest.objects[0] || {};
      var current = user.id();
      // The same user's traits accumulate; a new user starts afresh (core/user/index.ts).
      if (current === null || id === undefined || id === null || String(id) === current) {
        traits = Object.assign({}, user.traits(), traits);
      }
      if (id !== undefined && id !== null) user.id(String(id));
      user.traits(traits);
      return [event("identify", { traits: traits }, rest.objects[1]), rest.callback];
    },
    page: function (args, bpc) {
      var parsed = pageArguments(args);
      var page = pageContext(bpc || currentPage());
      var properties = Object.assign({}, page, parsed.properties);
      var fields = { properties: properties, name: parsed.name };
      if (parsed.name) properties.name = parsed.name;
      if (parsed.category) {
        fields.category = parsed.category;
        properties.category = parsed.category;
      }
      return [event("page", fields, parsed.options, bpc), parsed.callback];
    },
    screen: function (args, bpc) {
      var parsed = pageArguments(args);
      var fields = { properties: parsed.properties, name: parsed.name };
      if (parsed.category) fields.category = parsed.category;
      return [event("screen", fields, parsed.options, bpc), parsed.callback];
    },
    group: function (args) {
      var id = typeof args[0] === "object" && args[0] !== null ? undefined : args.shift();
      var rest = tail(args);
      if (id !== undefined && id !== null) group.id(String(id));
      var traits = Object.assign({}, group.traits(), rest.objects[0] || {});
      group.traits(traits);
      return [event("group", { groupId: group.id(), traits: traits }, rest.objects[1]),
        rest.callback];
    },
    alias: function (args) {
      var to = args.shift();
      var from = typeof args[0] === "string" || args[0] === null ? args.shift() : undefined;
      var rest = tail(args);
      var previous = from || user.id() || user.anonymousId();
      var call = event("alias", { previousId: previous }, rest.objects[0]);
      call.userId = String(to);
      return [call, rest.callback];
    },
  };

  // -- delivery --------------------------------------------------------------------------

  var writeKey = null;
  var settings = null; // the Segment.io settings once loaded
  var waiting = []; // calls made before the settings arrived
  var readyCallbacks = [];
  var listeners = {};
  var middlewares = [];

  function basicAuth(key) {
    return "Basic " + btoa(unescape(encodeURIComponent(key + ":")));
  }

  function endpoint(type) {
    var host = settings.apiHost;
    var scheme = /^https?:\/\//.test(host) ? "" : (settings.protocol || "https") + "://";
    return scheme + host + "/" + type.charAt(0);
  }

  function post(call, attempt) {
    var body = Object.assign({}, call, { writeKey: settings.apiKey,
      sentAt: new Date().toISOString() });
    var headers = { "Content-Type": "text/plain", Authorization: basicAuth(settings.apiKey) };
    if (attempt > 0) headers["X-Retry-Count"] = String(attempt);
    var text = JSON.stringify(body);
    // A page being left only finishes requests sent with keepalive (at most 64 KB).
    var keepalive = document.visibilityState === "hidden" && text.length < 60000;
    return fetch(endpoint(call.type), { method: "POST", headers: headers, body: text,
      keepalive: keepalive })
      .then(function (response) {
        if (response.status >= 500 || response.status === 408 || response.status === 429) {
          throw new Error("segemu answered " + response.status);
        }
        if (response.status >= 400) {
          console.error("[segemu analytics.js] " + call.type + " refused: " + response.status);
        }
        return call;
      })
      .catch(function (error) {
        if (attempt >= MAX_RETRIES) {
          console.error("[segemu analytics.js] " + call.type + " not delivered:", error);
          return call;
        }
        var delay = Math.min(500 * Math.pow(2, attempt), 10000);
        return new Promise(function (resolve) { setTimeout(resolve, delay); })
          .then(function () { return post(call, attempt + 1); });
      });
  }

  function runMiddleware(call, index) {
    if (index >= middlewares.length) return Promise.resolve(call);
    return new Promise(function (resolve) {
      var payload = { obj: call, type: function () { return call.type; } };
      middlewares[index]({ payload: payload, integrations: call.integrations,
        next: function (next) { resolve(next ? next.obj : null); } });
    }).then(function (next) { return next ? runMiddleware(next, index + 1) : null; });
  }

  function deliver(call) {
    if (!settings) {
      return new Promise(function (resolve) { waiting.push([call, resolve]); });
    }
    return runMiddleware(call, 0).then(function (next) {
      return next ? post(next, 0) : call;
    });
  }

  function emit(name, args) {
    (listeners[name] || []).slice().forEach(function (listener) {
      try {
        listener.apply(null, args);
      } catch (error) {
        console.error(error);
      }
    });
  }

  function dispatch(method, args, bpc) {
    var made = calls[method](args, bpc);
    var call = made[0];
    var callback = made[1];
    var sent = deliver(call).then(function () {
      return { event: call };
    });
    if (callback) {
      // analytics.js calls back once the call is sent, or after 300 ms at the latest.
      var done = false;
      var once = function () {
        if (!done) {
          done = true;
          callback({ event: call });
        }
      };
      sent.then(once);
      setTimeout(once, 300);
    }
    emit(method, [call.event || call.name || call.userId, call.properties || call.traits]);
    return sent;
  }

  function useSettings(loaded, loadOptions) {
    var segment = (loaded && loaded.integrations && loaded.integrations["Segment.io"]) || {};
    var fromOptions = (loadOptions && loadOptions.integrations &&
      loadOptions.integrations["Segment.io"]) || {};
    settings = Object.assign({ apiKey: writeKey, apiHost: defaultApiHost(),
      protocol: cdn().split(":")[0] }, segment, fromOptions);
    waiting.splice(0).forEach(function (entry) {
      deliver(entry[0]).then(entry[1]);
    });
    analytics.initialized = true;
    readyCallbacks.splice(0).forEach(function (callback) { callback(); });
  }

  function cdn() {
    if (snippet && snippet._cdn) return String(snippet._cdn).replace(/\/$/, "");
    if (script && script.src) return new URL(script.src).origin;
    return location.origin;
  }

  function defaultApiHost() {
    return cdn().replace(/^https?:\/\//, "") + "/v1";
  }

  function start(key, loadOptions) {
    if (writeKey !== null) return;
    writeKey = key;
    fetch(cdn() + "/v1/projects/" + encodeURIComponent(key) + "/settings")
      .then(function (response) {
        if (!response.ok) throw new Error("settings answered " + response.status);
        return response.json();
      })
      .then(function (loaded) { useSettings(loaded, loadOptions); })
      .catch(function (error) {
        console.error("[segemu analytics.js] could not load the settings from " + cdn() +
          "; sending to " + defaultApiHost(), error);
        useSettings(null, loadOptions);
      });
  }

  // -- trackLink and trackForm (core/auto-track.ts) ---------------------------------------

  // How long a link or a form waits for its track call before it goes on anyway
  // (analytics.js: settings.timeout, 500 ms by default).
  var AUTO_TRACK_TIMEOUT = 500;

  function elementsOf(targets) {
    if (!targets) return [];
    if (targets instanceof Element) return [targets];
    if (typeof targets.toArray === "function") return targets.toArray(); // jQuery, Zepto
    return Array.prototype.slice.call(targets);
  }

  // Tracks `event` for the element (event and properties may be functions of it), then runs
  // `next` once the call is sent or the timeout passed, whichever comes first.
  function trackThen(element, event, properties, options, next) {
    var name = typeof event === "function" ? event(element) : event;
    var props = typeof properties === "function" ? properties(element) : properties;
    var sent = dispatch("track", [name, props || {}, options || {}]);
    var done = false;
    var once = function () {
      if (!done) {
        done = true;
        next();
      }
    };
    sent.then(once, once);
    setTimeout(once, AUTO_TRACK_TIMEOUT);
  }

  function linkHref(element) {
    var inner = element.getElementsByTagName("a")[0];
    return element.getAttribute("href") ||
      element.getAttributeNS("http://www.w3.org/1999/xlink", "href") ||
      element.getAttribute("xlink:href") || (inner && inner.getAttribute("href")) || null;
  }

  function trackLink(links, event, properties, options) {
    elementsOf(links).forEach(function (element) {
      element.addEventListener("click", function (click) {
        var href = linkHref(element);
        // A new tab (target=_blank, or ctrl/shift/meta/middle click) leaves this page be.
        var newTab = (element.target === "_blank" && href) || click.ctrlKey ||
          click.shiftKey || click.metaKey || click.button === 1;
        var follow = Boolean(href) && !newTab;
        if (follow) click.preventDefault();
        trackThen(element, event, properties, options, function () {
          if (follow) window.location.href = href;
        });
      }, false);
    });
    return analytics;
  }

  function trackForm(forms, event, properties, options) {
    elementsOf(forms).forEach(function (form) {
      if (!(form instanceof Element)) {
        throw new TypeError("Must pass HTMLElement to trackForm/trackSubmit.");
      }
      var handler = function (submit) {
        submit.preventDefault();
        // form.submit() sends the form without firing submit again.
        trackThen(form, event, properties, options, function () { form.submit(); });
      };
      // Forms submitted through jQuery or Zepto fire their handlers, not the DOM event.
      var $ = window.jQuery || window.Zepto;
      if ($) $(form).submit(handler);
      else form.addEventListener("submit", handler, false);
    });
    return analytics;
  }

  // -- the public object -----------------------------------------------------------------

  var analytics = {
    initialize: true,
    initialized: false,
    VERSION: VERSION,
    load: function (key, options) { start(key, options); },
    user: function () { return user; },
    group: function () {
      if (!arguments.length) return group;
      return dispatch("group", Array.prototype.slice.call(arguments));
    },
    reset: function () {
      writeId("ajs_user_id", null);
      writeId("ajs_anonymous_id", null);
      writeId("ajs_group_id", null);
      writeLocal("ajs_user_traits", null);
      writeLocal("ajs_group_properties", null);
    },
    setAnonymousId: function (id) { return user.anonymousId(id); },
    ready: function (callback) {
      return new Promise(function (resolve) {
        var run = function () {
          if (typeof callback === "function") callback();
          resolve();
        };
        if (analytics.initialized) run();
        else readyCallbacks.push(run);
      });
    },
    on: function (name, listener) {
      (listeners[name] = listeners[name] || []).push(listener);
      return analytics;
    },
    off: function (name, listener) {
      listeners[name] = (listeners[name] || []).filter(function (l) { return l !== listener; });
      return analytics;
    },
    once: function (name, listener) {
      var wrapped = function () {
        analytics.off(name, wrapped);
        listener.apply(null, arguments);
      };
      return analytics.on(name, wrapped);
    },
    addSourceMiddleware: function (middleware) {
      middlewares.push(middleware);
      return Promise.resolve(analytics);
    },
    pageview: function (url) {
      var bpc = currentPage();
      if (url) bpc.u = bpc.p = url;
      return dispatch("page", [], bpc);
    },
    debug: function () { return analytics; },
    trackLink: trackLink,
    trackClick: trackLink,
    trackForm: trackForm,
    trackSubmit: trackForm,
  };
  ["track", "identify", "page", "screen", "alias"].forEach(function (method) {
    analytics[method] = function () {
      return dispatch(method, Array.prototype.slice.call(arguments));
    };
  });
  ["addIntegrationMiddleware", "addDestinationMiddleware", "register"].forEach(function (method) {
    analytics[method] = function () {
      console.warn("[segemu analytics.js] " + method + " is not in segemu's built-in " +
        "analytics.js; install @segment/analytics-next for it (segemu serves it when found)");
      return Promise.resolve(analytics);
    };
  });

  // -- replace the snippet, replay its queue ---------------------------------------------

  var queued = Array.isArray(snippet) ? snippet.splice(0, snippet.length) : [];
  var key = EMBEDDED_KEY !== ["__", "WRITE", "_", "KEY", "__"].join("") ? EMBEDDED_KEY
    : (snippet && snippet._writeKey) || null;
  var loadOptions = (snippet && snippet._loadOptions) || {};
  window[globalKey] = analytics;
  if (snippet) analytics._cdn = snippet._cdn;
  queued.forEach(function (entry) {
    var method = entry[0];
    var args = Array.prototype.slice.call(entry, 1);
    var bpc = PAGE_AWARE.indexOf(method) > -1 && isBufferedPage(args[args.length - 1])
      ? args.pop() : undefined;
    if (calls[method]) dispatch(method, args, bpc);
    else if (typeof analytics[method] === "function") analytics[method].apply(analytics, args);
  });
  if (key) start(key, loadOptions);
})();
