"""Tracking plans in a test run, as users meet them: real pytest runs (pytester, in a
subprocess) of tests that send with the real analytics-python SDK. assert_no_violations(),
and the strict mode that fails a test on any violation of its write key."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.compat

PLAN = """
name: Shop
track:
  Order Completed:
    properties:
      order_id: {type: string, required: true}
      revenue: number
"""
TESTS = """
import pytest
import segment.analytics as analytics
from segemu.testing import SegemuAssertionError

def test_clean(segemu):
    analytics.track("u_1", "Order Completed", {"order_id": "o-1", "revenue": 9.5})
    segemu.assert_tracked("Order Completed")
    segemu.assert_no_violations()

def test_assert_no_violations_lists_them(segemu):
    analytics.track("u_1", "Order Completed", {"revenue": "9.50"})
    segemu.wait_for("type:track")
    with pytest.raises(SegemuAssertionError) as error:
        segemu.assert_no_violations()
    print(error.value)
    assert "properties.order_id is required" in str(error.value)
    assert 'properties.revenue must be a number, got string "9.50"' in str(error.value)

def test_breaks_the_plan_silently(segemu):
    analytics.track("u_1", "Order Complted", {"order_id": "o-1"})
    segemu.wait_for("type:track")

@pytest.mark.segemu(strict=False)
def test_not_strict_here(segemu):
    analytics.track("u_1", "Order Complted", {"order_id": "o-1"})
    segemu.wait_for("type:track")

async def test_async_too(segemu_async):
    analytics.track("u_1", "Order Completed", {"revenue": 1})
    await segemu_async.wait_for("type:track")

async def test_in_process_too(segemu_emulator):
    await segemu_emulator.send({"type": "track", "event": "Order Completed", "userId": "u_1",
                                "properties": {"revenue": 1}})
    with pytest.raises(SegemuAssertionError):
        await segemu_emulator.assert_no_violations()
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", *args, timeout=120
    )


def project(pytester: pytest.Pytester, config: str = "") -> Path:
    pytester.path.joinpath("plan.yaml").write_text(PLAN)
    path = pytester.path / "segemu.toml"
    path.write_text('[protocols]\ntracking_plan = "plan.yaml"\n' + config)
    pytester.makepyfile(TESTS)
    return path


def test_assert_no_violations_and_strict_mode_from_the_ini(pytester: pytest.Pytester) -> None:
    project(pytester)
    pytester.makeini("[pytest]\nsegemu_config = segemu.toml\nsegemu_strict = true\n")
    result = run(pytester, "-rf")
    # Strict mode judges every test of the run, even one that checked its violations itself.
    result.assert_outcomes(passed=2, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*strict mode: 1 call(s) of write key test-test_breaks_the_plan_silently-* broke the "
            "tracking plan (1 violation(s)):",
            "*#* track 'Order Complted' at *",
            "*violation: 'Order Complted' is not in the tracking plan 'Shop' (did you mean "
            "'Order Completed'?)",
            "*@pytest.mark.segemu(strict=False).",
        ]
    )
    failed = {
        line.split("::")[1].split(" ")[0] for line in result.outlines if line.startswith("FAILED")
    }
    assert failed == {
        "test_assert_no_violations_lists_them",
        "test_breaks_the_plan_silently",
        "test_async_too",
        "test_in_process_too",
    }


def test_without_strict_mode_only_assertions_fail(pytester: pytest.Pytester) -> None:
    project(pytester)
    result = run(pytester, "--segemu-config", "segemu.toml")
    result.assert_outcomes(passed=6)


def test_strict_mode_from_the_config_file(pytester: pytest.Pytester) -> None:
    project(pytester, "strict = true\n")
    result = run(
        pytester, "--segemu-config", "segemu.toml", "-k", "silently or not_strict or clean"
    )
    result.assert_outcomes(passed=2, failed=1)


def test_a_broken_plan_is_a_usage_error_naming_the_file(pytester: pytest.Pytester) -> None:
    config = project(pytester)
    pytester.path.joinpath("plan.yaml").write_text("track:\n  A:\n    properties: {x: numbr}\n")
    result = run(pytester, "--segemu-config", "segemu.toml", "-k", "clean")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        f"ERROR: segemu: {config}: [protocols] tracking_plan: "
        f"{pytester.path / 'plan.yaml'}: track.'A'.properties.x: unknown type 'numbr' "
        "(did you mean 'number'?)"
    ) in result.stderr.str()
