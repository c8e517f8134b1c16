"""Expectations about received events, and verdicts that explain themselves.

One evaluator serves every surface: the pytest fixtures, `POST /_segemu/assert` (so Cypress,
Playwright or Jest suites get the same failure messages), `segemu assert`, and the TUI's
expectations panel. An expectation travels as JSON:

    {"type": "track", "where": "context.library.name:analytics-python",
     "fields": {"event": "Order Completed", "properties": {"revenue": 99.99}},
     "exact": false, "times": null, "atLeast": 1, "writeKey": "..."}

`fields` holds expected values by path into the normalized event. They match as a subset by
default: an expected object matches an actual object that has at least its keys; `exact` makes
`properties` and `traits` match only with no extra keys. Values may be matchers, objects with one
`$` key: `{"$any": true}`, `{"$anyString": true}`, `{"$regex": "..."}`,
`{"$approx": 9.99, "rel": 1e-6, "abs": 1e-12}`, `{"$absent": true}`.

With `"destination": "mixpanel"` the expectation is about what that destination received: a
matching record must have been delivered there, and `payload` (a subset, matchers allowed)
must match the body of one of the requests the destination's API would have received (or
one item of a body that is a list, as Mixpanel's /import takes). With `times: 0` it says no
such event reached the destination.

Only accepted records satisfy an expectation unless it names another `status`: Segment drops
rejected calls and duplicates, so an event that "arrived" as one of those did not really
arrive. They still show up as near misses, with their reason, because that is exactly what a
developer needs to see.
"""

from __future__ import annotations

import difflib
import heapq
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from segemu.message import EVENT_TYPES, STATUSES, Record
from segemu.query import MATCH_ALL, Query, QueryError, parse_query
from segemu.query.regex import RegexError, compile_regex

# How many near misses a failed verdict shows.
NEAREST_SHOWN = 3
# How many violations (and lint findings) of each matching event a failed verdict shows.
NOTES_SHOWN = 5
# Fields whose objects `exact` compares without allowing extra keys.
EXACT_FIELDS: Final = ("properties", "traits")
# Fields that name the event; a mismatch there weighs double when ranking near misses.
NAME_FIELDS: Final = frozenset({"event", "name"})
MATCHER_KEYS: Final = ("$any", "$anyString", "$regex", "$approx", "$absent")


class ExpectationError(ValueError):
    """An expectation that cannot be evaluated: a client's mistake, answered with a 400."""


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()
# The "expected" of a query term a record fails: the term itself says what was wanted.
QUERY_TERM: Final = "(to match)"


@dataclass(frozen=True, slots=True)
class Difference:
    path: str
    expected: Any
    actual: Any
    # 0 for a near miss (a typo), 1 for a plain mismatch: ranks the nearest misses.
    cost: float = 1.0

    def describe(self) -> str:
        actual = "missing" if self.actual is MISSING else _show(self.actual)
        if self.expected is QUERY_TERM:
            return f"{self.path}: no match" + ("" if self.actual is MISSING else f", got {actual}")
        if self.expected is MISSING:
            return f"{self.path}: not expected (exact match), got {actual}"
        return f"{self.path}: expected {_show_expected(self.expected)}, got {actual}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "expected": None if self.expected is MISSING else self.expected,
            "actual": None if self.actual is MISSING else self.actual,
            "missing": self.actual is MISSING,
            "message": self.describe(),
        }


@dataclass(frozen=True, slots=True)
class Expectation:
    type: str | None = None
    where: Query = MATCH_ALL
    fields: Mapping[str, Any] = field(default_factory=dict)
    exact: bool = False
    # Exactly this many matching events; when None, at least `at_least`.
    times: int | None = None
    at_least: int = 1
    write_key: str | None = None
    # Which records count: "accepted" (the default), "rejected", "duplicate" or "any".
    status: str = "accepted"
    # How the caller wrote it, e.g. "assert_tracked('Order Completed')", for the message.
    description: str | None = None
    # A destination id: the records must have been delivered there (see the module doc).
    destination: str | None = None
    payload: Any = None
    # `fields` as one predicate, compiled on the first match (see _fits): judging reads every
    # stored call, and working the paths and matchers out again for each costs most of it.
    _fields_fit: Callable[[Mapping[str, Any]], bool] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def reads_requests(self) -> bool:
        """Whether judging needs the requests a destination received: they are built when
        read, and cost far more than the routing stored on the record."""
        return self.destination is not None and self.payload is not None

    @property
    def reads_profile(self) -> bool:
        """Whether judging reads the call's profile (`profile.` in `where`)."""
        return self.where.reads_profile

    def could_match(self, record: Record) -> bool:
        """Everything but the requests matches: the record is worth building them for."""
        routing = record.get("routing") or {}
        verdict = routing.get(self.destination or "")
        return (
            verdict is not None
            and verdict["status"] == "delivered"
            and (self.status == "any" or record["status"] == self.status)
            and (self.type is None or record["type"] == self.type)
            and self.where.matches(record)
        )

    @property
    def needed(self) -> int:
        """How many matching events make waiting worthwhile."""
        return self.times if self.times is not None else self.at_least

    def matches(self, record: Record) -> bool:
        """Whether `record` satisfies the expectation: exactly when `differences` (and the
        status and type checks) find nothing, without building the differences."""
        fields_fit = self._fields_fit
        if fields_fit is None:
            fields_fit = _fits_all(self.fields, self.exact)
            object.__setattr__(self, "_fields_fit", fields_fit)
        return (
            (self.status == "any" or record["status"] == self.status)
            and (self.type is None or record["type"] == self.type)
            and self.where.matches(record)
            and fields_fit(record["event"])
            and (self.destination is None or not self._delivery_differences(record))
        )

    def differences(self, record: Record) -> list[Difference]:
        """What keeps `record` from matching `fields` (status and type are checked apart)."""
        found: list[Difference] = []
        for path, expected in self.fields.items():
            actual = _lookup(record["event"], path)
            exact = self.exact and path in EXACT_FIELDS
            found.extend(_diff(expected, actual, path, exact))
        if self.destination is not None:
            found.extend(self._delivery_differences(record))
        return found

    def _delivery_differences(self, record: Record) -> list[Difference]:
        destination = self.destination or ""
        path = f"deliveries.{destination}"
        # The routing decided at ingest says whether it was delivered; the requests, built
        # when read, say what was sent (Emulator._judged adds them where they can matter).
        routing = record.get("routing") or {}
        verdict = routing.get(destination)
        if verdict is None:
            if record["status"] != "accepted":
                return [Difference(path, "a delivery", f"none: the call was {record['status']}")]
            return [Difference(path, "a delivery", MISSING if routing else "no destinations")]
        delivery = (record.get("deliveries") or {}).get(destination) or {}
        status = delivery.get("status", verdict["status"])
        if status != "delivered":
            reason = delivery.get("reason", verdict["reason"])
            return [
                Difference(
                    f"{path}.status", "delivered", f"{status}" + (f" ({reason})" if reason else "")
                )
            ]
        if self.payload is None:
            return []
        candidates: list[tuple[str, Any]] = []
        for index, request in enumerate(delivery.get("requests", [])):
            body = request.get("body")
            if isinstance(body, list) and body and isinstance(self.payload, dict):
                # A batch (Mixpanel's, Amplitude's events): the payload is one of its items,
                # and the nearest miss names the path inside the nearest item, not the batch.
                candidates.extend(
                    (f"{path}.requests[{index}].body[{item}]", element)
                    for item, element in enumerate(body)
                )
            else:
                candidates.append((f"{path}.requests[{index}].body", body))
        best: list[Difference] | None = None
        for where, body in candidates:
            differences = _diff(self.payload, body, where, False)
            if not differences:
                return []
            if best is None or len(differences) < len(best):
                best = differences
        return best or [Difference(f"{path}.requests", "a request", MISSING)]

    def describe(self) -> str:
        if self.description:
            return self.description
        parts = [self.type or "event"]
        if self.where is not MATCH_ALL and self.where.text.strip():
            parts.append(f"matching {self.where.text!r}")
        for path, value in self.fields.items():
            parts.append(f"{path}={_show_expected(value)}")
        return " ".join(parts)

    @classmethod
    def from_json(cls, data: Any) -> Expectation:
        if not isinstance(data, dict):
            raise ExpectationError("the expectation must be a JSON object")
        unknown = set(data) - {
            "type",
            "where",
            "q",
            "fields",
            "exact",
            "times",
            "atLeast",
            "count",
            "writeKey",
            "description",
            "timeout",
            "status",
            "destination",
            "payload",
        }
        if unknown:
            raise ExpectationError(
                f"unknown field(s) in the expectation: {', '.join(sorted(unknown))}"
            )
        kind = data.get("type")
        if kind is not None and kind not in EVENT_TYPES:
            raise ExpectationError(f"type must be one of {', '.join(EVENT_TYPES)}, got {kind!r}")
        for name in ("where", "q"):  # both checked, though `where` wins
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ExpectationError(f"{name} must be a query string")
        where_text = data.get("where", data.get("q")) or ""
        try:
            where = parse_query(where_text)
        except QueryError as exc:
            raise ExpectationError(f"where: {exc}") from None
        fields = data.get("fields")
        fields = {} if fields is None else fields
        if not isinstance(fields, dict):
            raise ExpectationError("fields must be an object of path: expected value")
        for path, value in fields.items():
            if not path or any(not part for part in path.split(".")):
                raise ExpectationError(f"fields: {path!r} is not a dotted path")
            _check_matchers(value, path)
        times = data.get("times", data.get("count"))
        at_least = data.get("atLeast", 1)
        # `count` is checked even beside `times`, which wins: a bad value is never ignored.
        for name, value in (("times", times), ("count", data.get("count")), ("atLeast", at_least)):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ExpectationError(f"{name} must be a whole number >= 0, got {value!r}")
        write_key = data.get("writeKey")
        if write_key is not None and not isinstance(write_key, str):
            raise ExpectationError("writeKey must be a string")
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise ExpectationError("description must be a string")
        status = data.get("status", "accepted")
        if status not in (*STATUSES, "any"):
            raise ExpectationError(
                f"status must be one of {', '.join(STATUSES)} or any, got {status!r}"
            )
        destination = data.get("destination")
        if destination is not None and (not isinstance(destination, str) or not destination):
            raise ExpectationError('destination must be a destination id, e.g. "mixpanel"')
        if data.get("payload") is not None:
            _check_matchers(data["payload"], "payload")
        return cls(
            type=kind,
            where=where,
            fields=fields,
            exact=bool(data.get("exact")),
            times=times,
            at_least=at_least,
            write_key=write_key or None,
            status=status,
            description=description,
            destination=destination,
            payload=data.get("payload"),
        )


@dataclass(frozen=True, slots=True)
class NearMiss:
    record: Record
    differences: list[Difference]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.record["id"],
            "messageId": self.record["messageId"],
            "summary": summarize(self.record),
            "differences": [d.to_json() for d in self.differences],
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    expectation: Expectation
    passed: bool
    # The matching records, oldest first: the newest MATCHED_KEPT of them, of `count` in all.
    matched: list[Record]
    nearest: list[NearMiss]
    # How many records were in scope (the write key's), to tell "nothing arrived" apart.
    considered: int
    count: int
    # When nothing arrived for the write key: the other write keys that received calls, with
    # their counts, most first (an SDK configured with a key of its own).
    elsewhere: tuple[tuple[str, int], ...] = ()

    @property
    def message(self) -> str:
        return _message(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "expected": self.expectation.describe(),
            "count": self.count,
            "considered": self.considered,
            "matched": [
                {"id": r["id"], "messageId": r["messageId"], "summary": summarize(r)}
                for r in self.matched
            ],
            "nearest": [miss.to_json() for miss in self.nearest],
            "message": self.message,
        }


# How many matching records a verdict keeps (the newest); it counts them all.
MATCHED_KEPT = 1000


class Judging:
    """An expectation judged one record at a time, over its scope newest first, so that a
    reader on the event loop can pause between any two records (Emulator.judge). Memory is
    bounded whatever the scope: the newest MATCHED_KEPT matches and the NEAREST_SHOWN nearest
    misses are kept.

    A verdict shows near misses only when fewer than `needed` records match. So they are
    looked for in the same pass, for as long as fewer than `needed` have matched: a verdict
    that shows them has weighed every record that missed, and any other stops weighing at its
    `needed`-th match (among the newest records, usually) and shows none. One pass reads each
    stored call once, instead of a second pass for the misses."""

    __slots__ = ("_misses", "considered", "count", "expectation", "matched")

    def __init__(self, expectation: Expectation) -> None:
        self.expectation = expectation
        self.considered = 0
        self.count = 0
        self.matched: list[Record] = []
        # The best misses so far, the worst first: (-cost, id, miss).
        self._misses: list[tuple[float, int, NearMiss]] = []

    def add(self, record: Record) -> None:
        self.considered += 1
        if self.expectation.matches(record):
            self.count += 1
            if len(self.matched) < MATCHED_KEPT:
                self.matched.append(record)
        elif self.count < self.expectation.needed:
            self._weigh_miss(record)

    @property
    def passed(self) -> bool:
        if self.expectation.times is not None:
            return self.count == self.expectation.times
        return self.count >= self.expectation.at_least

    def _weigh_miss(self, record: Record) -> None:
        miss = _near_miss(self.expectation, record)
        entry = (-sum(d.cost for d in miss.differences), record["id"], miss)
        if len(self._misses) < NEAREST_SHOWN:
            heapq.heappush(self._misses, entry)
        else:
            heapq.heappushpop(self._misses, entry)

    def verdict(self) -> Verdict:
        # The cheapest first; between equals, the newest.
        nearest = [miss for *_, miss in sorted(self._misses, key=lambda e: (-e[0], -e[1]))]
        if self.count >= self.expectation.needed:
            nearest = []  # weighed before enough matched: not what this verdict shows
        # Oldest first reads like the order the code sent them.
        matched = self.matched[::-1]
        return Verdict(self.expectation, self.passed, matched, nearest, self.considered, self.count)


def evaluate(expectation: Expectation, records: Iterable[Record]) -> Verdict:
    """Judge `records` (the scope, newest first) against `expectation`."""
    judging = Judging(expectation)
    for record in records:
        judging.add(record)
    return judging.verdict()


def _near_miss(expectation: Expectation, record: Record) -> NearMiss:
    differences: list[Difference] = []
    for term in expectation.where.misses(record):
        found, value = term.value(record)
        differences.append(
            Difference(f"where {term.text}", QUERY_TERM, value if found else MISSING)
        )
    if expectation.status not in ("any", record["status"]):
        differences.append(Difference("status", expectation.status, record["status"], 0.5))
    if expectation.type is not None and record["type"] != expectation.type:
        differences.append(Difference("type", expectation.type, record["type"], 2.0))
    differences.extend(expectation.differences(record))
    return NearMiss(record, differences)


# -- matching ------------------------------------------------------------------------------


def _lookup(event: Mapping[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def _getter(path: str) -> Callable[[Any], Any]:
    """`_lookup` for one path, split once."""
    parts = [(part, part.isdigit()) for part in path.split(".")]

    def get(event: Any) -> Any:
        value = event
        for part, digits in parts:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and digits and int(part) < len(value):
                value = value[int(part)]
            else:
                return MISSING
        return value

    return get


def _fits_all(fields: Mapping[str, Any], exact: bool) -> Callable[[Mapping[str, Any]], bool]:
    """One predicate over an event for every path of `fields`: true exactly when
    `Expectation.differences` would find no difference in them."""
    checks = [
        (_getter(path), _fits(expected, path, exact and path in EXACT_FIELDS))
        for path, expected in fields.items()
    ]

    def fit(event: Mapping[str, Any]) -> bool:
        return all(check(get(event)) for get, check in checks)

    return fit


def _fits(expected: Any, path: str, exact: bool) -> Callable[[Any], bool]:
    """`_diff(expected, actual, path, exact) == []` as a predicate on `actual`, compiled once:
    the same cases in the same order, without building a Difference."""
    if _is_matcher(expected):
        matcher = _compile_matcher(expected, path)
        return lambda actual: bool(matcher(actual))
    if isinstance(expected, dict):
        inner = [(key, _fits(value, f"{path}.{key}", exact)) for key, value in expected.items()]

        def fits_object(actual: Any) -> bool:
            if actual is MISSING or not isinstance(actual, dict):
                return False
            if not all(check(actual.get(key, MISSING)) for key, check in inner):
                return False
            return not exact or all(key in expected for key in actual)

        return fits_object
    if isinstance(expected, list):
        items = [_fits(value, f"{path}.{index}", exact) for index, value in enumerate(expected)]

        def fits_list(actual: Any) -> bool:
            return (
                isinstance(actual, list)
                and len(actual) == len(items)
                and all(check(value) for check, value in zip(items, actual, strict=True))
            )

        return fits_list
    return lambda actual: actual is not MISSING and _equal(expected, actual)


def _is_matcher(value: Any) -> bool:
    return isinstance(value, dict) and len(value) >= 1 and next(iter(value)) in MATCHER_KEYS


def _check_matchers(value: Any, path: str) -> None:
    if isinstance(value, dict):
        first = next(iter(value), None)
        if isinstance(first, str) and first.startswith("$"):
            if first not in MATCHER_KEYS:
                raise ExpectationError(
                    f"fields.{path}: unknown matcher {first!r}; known: {', '.join(MATCHER_KEYS)}"
                )
            _compile_matcher(value, path)
            return
        for key, inner in value.items():
            _check_matchers(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_matchers(inner, f"{path}.{index}")


def _compile_matcher(spec: Mapping[str, Any], path: str) -> Callable[[Any], bool]:
    if "$any" in spec:
        return lambda actual: actual is not MISSING
    if "$absent" in spec:
        return lambda actual: actual is MISSING or actual is None
    if "$anyString" in spec:
        return lambda actual: isinstance(actual, str)
    if "$regex" in spec:
        source = spec["$regex"]
        if not isinstance(source, str):
            raise ExpectationError(f"fields.{path}: $regex must be a string, got {source!r}")
        try:
            pattern = compile_regex(source)
        except RegexError as exc:
            raise ExpectationError(f"fields.{path}: bad $regex {source!r}: {exc}") from None
        return lambda actual: isinstance(actual, str) and pattern.search(actual)
    target, rel, abs_ = spec.get("$approx"), spec.get("rel", 1e-6), spec.get("abs", 1e-12)
    if not (_is_number(target) and _is_number(rel) and _is_number(abs_)):
        raise ExpectationError(f"fields.{path}: $approx, rel and abs must be numbers")
    close_to = float(target)  # type: ignore[arg-type]  # checked just above
    return lambda actual: (
        _is_number(actual) and math.isclose(actual, close_to, rel_tol=rel, abs_tol=abs_)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(expected: Any, actual: Any) -> bool:
    # JSON has one number type: 2 equals 2.0, but true is not 1.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def _diff(expected: Any, actual: Any, path: str, exact: bool) -> list[Difference]:
    if _is_matcher(expected):
        ok = _compile_matcher(expected, path)(actual)
        return [] if ok else [Difference(path, expected, actual)]
    if actual is MISSING:
        return [Difference(path, expected, actual)]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [Difference(path, expected, actual)]
        found: list[Difference] = []
        for key, inner in expected.items():
            found.extend(_diff(inner, actual.get(key, MISSING), f"{path}.{key}", exact))
        if exact:
            found.extend(
                Difference(f"{path}.{key}", MISSING, actual[key])
                for key in actual
                if key not in expected
            )
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [Difference(path, expected, actual)]
        return [
            d
            for index, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in _diff(e, a, f"{path}.{index}", exact)
        ]
    if _equal(expected, actual):
        return []
    cost = 1.0
    if isinstance(expected, str) and isinstance(actual, str):
        # A typo ('Order Complted') ranks above a different event ('Product Viewed').
        cost = 1.0 - difflib.SequenceMatcher(None, expected.lower(), actual.lower()).ratio()
    if path in NAME_FIELDS:
        cost *= 2  # the name says which event it is: a wrong one outweighs a wrong property
    return [Difference(path, expected, actual, cost)]


# -- messages ------------------------------------------------------------------------------


def _show(value: Any, limit: int = 80) -> str:
    text = orjson.dumps(value, default=repr).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show_expected(value: Any) -> str:
    if _is_matcher(value):
        key = next(iter(value))
        if key == "$any":
            return "any value"
        if key == "$anyString":
            return "any string"
        if key == "$absent":
            return "no value"
        if key == "$regex":
            return f"a string matching /{value['$regex']}/"
        return f"≈ {value['$approx']}"
    if isinstance(value, dict) and any(_is_matcher(v) for v in value.values()):
        inner = ", ".join(f"{_show(k)}: {_show_expected(v)}" for k, v in value.items())
        return "{" + inner + "}"
    return _show(value)


def summarize(record: Record) -> str:
    """One line that names a record the way a developer thinks of it."""
    event = record["event"]
    name = event.get("event") or event.get("name")
    who = event.get("userId") or event.get("anonymousId")
    parts = [f"#{record['id']}", record["type"] or "(no type)"]
    if isinstance(name, str) and name:
        parts.append(repr(name))
    if record["status"] != "accepted":
        parts.append(f"[{record['status']}: {record['reason']}]")
    if who:
        parts.append(f"user={who}")
    parts.append(f"at {record['receivedAt']}")
    return " ".join(parts)


def _wanted(expectation: Expectation) -> str:
    if expectation.times is not None:
        return f"exactly {expectation.times}"
    return f"at least {expectation.at_least}"


def _message(verdict: Verdict) -> str:
    expectation = verdict.expectation
    count = verdict.count
    scope = f" for write key {expectation.write_key}" if expectation.write_key else ""
    kind = f"{expectation.type} call" if expectation.type else "call"
    plural = "" if expectation.needed == 1 else "s"
    head = (
        f"{expectation.describe()}: expected {_wanted(expectation)} matching {kind}{plural}"
        f", found {count} among {verdict.considered} received{scope}"
    )
    if verdict.passed:
        return f"passed: {head}"
    lines = [head]
    if verdict.matched and (count > expectation.needed or expectation.times == 0):
        lines.append("matching events:")
        for record in verdict.matched[:10]:
            lines.append(f"  {summarize(record)}")
            # What the tracking plan says, for assert_no_violations() and friends.
            notes = [("violation", v["message"]) for v in record.get("violations") or ()]
            notes += [(f"lint {f['rule']}", f["message"]) for f in record.get("lint") or ()]
            lines.extend(f"      {label}: {message}" for label, message in notes[:NOTES_SHOWN])
    elif verdict.nearest:
        lines.append("nearest misses:")
        for miss in verdict.nearest:
            lines.append(f"  {summarize(miss.record)}")
            lines.extend(f"      {d.describe()}" for d in miss.differences)
    elif verdict.considered == 0 and verdict.elsewhere:
        others = ", ".join(f"{key!r} ({count:,})" for key, count in verdict.elsewhere)
        lines.append(
            f"no events arrived for write key {expectation.write_key!r}, but some did for "
            f"{others}: send with segemu.write_key (Client(segemu.write_key, "
            f"host=segemu.url)), or give the test that key with "
            f"@pytest.mark.segemu(write_key=...)"
        )
    elif verdict.considered == 0:
        lines.append("no events were received at all: is the SDK pointed at segemu and flushed?")
    return "\n".join(lines)
