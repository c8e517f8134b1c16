"""Flows: realistic journeys of users, as data files (segemu/traffic/flows/*.json) that a user
can copy and edit, turned into calls shaped as a given SDK sends them (`segemu trigger`).

A flow is a JSON object:

    {"description": "...", "platform": "web" | "mobile" | "server",
     "catalog": {"products": [{...}, ...]},           # lists that values are picked from
     "vars": {"cart": {"$sample": ...}, ...},          # chosen once per journey, in order
     "steps": [{"type": "page", "name": "Home", "properties": {"path": "/"}},
               {"type": "track", "event": "Product Added", "each": "cart", ...},
               {"type": "identify", "traits": {"email": "{user.email}"}}, ...]}

Every journey starts anonymous; an `identify` step makes the user known (every later call
carries the userId), an `alias` links the anonymousId to it, a `group` puts the user in an
account. A step may have `chance` (0-1; with `"else": "stop"` the journey ends there when it
does not happen), `repeat` ([min, max] times), `each` (once per item of a list variable,
bound to `item`), `wait` ([min, max] seconds of the journey's clock before it) and `let`
(variables chosen anew).

Values are templates: "{cart}" is the variable itself (any type), "/p/{item.sku}" text with
values put in; {"$pick": [...] or "catalog"}, {"$int": [a, b]}, {"$number": [a, b]},
{"$id": "prefix_"}, {"$uuid": true}, {"$sample": {"from", "count", "with"}},
{"$total": "cart"} (sum of price x quantity), {"$merge": "item", ...more keys}.

The same seed gives the same calls, messageIds included.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from segemu.traffic.sdk_shapes import DEFAULT_SDK, DEVICES, SDKS, shape

FLOWS_DIR = Path(__file__).parent / "flows"
PLATFORMS = ("web", "mobile", "server")
CALL_TYPES = ("track", "page", "screen", "identify", "group", "alias")
_WHOLE = re.compile(r"^\{([A-Za-z_][\w.]*)\}$")
_PART = re.compile(r"\{([A-Za-z_][\w.]*)\}")
_FIRST_NAMES = (
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "Donald",
    "Sophie",
)
_LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Knuth",
    "Wilson",
)


class FlowError(ValueError):
    """A flow file that cannot be used; the message names the file and the step."""


@dataclass(slots=True)
class Flow:
    name: str
    path: Path
    description: str
    platform: str
    steps: list[dict[str, Any]]
    catalog: dict[str, list[Any]] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)

    def events(self) -> list[str]:
        """The calls a journey can make, as `segemu trigger --list` shows them."""
        seen: list[str] = []
        for step in self.steps:
            label = step.get("event") or step.get("name") or ""
            text = f"{step['type']} {label}".strip()
            if text not in seen:
                seen.append(text)
        return seen


def builtin_flows() -> list[Path]:
    return sorted(FLOWS_DIR.glob("*.json"))


def find_flow(name: str) -> Path:
    """A built-in flow by name, or a flow file by path."""
    path = Path(name)
    if path.suffix == ".json" or path.exists():
        if not path.is_file():
            raise FlowError(f"{name}: no such flow file")
        return path
    for candidate in builtin_flows():
        if candidate.stem == name:
            return candidate
    known = ", ".join(p.stem for p in builtin_flows())
    raise FlowError(f"no flow named {name!r}; built-in flows: {known} (or give a .json file)")


def load_flow(path: Path) -> Flow:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise FlowError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
        raise FlowError(f'{path}: a flow is an object with a non-empty "steps" list')
    platform = data.get("platform", "web")
    if platform not in PLATFORMS:
        raise FlowError(f"{path}: platform must be one of {', '.join(PLATFORMS)}, got {platform!r}")
    for number, step in enumerate(data["steps"], 1):
        if not isinstance(step, dict) or step.get("type") not in CALL_TYPES:
            raise FlowError(f"{path}: step {number} needs a type, one of {', '.join(CALL_TYPES)}")
        if step["type"] == "track" and not isinstance(step.get("event"), str):
            raise FlowError(f'{path}: step {number} (track) needs an "event" name')
        chance = step.get("chance", 1)
        if not isinstance(chance, int | float) or not 0 <= chance <= 1:
            raise FlowError(f"{path}: step {number}: chance must be between 0 and 1")
    catalog = data.get("catalog", {})
    if not isinstance(catalog, dict) or not all(isinstance(v, list) for v in catalog.values()):
        raise FlowError(f'{path}: "catalog" must map names to lists')
    return Flow(
        name=path.stem,
        path=path,
        description=str(data.get("description", "")),
        platform=platform,
        steps=data["steps"],
        catalog=catalog,
        vars=data.get("vars", {}),
    )


# -- templates ----------------------------------------------------------------------------


class _Scope:
    def __init__(self, flow: Flow, rng: random.Random, values: dict[str, Any]) -> None:
        self.flow = flow
        self.rng = rng
        self.values = values

    def lookup(self, path: str) -> Any:
        head, *rest = path.split(".")
        if head not in self.values:
            raise FlowError(f"{self.flow.path}: no variable {head!r} (in {{{path}}})")
        value = self.values[head]
        for part in rest:
            if not isinstance(value, dict) or part not in value:
                raise FlowError(f"{self.flow.path}: {{{path}}}: no {part!r} in it")
            value = value[part]
        return value

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = _WHOLE.match(value)
            if whole:
                return self.lookup(whole.group(1))
            if "{" not in value:
                return value
            return _PART.sub(lambda m: str(self.lookup(m.group(1))), value)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            operators = [k for k in value if k.startswith("$") and k != "$merge"]
            if operators:
                return self._operator(operators[0], value[operators[0]])
            result: dict[str, Any] = {}
            if "$merge" in value:
                merged = self.resolve("{" + str(value["$merge"]) + "}")
                if isinstance(merged, dict):
                    result.update(merged)
            for key, item in value.items():
                if key != "$merge":
                    result[key] = self.resolve(item)
            return result
        return value

    def _operator(self, name: str, argument: Any) -> Any:
        rng = self.rng
        if name == "$pick":
            choices = self.flow.catalog.get(argument) if isinstance(argument, str) else argument
            if not isinstance(choices, list) or not choices:
                raise FlowError(f"{self.flow.path}: $pick needs a list or a catalog name")
            return self.resolve(rng.choice(choices))
        if name == "$int":
            low, high = argument
            return rng.randint(int(low), int(high))
        if name == "$number":
            low, high = argument
            return round(rng.uniform(float(low), float(high)), 2)
        if name == "$id":
            return f"{argument}{rng.getrandbits(48):012x}"
        if name == "$uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if name == "$sample":
            source = self.flow.catalog.get(argument["from"], [])
            low, high = argument.get("count", [1, 1])
            count = min(len(source), rng.randint(int(low), int(high)))
            return [
                {**self.resolve(item), **self.resolve(argument.get("with", {}))}
                for item in rng.sample(source, count)
            ]
        if name == "$total":
            items = self.lookup(argument)
            return round(
                sum(float(i.get("price", 0)) * float(i.get("quantity", 1)) for i in items), 2
            )
        raise FlowError(f"{self.flow.path}: unknown operator {name}")


# -- journeys -----------------------------------------------------------------------------


@dataclass(slots=True)
class Journey:
    """One user's calls, as the SDK would send them."""

    user: dict[str, Any]
    calls: list[dict[str, Any]]


class Generator:
    def __init__(self, flow: Flow, sdk: str | None, seed: int | None, start: datetime) -> None:
        self.flow = flow
        self.sdk = sdk or DEFAULT_SDK[flow.platform]
        if self.sdk not in SDKS:
            raise FlowError(f"unknown SDK {self.sdk!r}; one of {', '.join(SDKS)}")
        # The journeys follow from the seed and the flow; the messageIds from the SDK too, so
        # that two flows, or one flow in two shapes, never send the same messageId (which
        # Segment would keep only once) and the same seed still gives the same calls.
        self.rng = random.Random(None if seed is None else f"{seed}:{flow.name}")
        self.ids = random.Random(None if seed is None else f"{seed}:{flow.name}:{self.sdk}")
        self.start = start

    def journeys(self, users: int | None) -> Iterator[Journey]:
        number = 0
        while users is None or number < users:
            # Users arrive about a minute apart on the journeys' clock.
            begins = self.start + timedelta(seconds=number * 60 + self.rng.uniform(0, 30))
            yield self.journey(begins)
            number += 1

    def _user(self) -> dict[str, Any]:
        rng = self.rng
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        number = rng.getrandbits(32)
        return {
            "id": f"user_{number:08x}",
            "anonymousId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "firstName": first,
            "lastName": last,
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower().replace('-', '')}.{number % 1000}@example.com",
            "device": rng.choice(DEVICES),
            "deviceId": str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper(),
        }

    def journey(self, begins: datetime) -> Journey:
        flow, rng = self.flow, self.rng
        user = self._user()
        scope = _Scope(flow, rng, {"user": user})
        for name, template in flow.vars.items():
            scope.values[name] = scope.resolve(template)
        state: dict[str, Any] = {"known": False, "clock": begins, "page": None, "group": None}
        calls: list[dict[str, Any]] = []
        for step in flow.steps:
            if rng.random() >= float(step.get("chance", 1)):
                if step.get("else") == "stop":
                    break
                continue
            for name, template in (step.get("let") or {}).items():
                scope.values[name] = scope.resolve(template)
            low, high = step.get("repeat", [1, 1])
            times = rng.randint(int(low), int(high))
            items = scope.lookup(step["each"]) if "each" in step else [None]
            for _ in range(times):
                for item in items:
                    if item is not None:
                        scope.values["item"] = item
                    calls.append(self._call(step, scope, state, user))
        return Journey(user, calls)

    def _call(
        self, step: Mapping[str, Any], scope: _Scope, state: dict[str, Any], user: dict[str, Any]
    ) -> dict[str, Any]:
        rng = self.rng
        low, high = step.get("wait", [2, 20])
        state["clock"] += timedelta(seconds=rng.uniform(float(low), float(high)))
        scope.values["now"] = state["clock"].astimezone(UTC).isoformat(timespec="seconds")
        scope.values["now"] = scope.values["now"].replace("+00:00", "Z")
        kind = step["type"]
        call: dict[str, Any] = {"type": kind}
        if kind == "track":
            call["event"] = scope.resolve(step["event"])
        if kind in ("page", "screen"):
            call["name"] = scope.resolve(step.get("name"))
        if kind in ("track", "page", "screen"):
            call["properties"] = scope.resolve(step.get("properties", {}))
        if kind == "identify":
            state["known"] = True
            call["traits"] = scope.resolve(step.get("traits", {}))
        if kind == "group":
            call["groupId"] = scope.resolve(step["groupId"])
            call["traits"] = scope.resolve(step.get("traits", {}))
        if kind == "alias":
            state["known"] = True
            call["previousId"] = user["anonymousId"]
        if kind == "page" and self.sdk == "browser":
            # analytics.js puts the page's path, url, title... in both properties and
            # context.page (sdk-captures/browser.json).
            page = self._page(call["properties"], call.get("name"), state["page"])
            call["properties"] = {**page, **call["properties"]}
            state["page"] = page
        call["anonymousId"] = user["anonymousId"]
        if state["known"]:
            call["userId"] = user["id"]
        extra_context = scope.resolve(step.get("context", {}))
        return shape(
            self.sdk,
            call,
            moment=state["clock"],
            unique=str(uuid.UUID(int=self.ids.getrandbits(128), version=4)),
            page=state["page"],
            user=user,
            rng=self.rng,
            extra_context=extra_context,
        )

    def _page(self, properties: dict[str, Any], name: Any, previous: Any) -> dict[str, Any]:
        path = str(properties.get("path") or "/")
        search = str(properties.get("search") or "")
        url = f"https://www.example.com{path}{search}"
        return {
            "path": path,
            "referrer": previous["url"] if previous else "",
            "search": search,
            "title": f"{name or 'Example Store'} | Example Store",
            "url": url,
        }


def describe(flow: Flow) -> list[str]:
    """The lines of `segemu trigger --list` for one flow."""
    return [
        f"{flow.name}  ({flow.platform}, shaped as {DEFAULT_SDK[flow.platform]} by default)",
        f"    {flow.description}",
        f"    calls: {', '.join(flow.events())}",
        f"    file:  {flow.path}",
    ]
