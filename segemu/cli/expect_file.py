"""`segemu run --expect FILE`: expectations a developer keeps beside the app, judged live.

The file is a JSON list of expectations in the format of POST /_segemu/assert
(segemu/expectations.py), for example:

    [
      {"description": "checkout tracks the order", "type": "track",
       "fields": {"event": "Order Completed", "properties": {"revenue": {"$approx": 99.99}}}},
      {"type": "identify", "where": "traits.email:*", "atLeast": 1}
    ]

A mistake names the file and the entry, like every config mistake (ConfigError).
"""

from __future__ import annotations

from pathlib import Path

import orjson

from segemu.config import ConfigError
from segemu.expectations import Expectation, ExpectationError


def load_expectations(path: str | Path) -> list[Expectation]:
    path = Path(path)
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"{path}: expectations file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read expectations file: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(
            f"{path}: expected a JSON list of expectations (the body of "
            f"POST /_segemu/assert), got a JSON {type(data).__name__}"
        )
    expectations = []
    for number, entry in enumerate(data, 1):
        try:
            expectations.append(Expectation.from_json(entry))
        except ExpectationError as exc:
            label = entry.get("description") if isinstance(entry, dict) else None
            named = f" ({label!r})" if isinstance(label, str) else ""
            raise ConfigError(f"{path}: expectation {number}{named}: {exc}") from None
    return expectations
