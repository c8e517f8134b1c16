"""Expectations as the assertion helpers phrase them, built as the JSON that
`POST /_segemu/assert` and `Emulator.check` judge (segemu/expectations.py).

Each builder returns a plain dict, so the sync, async and in-process fixtures share them.
Field names follow Segment's spec (userId, anonymousId, ...), the arguments Python's style.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segemu.query import quote
from segemu.testing.matchers import encode

Spec = dict[str, Any]


def _spec(
    kind: str | None,
    call: str,
    fields: Mapping[str, Any],
    *,
    times: int | None,
    exact: bool,
    where: str | None,
    shown: Mapping[str, Any],
) -> Spec:
    arguments = ", ".join(
        repr(value) if name == "" else f"{name}={value!r}"
        for name, value in shown.items()
        if value is not None and value is not False
    )
    spec: Spec = {
        "fields": {path: encode(value) for path, value in fields.items() if value is not None},
        "exact": exact,
        "description": f"{call}({arguments})",
    }
    if kind is not None:
        spec["type"] = kind
    if times is not None:
        spec["times"] = times
    if where:
        spec["where"] = where
    return spec


def tracked(
    event: str,
    *,
    properties: Mapping[str, Any] | None = None,
    user_id: Any = None,
    anonymous_id: Any = None,
    context: Mapping[str, Any] | None = None,
    times: int | None = None,
    exact: bool = False,
    where: str | None = None,
) -> Spec:
    return _spec(
        "track",
        "assert_tracked",
        {
            "event": event,
            "properties": properties,
            "userId": user_id,
            "anonymousId": anonymous_id,
            "context": context,
        },
        times=times,
        exact=exact,
        where=where,
        shown={
            "": event,
            "properties": properties,
            "user_id": user_id,
            "anonymous_id": anonymous_id,
            "context": context,
            "times": times,
            "exact": exact,
            "where": where,
        },
    )


def identified(
    user_id: Any = None,
    *,
    traits: Mapping[str, Any] | None = None,
    anonymous_id: Any = None,
    context: Mapping[str, Any] | None = None,
    times: int | None = None,
    exact: bool = False,
    where: str | None = None,
) -> Spec:
    return _spec(
        "identify",
        "assert_identified",
        {"userId": user_id, "traits": traits, "anonymousId": anonymous_id, "context": context},
        times=times,
        exact=exact,
        where=where,
        shown={
            "": user_id,
            "traits": traits,
            "anonymous_id": anonymous_id,
            "context": context,
            "times": times,
            "exact": exact,
            "where": where,
        },
    )


def viewed(
    kind: str,
    name: str | None = None,
    *,
    category: str | None = None,
    properties: Mapping[str, Any] | None = None,
    user_id: Any = None,
    anonymous_id: Any = None,
    context: Mapping[str, Any] | None = None,
    times: int | None = None,
    exact: bool = False,
    where: str | None = None,
) -> Spec:
    """A page (kind "page") or screen (kind "screen") call."""
    return _spec(
        kind,
        f"assert_{kind}",
        {
            "name": name,
            "category": category,
            "properties": properties,
            "userId": user_id,
            "anonymousId": anonymous_id,
            "context": context,
        },
        times=times,
        exact=exact,
        where=where,
        shown={
            "": name,
            "category": category,
            "properties": properties,
            "user_id": user_id,
            "anonymous_id": anonymous_id,
            "context": context,
            "times": times,
            "exact": exact,
            "where": where,
        },
    )


def grouped(
    group_id: Any = None,
    *,
    traits: Mapping[str, Any] | None = None,
    user_id: Any = None,
    anonymous_id: Any = None,
    context: Mapping[str, Any] | None = None,
    times: int | None = None,
    exact: bool = False,
    where: str | None = None,
) -> Spec:
    return _spec(
        "group",
        "assert_grouped",
        {
            "groupId": group_id,
            "traits": traits,
            "userId": user_id,
            "anonymousId": anonymous_id,
            "context": context,
        },
        times=times,
        exact=exact,
        where=where,
        shown={
            "": group_id,
            "traits": traits,
            "user_id": user_id,
            "anonymous_id": anonymous_id,
            "context": context,
            "times": times,
            "exact": exact,
            "where": where,
        },
    )


def aliased(
    user_id: Any = None,
    previous_id: Any = None,
    *,
    times: int | None = None,
    where: str | None = None,
) -> Spec:
    return _spec(
        "alias",
        "assert_aliased",
        {"userId": user_id, "previousId": previous_id},
        times=times,
        exact=False,
        where=where,
        shown={"": user_id, "previous_id": previous_id, "times": times, "where": where},
    )


def no_events(where: str | None = None) -> Spec:
    return _spec(None, "assert_no_events", {}, times=0, exact=False, where=where, shown={"": where})


def no_rejections() -> Spec:
    """No call was rejected: every one would have reached Segment's pipeline."""
    spec = _spec(None, "assert_no_rejections", {}, times=0, exact=False, where=None, shown={})
    spec["status"] = "rejected"
    return spec


def matching(where: str, *, times: int | None = None, at_least: int = 1) -> Spec:
    """Any call matching a query: what `segemu assert --where Q --count N` sends."""
    spec = _spec(
        None,
        "assert_event",
        {},
        times=times,
        exact=False,
        where=where,
        shown={"": where, "times": times},
    )
    if times is None:
        spec["atLeast"] = at_least
    return spec


def delivered(
    destination: str,
    *,
    event: str | None = None,
    payload: Any = None,
    where: str | None = None,
    times: int | None = None,
) -> Spec:
    spec = _spec(
        None,
        "assert_delivered",
        {"event": event},
        times=times,
        exact=False,
        where=where,
        shown={"": destination, "event": event, "payload": payload, "where": where, "times": times},
    )
    spec["destination"] = destination
    if payload is not None:
        spec["payload"] = encode(payload)
    return spec


def not_delivered(destination: str, *, event: str | None = None, where: str | None = None) -> Spec:
    spec = _spec(
        None,
        "assert_not_delivered",
        {"event": event},
        times=0,
        exact=False,
        where=where,
        shown={"": destination, "event": event, "where": where},
    )
    spec["destination"] = destination
    return spec


def no_violations() -> Spec:
    """No accepted call broke the tracking plan (see each record's `violations`)."""
    return _spec(
        None, "assert_no_violations", {}, times=0, exact=False, where="violations.type:*", shown={}
    )


def no_lint(rule: str | None = None) -> Spec:
    """No accepted call got a lint finding (of `rule`, if given)."""
    where = f"lint.rule:{quote(rule)}" if rule else "lint.rule:*"
    return _spec(None, "assert_no_lint", {}, times=0, exact=False, where=where, shown={"": rule})
