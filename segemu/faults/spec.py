"""The compact spelling of a fault rule on the command line (`segemu run --fault SPEC`).

A spec is comma-separated items. A bare number is a status, and a bare `reset`, `close` or
`timeout` is that effect; every other item is `key=value` with the keys of segemu.toml
(docs/faults.md). `where=` takes the rest of the spec, commas included, so it comes last:

    503,times=2
    429,retryAfter=5,route=/v1/batch
    reset,every=3,writeKey=web
    latency=1.5,probability=0.2,seed=7
    partial=1,where=event:Checkout* properties.total>100
"""

from __future__ import annotations

from typing import Any

from segemu.faults.rules import FaultError

_BARE_EFFECTS = ("reset", "close")


def parse_spec(spec: str) -> dict[str, Any]:
    """The rule mapping a spec spells; FaultError says which item is wrong."""
    rule: dict[str, Any] = {}
    rest = spec.strip()
    while rest:
        item, _, following = rest.partition(",")
        key, equals, value = item.partition("=")
        key = key.strip()
        if equals and key == "where":
            rule["where"] = (value + ("," + following if following else "")).strip()
            break
        rest = following.strip()
        if not equals:
            _bare(rule, key, spec)
        elif not key or not value.strip():
            raise FaultError(f"--fault {spec!r}: {item!r} needs a key and a value (key=value)")
        else:
            rule[key] = _value(value.strip())
    if not rule:
        raise FaultError("--fault needs a rule, e.g. --fault 503,times=2")
    return rule


def _bare(rule: dict[str, Any], word: str, spec: str) -> None:
    if word.isdigit():
        rule["status"] = int(word)
    elif word in _BARE_EFFECTS:
        rule[word] = True
    elif word == "timeout":
        rule["timeout"] = True
    else:
        raise FaultError(
            f"--fault {spec!r}: {word!r} is not a status, reset, close or timeout; "
            f"other settings are key=value"
        )


def _value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
