"""SHA-256 of user data, as the ad platforms' Conversions APIs require it.

action-destinations packages/destination-actions/src/lib/hashing-utils.ts (processHashing):
a value that already looks like a digest of the chosen method (64 hex characters for SHA-256)
is sent as it is, so a source that hashes before sending is not hashed twice; an empty or blank
value hashes to "". Each destination cleans a value its own way first (lower case, no spaces,
digits only...), in its own module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from segemu.destinations.presets._support import ActionError

_SHA256_HEX = re.compile(r"[a-fA-F0-9]{64}")


def is_sha256(value: str) -> bool:
    return len(value) == 64 and _SHA256_HEX.fullmatch(value) is not None


def sha256(value: str) -> str:
    """processHashing(value, 'sha256', 'hex') without a cleaning function."""
    if value.strip() == "":
        return ""
    if is_sha256(value):
        return value
    return hashlib.sha256(value.encode()).hexdigest()


def process_hashing(value: str, clean: Callable[[str], str] | None = None) -> str:
    """processHashing(value, 'sha256', 'hex', clean): a digest is kept as it is (and is not
    cleaned); otherwise the value is cleaned, then hashed. A value that cleans to nothing is
    refused, as SmartHashing.hash throws "Cannot hash an empty string"."""
    if value.strip() == "":
        return ""
    if is_sha256(value):
        return value
    cleaned = clean(value) if clean else value
    if cleaned.strip() == "":
        raise ActionError("Cannot hash an empty string")
    return hashlib.sha256(cleaned.encode()).hexdigest()
