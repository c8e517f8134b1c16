"""The generated clients hold up in the type checkers their users run: the Python client passes
`mypy --strict` and mypy rejects calls that break the plan; the TypeScript clients compile with
`tsc --strict` (TypeScript pinned in tests/compat/node's npm lock), the JavaScript ones pass
`tsc --checkJs --strict` on their JSDoc types, and calls that break the plan do not
(`@ts-expect-error` fails the build when the line compiles)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from segemu.protocols.codegen import Target
from tests.protocols.codegen.helpers import NODE_DIR, STRESS, generated, planned_calls

# With runtime validation: the bundled validator must pass the type checkers too.
PYTHON = Target("python", "analytics-python", validation=True)


def mypy(directory: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--no-error-summary",
            "--hide-error-context",
            "--show-error-codes",
            *files,
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def python_call(function: str, kind: str, payload: object) -> str:
    if kind == "IDENTIFY":
        return f"tracking.{function}(client, {payload!r}, user_id='u')"
    if kind == "GROUP":
        return f"tracking.{function}(client, 'g-1', {payload!r}, user_id='u')"
    if kind in ("PAGE", "SCREEN") and function in ("page", "screen"):
        return f"tracking.{function}(client, 'Any', {payload!r}, user_id='u')"
    return f"tracking.{function}(client, {payload!r}, user_id='u')"


def test_generated_python_passes_mypy_strict_and_wrong_calls_do_not(tmp_path: Path) -> None:
    text = generated(STRESS, PYTHON)
    (tmp_path / "tracking.py").write_text(text)
    calls = planned_calls(STRESS, text)
    good = [
        "from segment.analytics import Client  # type: ignore[import-untyped]",
        "import tracking",
        "client = Client('k', send=False)",
        *(python_call(c.function, c.kind, c.payload) for c in calls),
    ]
    (tmp_path / "use_ok.py").write_text("\n".join(good) + "\n")
    bad = {
        "missing required products": "tracking.order_completed(client, "
        "{'order_id': '1', 'revenue': 1.0, 'currency': 'USD'}, user_id='u')",
        "a currency the plan does not list": "tracking.order_completed(client, {'order_id': '1', "
        "'revenue': 1.0, 'currency': 'JPY', 'products': []}, user_id='u')",
        "an event the plan does not have": "tracking.order_compleeted(client, {}, user_id='u')",
        "a misspelled property": "tracking.delete(client, {'id': 'x', 'idd': 'y'}, user_id='u')",
        "an integer where the plan wants a string": "tracking.delete(client, {'id': 1})",
        "a nested item missing its product_id": "tracking.order_completed(client, {'order_id': "
        "'1', 'revenue': 1.0, 'currency': 'USD', 'products': [{'quantity': 1}]})",
    }
    lines = [
        "import tracking",
        "from segment.analytics import Client  # type: ignore[import-untyped]",
        "client = Client('k', send=False)",
        *bad.values(),
    ]
    (tmp_path / "use_bad.py").write_text("\n".join(lines) + "\n")

    result = mypy(tmp_path, "tracking.py", "use_ok.py")
    assert result.returncode == 0, result.stdout + result.stderr

    result = mypy(tmp_path, "use_bad.py")
    failing = {int(line.split(":")[1]) for line in result.stdout.splitlines() if ": error:" in line}
    for n, reason in enumerate(bad, start=4):
        assert n in failing, f"mypy accepted {reason}:\n{result.stdout}"


def tsc(
    directory: Path, files: list[str], *, emit: bool = False
) -> subprocess.CompletedProcess[str]:
    compiler = NODE_DIR / "node_modules" / "typescript" / "bin" / "tsc"
    if not compiler.is_file():
        pytest.fail("TypeScript is not installed: run `npm ci --prefix tests/compat/node`")
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": not emit,
            "target": "es2022",
            "module": "es2022",
            "moduleResolution": "bundler",
            "skipLibCheck": True,
            "types": [],
            # The JavaScript client's JSDoc types are checked as TypeScript's are.
            "allowJs": True,
            "checkJs": True,
            # The SDK's types, from the pinned install.
            "paths": {"@segment/*": [str(NODE_DIR / "node_modules" / "@segment" / "*")]},
        },
        "files": files,
    }
    (directory / "tsconfig.json").write_text(json.dumps(config))
    return subprocess.run(
        ["node", str(compiler), "-p", "tsconfig.json"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ts_call(sdk: str, function: str, kind: str, payload: object) -> str:
    body = json.dumps(payload)
    if sdk == "analytics-next":
        if kind == "IDENTIFY":
            return f"typewriter.{function}('u', {body})"
        if kind == "GROUP":
            return f"typewriter.{function}('g-1', {body})"
        if function in ("page", "screen"):
            return f"typewriter.{function}(null, 'Any', {body})"
        return f"typewriter.{function}({body})"
    field = "traits" if kind in ("IDENTIFY", "GROUP") else "properties"
    group = "groupId: 'g-1', " if kind == "GROUP" else ""
    return f"typewriter.{function}({{ userId: 'u', {group}{field}: {body} }})"


NODE_SETUP = [
    "import { Analytics } from '@segment/analytics-node'",
    "import typewriter from './tracking.js'",
    "typewriter.setTypewriterOptions({ analytics: new Analytics({ writeKey: 'k' }) })",
]
NEXT_SETUP = [
    "import typewriter from './tracking.js'",
    "typewriter.setTypewriterOptions({})",
]


@pytest.mark.parametrize("sdk", ["analytics-node", "analytics-next"])
@pytest.mark.parametrize(("language", "suffix"), [("typescript", ".ts"), ("javascript", ".js")])
def test_generated_typescript_compiles_strict_and_wrong_calls_do_not(
    tmp_path: Path, sdk: str, language: str, suffix: str
) -> None:
    text = generated(STRESS, Target(language, sdk, validation=True))
    (tmp_path / f"tracking{suffix}").write_text(text)
    calls = planned_calls(STRESS, text)
    good = [ts_call(sdk, c.function, c.kind, c.payload) for c in calls]
    products = '[{ "product_id": "p-1" }]'
    if sdk == "analytics-node":
        wrong = {
            "missing required products": "typewriter.orderCompleted({ userId: 'u', properties: "
            "{ order_id: '1', revenue: 1, currency: 'USD' } })",
            "a wrong enum value": "typewriter.orderCompleted({ userId: 'u', properties: "
            f"{{ order_id: '1', revenue: 1, currency: 'JPY', products: {products} }} }})",
            "an unknown event": "typewriter.orderCompleeted({ userId: 'u', properties: {} })",
            "a misspelled property": "typewriter.delete2({ userId: 'u', properties: "
            "{ id: 'x', idd: 'y' } })",
            "neither userId nor anonymousId": "typewriter.delete2({ properties: { id: 'x' } })",
        }
        setup = NODE_SETUP
    else:
        wrong = {
            "missing required products": "typewriter.orderCompleted("
            "{ order_id: '1', revenue: 1, currency: 'USD' })",
            "a wrong enum value": "typewriter.orderCompleted("
            f"{{ order_id: '1', revenue: 1, currency: 'JPY', products: {products} }})",
            "an unknown event": "typewriter.orderCompleeted({})",
            "a misspelled property": "typewriter.delete2({ id: 'x', idd: 'y' })",
        }
        setup = NEXT_SETUP
    expected = [
        line for reason, call in wrong.items() for line in (f"// @ts-expect-error {reason}", call)
    ]
    (tmp_path / f"use{suffix}").write_text("\n".join([*setup, *good, *expected]) + "\n")

    result = tsc(tmp_path, [f"tracking{suffix}", f"use{suffix}"])
    assert result.returncode == 0, result.stdout + result.stderr
