"""Lint rules about event names: dynamic names, casing, and the Object-Action convention.

Segment's naming advice (DOCS protocols/tracking-plan/best-practices.md, "Formalize your naming
and collection standards"): pick a casing convention and enforce it (Segment recommends Title
Case for event names), name events Object + Action as Segment's specs do (Product Viewed, Order
Completed), and never pull a dynamic value into an event name (`User Signed Up (11-01-2019)`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from segemu.message import Record
from segemu.protocols.lint.base import NAME_CHARS, NAMED_TYPES, TRACK, Bounded, LintRule
from segemu.protocols.lint.spec_names import SPEC_EVENTS
from segemu.protocols.violations import LintFinding

# -- dynamic-event-name -------------------------------------------------------------------------

# Each pattern is linear in the name: `search` tries every start, so a pattern whose every
# try runs to the end of a long run is quadratic. The email's try starts only where a run of
# [^\s@] starts (the leftmost match starts there anyway): `[^\s@]+@` tried from every "a" of
# "a" * 31000 took 1.5 s.
_DYNAMIC = (
    ("an email address", re.compile(r"(?<![^\s@])[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")),
    ("a URL", re.compile(r"(?i)\b(?:https?://|www\.)\S+|(?:^|\s)/[\w.-]+/\S*")),
    ("a UUID", re.compile(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")),
    # A run of 3+ digits, or a long token mixing letters and digits: an id, an order number,
    # a year. One or two digits ("Step 2 Viewed") are left alone.
    (
        "a number or id",
        re.compile(
            r"(?<![A-Za-z])\d{3,}|\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])"
            r"[A-Za-z0-9]{10,}\b"
        ),
    ),
)


def dynamic_part(name: str) -> tuple[str, str] | None:
    """(what it looks like, the text) of the first dynamic value in a name's first NAME_CHARS."""
    return _dynamic_part(name[:NAME_CHARS])


@lru_cache(maxsize=4096)
def _dynamic_part(name: str) -> tuple[str, str] | None:
    for what, pattern in _DYNAMIC:
        match = pattern.search(name)
        if match:
            return what, match.group().strip()
    return None


class DynamicEventName(LintRule):
    id = "dynamic-event-name"
    by_name = True
    types = NAMED_TYPES
    doc = "Event or page names that contain ids, numbers, emails or URLs."
    source = "protocols/tracking-plan/best-practices.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        field_name = "event" if record["type"] == "track" else "name"
        name = event.get(field_name)
        if record["type"] not in ("track", "page", "screen") or not isinstance(name, str):
            return
        part = dynamic_part(name)
        if part is not None:
            what, text = part
            found.append(
                self.finding(
                    f"{field_name} {name!r} contains {what} ({text!r}): every value makes a new "
                    "event name in every destination; send it as a property instead",
                    field_name,
                )
            )


# -- event-name-casing --------------------------------------------------------------------------

_SMALL_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "via",
        "with",
    }
)
_CAMEL_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(name: str) -> list[str]:
    """The words of a name's first NAME_CHARS characters."""
    parts = re.split(r"[\s_\-.:/]+", name[:NAME_CHARS].strip())
    return [w for part in parts for w in _CAMEL_SPLIT.findall(part)]


def casing(name: str) -> str | None:
    """The casing style of a name (its first NAME_CHARS characters); None when it has a single
    word, which fits several, or mixes styles, which is no convention to compare with."""
    return _casing(name[:NAME_CHARS])


@lru_cache(maxsize=4096)
def _casing(name: str) -> str | None:
    if " " in name.strip():
        letters = [t for t in name.split() if t[:1].isalpha()]
        if not letters:
            return None
        if all(t == t.lower() for t in letters):
            return "lower case"
        if all(t == t.upper() for t in letters):
            return "UPPER CASE"
        if all(t[0].isupper() or (i > 0 and t in _SMALL_WORDS) for i, t in enumerate(letters)):
            return "Title Case"
        if letters[0][0].isupper() and all(t == t.lower() for t in letters[1:]):
            return "Sentence case"
        return None
    if "_" in name:
        return (
            "snake_case"
            if name == name.lower()
            else ("UPPER_SNAKE_CASE" if name == name.upper() else None)
        )
    if "-" in name:
        return "kebab-case" if name == name.lower() else None
    if any(c.isupper() for c in name[1:]) and any(c.islower() for c in name):
        return "camelCase" if name[0].islower() else "PascalCase"
    return None


@dataclass(slots=True)
class _SourceNames:
    styles: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    by_words: dict[tuple[str, ...], str] = field(default_factory=dict)
    verdicts: dict[str, str | None] = field(default_factory=dict)


# Distinct names remembered per write key.
NAMES_KEPT = 2000


class EventNameCasing(LintRule):
    id = "event-name-casing"
    by_name = True
    types = TRACK
    doc = "Track event names whose casing differs from the source's other event names."
    source = "protocols/tracking-plan/best-practices.md"

    def __init__(self) -> None:
        self._sources: Bounded[_SourceNames] = Bounded(1000)

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        name = event.get("event")
        if record["type"] != "track" or not isinstance(name, str):
            return
        key = (record["writeKey"],)
        names = self._sources.get(key)
        if names is None:
            names = _SourceNames()
            self._sources.set(key, names)
        if name not in names.verdicts:
            names.verdicts[name] = self._judge(name, names)
            if len(names.verdicts) > NAMES_KEPT:
                names.verdicts.pop(next(iter(names.verdicts)))
        verdict = names.verdicts[name]
        if verdict is not None:
            found.append(self.finding(verdict, "event"))

    @staticmethod
    def _judge(name: str, names: _SourceNames) -> str | None:
        # Past NAME_CHARS two names are no longer told apart: a longer name has no twin.
        spelled = tuple(w.lower() for w in words(name)) if len(name) <= NAME_CHARS else ()
        twin = names.by_words.setdefault(spelled, name) if spelled else name
        style = casing(name)
        verdict = None
        if twin != name:
            verdict = (
                f"{name!r} is the event {twin!r} in another casing: destinations will "
                "count them as two different events"
            )
        elif style is not None and names.styles:
            usual, count = names.styles.most_common(1)[0]
            if usual != style:
                verdict = (
                    f"{name!r} is {style} while {count} other event name(s) of this "
                    f"source are {usual} (e.g. {names.examples[usual]!r}): pick one "
                    "casing for every event"
                )
        if style is not None:
            names.styles[style] += 1
            names.examples.setdefault(style, name)
        return verdict

    def reset(self, write_key: str | None) -> None:
        self._sources.reset(write_key)


# -- object-action ------------------------------------------------------------------------------

_IRREGULAR_PAST = frozenset(
    {
        "began",
        "bought",
        "brought",
        "built",
        "caught",
        "chose",
        "chosen",
        "done",
        "drawn",
        "drew",
        "found",
        "gave",
        "given",
        "got",
        "gotten",
        "had",
        "held",
        "hidden",
        "hid",
        "kept",
        "knew",
        "known",
        "laid",
        "led",
        "left",
        "lent",
        "lost",
        "made",
        "met",
        "paid",
        "put",
        "quit",
        "ran",
        "read",
        "reset",
        "rode",
        "run",
        "said",
        "sat",
        "saw",
        "seen",
        "sent",
        "set",
        "shown",
        "shut",
        "sold",
        "sought",
        "spent",
        "split",
        "spoke",
        "spoken",
        "taken",
        "taught",
        "told",
        "took",
        "thrown",
        "threw",
        "understood",
        "undone",
        "upset",
        "won",
        "wrote",
        "written",
    }
)
# Words ending in "ed" that are not verbs in the past tense.
_NOT_PAST = frozenset(
    {
        "bed",
        "bleed",
        "breed",
        "embed",
        "feed",
        "greed",
        "need",
        "red",
        "seed",
        "shed",
        "speed",
        "weed",
        "bred",
        "sled",
        "shred",
    }
)


def _is_past(word: str) -> bool:
    lowered = word.lower()
    if lowered in _IRREGULAR_PAST:
        return True
    return lowered.endswith("ed") and len(lowered) > 3 and lowered not in _NOT_PAST


@lru_cache(maxsize=4096)
def object_action_problem(name: str) -> str | None:
    if name in SPEC_EVENTS:
        return None  # Segment's own spec names (Video Content Playing, Signed Up) are the norm
    parts = words(name)
    if len(parts) < 2:
        return (
            f"{name!r} is one word: name events Object Action, with the action in the past "
            "tense (e.g. 'Product Viewed', 'Order Completed')"
        )
    verbs = [i for i, word in enumerate(parts) if _is_past(word)]
    if not verbs:
        return (
            f"{name!r} has no action in the past tense: name events Object Action "
            "(e.g. 'Product Viewed', not 'View Product')"
        )
    if verbs[-1] == 0:
        suggestion = " ".join([*parts[1:], parts[0]])
        return f"{name!r} puts the action first: name events Object Action (e.g. {suggestion!r})"
    return None


class ObjectAction(LintRule):
    id = "object-action"
    by_name = True
    types = TRACK
    doc = "Track event names that break the Object-Action convention ('Product Viewed')."
    source = "protocols/tracking-plan/best-practices.md"

    def check(self, record: Record, event: dict[str, Any], found: list[LintFinding]) -> None:
        name = event.get("event")
        if record["type"] != "track" or not isinstance(name, str):
            return
        problem = object_action_problem(name)
        if problem is not None:
            found.append(self.finding(problem, "event"))
