"""Segment Protocols, locally: tracking plans in Segment's own format, validation of every call
with Segment's blocking settings, violation forwarding, live lint rules and plan inference.

The core knows nothing of HTTP, Textual or pytest; `segemu.emulator` builds one `Protocols`
per emulator (`emulator.protocols`), and the pipeline calls it once per accepted call.
"""

from __future__ import annotations

from segemu.protocols.engine import Protocols
from segemu.protocols.forwarding import forwarded_event
from segemu.protocols.plans import PlanError, TrackingPlan, load_plan
from segemu.protocols.violations import LintFinding, Violation

__all__ = [
    "LintFinding",
    "PlanError",
    "Protocols",
    "TrackingPlan",
    "Violation",
    "forwarded_event",
    "load_plan",
]
