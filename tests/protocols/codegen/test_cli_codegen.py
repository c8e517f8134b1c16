"""`segemu plan codegen`, as a user runs it: options, the [codegen] config table, and --check
in CI."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from segemu.cli import cli
from tests.protocols.codegen.helpers import ROOT

SHOP = ROOT / "fixtures" / "plans" / "shop.yaml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["plan", "codegen", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_writes_the_client_then_check_passes(tmp_path: Path) -> None:
    out = tmp_path / "analytics" / "index.ts"
    code, output = run(str(SHOP), "-o", str(out))
    assert code == 0, output
    assert "export function orderCompleted(message: TrackMessage<OrderCompleted>)" in (
        out.read_text()
    )
    code, output = run(str(SHOP), "-o", str(out), "--check")
    assert (code, output.strip()) == (0, f"{out}: up to date with {SHOP}")


def test_check_fails_and_says_what_changed(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(SHOP.read_text())
    out = tmp_path / "tracking.py"
    assert run(str(plan), "-l", "python", "-o", str(out))[0] == 0
    plan.write_text(
        SHOP.read_text()
        .replace("  Signed Up:\n    properties:\n      plan: [free, pro]\n", "")
        .replace("      coupon: string?\n", "      coupon: string?\n      tax: number\n")
    )
    before = out.read_text()
    code, output = run(str(plan), "-l", "python", "-o", str(out), "--check")
    assert code == 1
    assert f"{out}: out of date with {plan} (removed: TRACK 'Signed Up'; changed: TRACK " in output
    assert "'Order Completed')" in output
    assert out.read_text() == before  # --check writes nothing


def test_check_of_a_missing_file_fails(tmp_path: Path) -> None:
    code, output = run(str(SHOP), "-o", str(tmp_path / "none.ts"), "--check")
    assert code == 1
    assert "none.ts: missing" in output


def test_settings_come_from_the_codegen_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "shop.yaml").write_text(SHOP.read_text())
    (tmp_path / "pyproject.toml").write_text(
        '[tool.segemu.codegen]\nplan = "plans/shop.yaml"\nlanguage = "python"\n'
        'output = "src/tracking.py"\n'
    )
    monkeypatch.chdir(tmp_path)
    code, output = run()
    assert code == 0, output
    assert "def order_completed(" in (tmp_path / "src" / "tracking.py").read_text()
    assert run("--check")[0] == 0
    # An option beats the table.
    code, output = run("--sdk", "analytics-next", "-l", "typescript", "-o", "web.ts")
    assert code == 0, output
    assert "orderCompleted(properties: OrderCompleted" in (tmp_path / "web.ts").read_text()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('language = "rust"', "language 'rust' is not one codegen writes"),
        ('sdk = "analytics-ruby"', "sdk 'analytics-ruby' is not one the typescript client"),
        ('outptu = "x.ts"', "unknown setting 'outptu'"),
        ('validation = "yes"', "validation must be true or false, got 'yes'"),
    ],
)
def test_a_bad_codegen_setting_is_named(tmp_path: Path, table: str, message: str) -> None:
    config = tmp_path / "segemu.toml"
    config.write_text(f'[codegen]\nplan = "{SHOP}"\n{table}\n')
    code, output = run("--config", str(config))
    assert code == 2
    assert f"{config}: [codegen]" in output
    assert message in output


def test_a_wrong_sdk_for_the_language_is_refused() -> None:
    code, output = run(str(SHOP), "-l", "python", "--sdk", "analytics-node")
    assert code == 2
    assert "sdk 'analytics-node' is not one the python client targets" in output


def test_validation_from_the_table_and_the_option(tmp_path: Path) -> None:
    config = tmp_path / "segemu.toml"
    config.write_text(f'[codegen]\nplan = "{SHOP}"\nlanguage = "python"\nvalidation = true\n')
    code, output = run("--config", str(config))
    assert code == 0, output
    assert "def set_on_violation(" in output
    assert "target: python, analytics-python, runtime validation" in output
    code, output = run("--config", str(config), "--no-validation")
    assert code == 0, output
    assert "set_on_violation" not in output


TYPEWRITER_YML = """\
# Segment Typewriter Configuration
scripts:
  token: some-command-that-prints-a-token
client:
  sdk: {sdk}
  language: {language}
trackingPlans:
  - id: rs_1
    workspaceSlug: shop
    path: ./src/analytics
"""
# What typewriter pulled into src/analytics/plan.json: TRACK schemas unwrapped to their
# properties, with eventMetadata (segmentio/typewriter src/api/trackingplans.ts).
TYPEWRITER_PLAN = {
    "name": "Shop",
    "rules": [
        {
            "type": "TRACK",
            "key": "Signed Up",
            "version": 1,
            "jsonSchema": {
                "type": "object",
                "properties": {"plan": {"type": "string", "enum": ["free", "pro"]}},
                "required": ["plan"],
                "eventMetadata": {"name": "Signed Up", "type": "TRACK"},
            },
        }
    ],
}


@pytest.mark.parametrize(
    ("language", "sdk", "shape"),
    [
        ("typescript", "analytics-node", "signedUp(message: TrackMessage<SignedUp>): void"),
        (
            "typescript",
            "analytics.js",
            "signedUp(properties: SignedUp, options?: SegmentOptions): void",
        ),
        ("javascript", "analytics-node", "signedUp(message)"),
    ],
)
def test_a_typewriter_project_switches_with_one_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str, sdk: str, shape: str
) -> None:
    (tmp_path / "typewriter.yml").write_text(TYPEWRITER_YML.format(sdk=sdk, language=language))
    (tmp_path / "src" / "analytics").mkdir(parents=True)
    (tmp_path / "src" / "analytics" / "plan.json").write_text(json.dumps(TYPEWRITER_PLAN))
    monkeypatch.chdir(tmp_path)
    code, output = run("--typewriter")
    assert code == 0, output
    suffix = ".ts" if language == "typescript" else ".js"
    client = (tmp_path / "src" / "analytics" / f"index{suffix}").read_text()
    assert f"export function {shape} {{" in client
    assert '"free" | "pro"' in client
    assert run("--typewriter", "--check")[0] == 0


@pytest.mark.parametrize(
    ("language", "sdk", "message"),
    [
        ("swift", "analytics-ios", "client.language 'swift': segemu writes typescript, javascript"),
        (
            "typescript",
            "analytics-react-native",
            "client.sdk 'analytics-react-native': segemu writes clients for analytics.js, "
            "analytics-node",
        ),
    ],
)
def test_a_typewriter_client_segemu_does_not_write_is_named(
    tmp_path: Path, language: str, sdk: str, message: str
) -> None:
    config = tmp_path / "typewriter.yml"
    config.write_text(TYPEWRITER_YML.format(sdk=sdk, language=language))
    code, output = run("--typewriter", str(config))
    assert code == 2
    assert f"{config}: {message}" in output


def test_watch_writes_the_client_again_when_the_plan_is_saved(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(SHOP.read_text())
    out = tmp_path / "tracking.py"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "segemu",
            "plan",
            "codegen",
            str(plan),
            "-l",
            "python",
            "-o",
            str(out),
            "--watch",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as process:
        lines = _lines(process)
        try:
            assert lines.get(timeout=60).startswith(f"wrote {out}")
            assert lines.get(timeout=60).startswith("watching ")
            plan.write_text("track: [not, a, plan\n")  # saved half written
            assert lines.get(timeout=60).startswith(f"not written: {plan}: not valid YAML")
            plan.write_text(SHOP.read_text().replace("  Signed Up:", "  Signed In:"))
            assert lines.get(timeout=60).startswith(f"wrote {out}")
            assert "def signed_in(" in out.read_text()
        finally:
            process.terminate()


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's standard error, line by line, as it comes: a test waits on the next line
    (and fails after a minute rather than hang if it never comes)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines
