"""What every preset's request builder needs: JavaScript's value semantics, dates as dayjs reads
and writes them, and the shapes of HTTP requests.

`perform` functions in action-destinations are TypeScript: a field that resolved to nothing is
`undefined` and JSON.stringify leaves it out, while `null` is kept. Here `undefined` is the
mapping kit's MISSING, and `defined()` drops it when a body is assembled.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from segemu.destinations.base import Request
from segemu.destinations.mapping import MISSING

__all__ = ["MISSING", "ActionError", "IntegrationError", "PayloadValidationError"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# dayjs's own parser (dayjs src/constant.js REGEX_PARSE): a date without a zone, read as UTC by
# dayjs.utc(); anything else goes to `new Date(text)`.
_DAYJS_PARSE = re.compile(
    r"^(\d{4})[-/]?(\d{1,2})?[-/]?(\d{0,2})[Tt\s]*(\d{1,2})?:?(\d{1,2})?"
    r":?(\d{1,2})?[.:]?(\d+)?$"
)
_ZONED = re.compile(r"(?:[zZ]|[+-]\d\d:?\d\d)$")


class ActionError(ValueError):
    """A delivery the destination would refuse before sending, as Segment's Event Delivery
    shows it: an error code and a message (action-destinations packages/core/src/errors.ts)."""

    def __init__(
        self, message: str, code: str = "PAYLOAD_VALIDATION_FAILED", status: int = 400
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class PayloadValidationError(ActionError):
    """The mapped payload does not fit the action's fields (packages/core/src/errors.ts)."""


class IntegrationError(ActionError):
    """perform() refused the payload (packages/core/src/errors.ts IntegrationError)."""


def defined(items: Mapping[str, Any]) -> dict[str, Any]:
    """An object as JSON.stringify writes it: keys whose value is undefined are left out."""
    return {key: value for key, value in items.items() if value is not MISSING}


def truthy(value: Any) -> bool:
    """JavaScript truthiness: "", 0, NaN, null and undefined are false; [] and {} are true."""
    if value is MISSING or value is None or value is False:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, int | float):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    return True


def first(*values: Any) -> Any:
    """The `??` chain: the first value that is neither null nor undefined."""
    for value in values:
        if value is not MISSING and value is not None:
            return value
    return MISSING


def omit(value: Any, keys: Iterable[str]) -> dict[str, Any]:
    """actions-core omit(): a copy of an object without some keys ({} for a non-object)."""
    if not isinstance(value, dict):
        return {}
    left_out = set(keys)
    return {key: item for key, item in value.items() if key not in left_out}


def js_number(value: float) -> float:
    """A number as JSON.stringify writes it: 2250.0 is 2250."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def js_string(value: Any) -> str:
    """String(value) in JavaScript, for JSON values."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    return str(value)


def parse_date(value: Any) -> datetime | None:
    """The instant dayjs.utc(value) stands for, or None where dayjs says "Invalid Date".

    Numbers are epoch milliseconds, as `dayjs(number)` reads them. Text without a zone is UTC
    (dayjs utc plugin); with a zone or in another format it is what `new Date(text)` gives,
    which covers ISO-8601 and RFC 2822 dates.
    """
    if isinstance(value, bool) or value is None or value is MISSING:
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None
        return _EPOCH + timedelta(milliseconds=int(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    # dayjs tries its own parser only on text that does not end in Z; text with a zone offset
    # never matches it either, and skipping it spares the regex's backtracking.
    match = None if _ZONED.search(text) else _DAYJS_PARSE.match(text)
    if match:
        year, month, day, hour, minute, second, fraction = match.groups()
        try:
            return datetime(
                int(year),
                int(month or 1),
                int(day or 1),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                int((fraction or "0")[:3].ljust(3, "0")) * 1000,
                tzinfo=UTC,
            )
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # A JavaScript Date holds milliseconds.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def epoch_seconds(moment: datetime) -> int:
    """dayjs().unix(): whole seconds, rounded down."""
    return (moment - _EPOCH) // timedelta(seconds=1)


def iso_string(moment: datetime) -> str:
    """Date.prototype.toISOString(): UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_CAMEL_HUMP = re.compile(r"_([a-z0-9])")
_SNAKE_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


@lru_cache(maxsize=1024)
def _spellings(key: str) -> tuple[str, str]:
    return (
        _CAMEL_HUMP.sub(lambda hump: hump.group(1).upper(), key),
        _SNAKE_HUMP.sub(r"_\1", key).lower(),
    )


def both_spellings(
    settings: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Settings under Segment's names (camelCase: projectToken) and snake_case ones
    (project_token), which read more naturally in TOML: either spelling works. A preset's
    defaults are under Segment's names, so a value a user gives under the other spelling
    replaces the default."""
    defaults = defaults or {}
    spelled = dict(settings)
    for key, value in settings.items():
        for spelling in _spellings(key):
            if spelling == key:
                continue
            if spelling not in spelled or (
                key not in defaults
                and spelling in defaults
                and spelled[spelling] == defaults[spelling]
            ):
                spelled[spelling] = value
    return spelled


def basic_auth(user: str, password: str = "") -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


JSON_HEADERS = {"Content-Type": "application/json"}
# URLSearchParams bodies; fetch sends this content type for them.
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}


def request(
    action: str,
    method: str,
    url: str,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    form: bool = False,
) -> Request:
    """One request as segemu records it. A form body (URLSearchParams) is shown as its fields,
    and the fields the destination JSON-encodes (Mixpanel's `data`, Amplitude's
    `identification`) are shown decoded, so they can be read and queried."""
    return Request(
        action=action,
        method=method,
        url=url,
        headers={**(FORM_HEADERS if form else JSON_HEADERS), **(headers or {})},
        body=body,
    )
