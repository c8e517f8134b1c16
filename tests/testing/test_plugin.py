"""The pytest plugin, tested the way users meet it: real pytest runs (pytester, in a
subprocess) of test files that use the fixtures, the real analytics-python SDK included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segemu.config import load_config
from segemu.testing.thread import ThreadedEmulator

pytestmark = pytest.mark.compat


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", *args, timeout=120
    )


SDK_TESTS = """
import segment.analytics as analytics
from segemu.testing import ANY_STRING, approx, regex

def test_checkout(segemu):
    analytics.identify("u_1", {"email": "ada@example.com", "plan": "pro"})
    analytics.track("u_1", "Order Completed", {"revenue": 99.99, "order_id": "o-1"})
    analytics.page("u_1", "Docs", "Install", {"path": "/docs"})
    analytics.screen("u_1", name="Home")
    analytics.group("u_1", "g_1", {"name": "Acme"})
    analytics.alias("u_1", "anon_1")
    found = segemu.wait_for('type:track event:"Order Completed"')
    assert [r["event"]["event"] for r in found] == ["Order Completed"]
    segemu.assert_tracked("Order Completed", user_id="u_1", times=1,
                          properties={"revenue": approx(99.99), "order_id": ANY_STRING},
                          context={"library": {"name": "analytics-python"}})
    segemu.assert_identified("u_1", traits={"email": regex("@example.com$")})
    segemu.assert_page("Install", category="Docs", properties={"path": "/docs"})
    segemu.assert_screen("Home")
    segemu.assert_grouped("g_1", traits={"name": "Acme"})
    segemu.assert_aliased("anon_1", "u_1")
    segemu.assert_no_rejections()
    assert [r["type"] for r in segemu.events()] == [
        "identify", "track", "page", "screen", "group", "alias"]

def test_exact_and_times(segemu):
    analytics.track("u_1", "Clicked", {"a": 1, "b": 2})
    analytics.track("u_1", "Clicked", {"a": 1})
    segemu.assert_tracked("Clicked", times=2)
    segemu.assert_tracked("Clicked", properties={"a": 1}, exact=True, times=1)
    segemu.assert_event("properties.b>1", times=1)
"""


def test_sync_fixture_drives_the_real_python_sdk_with_waits_and_assertions(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(SDK_TESTS)
    run(pytester).assert_outcomes(passed=2)


def test_each_test_sees_only_its_own_events(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import segment.analytics as analytics

        def test_sends_three(segemu):
            for n in range(3):
                analytics.track("u_1", f"Event {n}")
            segemu.wait_for("type:track", count=3)

        def test_sees_nothing(segemu):
            assert segemu.events() == []
            segemu.assert_no_events()

        def test_keys_differ(segemu, segemu_session):
            import urllib.request, json
            url = f"{segemu_session.url}/_segemu/summary"
            keys = json.load(urllib.request.urlopen(url))["byWriteKey"]
            assert len(keys) == 1 and segemu.write_key not in keys
            assert segemu.write_key.startswith("test-test_keys_differ-")
    """)
    run(pytester).assert_outcomes(passed=3)


def test_two_xdist_workers_share_one_emulator_without_collisions(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    report = tmp_path / "urls"
    report.mkdir()
    pytester.makepyfile(f"""
        import os, pytest
        import segment.analytics as analytics

        @pytest.mark.parametrize("n", range(8))
        def test_worker(segemu, segemu_session, n):
            name = f"Event {{n}}"
            analytics.track(f"user-{{n}}", name)
            analytics.track(f"user-{{n}}", name)
            segemu.assert_tracked(name, user_id=f"user-{{n}}", times=2)
            assert {{r["event"]["event"] for r in segemu.events()}} == {{name}}
            worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
            with open(os.path.join({str(report)!r}, f"{{n}}-{{worker}}"), "w") as out:
                out.write(segemu_session.url)
    """)
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=8)
    files = list(report.iterdir())
    assert len(files) == 8
    assert {f.name.split("-")[1] for f in files} == {"gw0", "gw1"}
    assert len({f.read_text() for f in files}) == 1, "both workers used one emulator"


def test_nearest_miss_for_a_wrong_property_value(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import segment.analytics as analytics

        def test_revenue(segemu):
            analytics.track("u_1", "Order Completed", {"revenue": 89.99, "currency": "USD"})
            segemu.assert_tracked("Order Completed", properties={"revenue": 99.99}, timeout=0)
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*assert_tracked('Order Completed', properties={'revenue': 99.99}): expected at least 1"
            " matching track call, found 0 among 1 received*",
            "*nearest misses:",
            "*#* track 'Order Completed' user=u_1 at *",
            "*properties.revenue: expected 99.99, got 89.99",
        ]
    )


def test_nearest_miss_for_a_misspelled_event_name(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import segment.analytics as analytics

        def test_name(segemu):
            analytics.track("u_1", "Product Viewed")
            analytics.track("u_1", "Order Complted", {"revenue": 99.99})
            segemu.assert_tracked("Order Completed", timeout=0)
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    # The typo ranks first, ahead of an unrelated event.
    result.stdout.fnmatch_lines(
        [
            "*nearest misses:",
            "*track 'Order Complted'*",
            '*event: expected "Order Completed", got "Order Complted"',
            "*track 'Product Viewed'*",
        ]
    )


def test_a_rejected_event_shows_why_it_does_not_count(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import json, urllib.request

        def test_rejected(segemu):
            body = json.dumps({"event": "Signed Up", "writeKey": segemu.write_key}).encode()
            urllib.request.urlopen(urllib.request.Request(f"{segemu.url}/v1/track", body))
            segemu.assert_no_rejections()
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*assert_no_rejections(): expected exactly 0 matching calls, found 1*",
            "*matching events:",
            "*track 'Signed Up' [[]rejected: no userId or anonymousId[]]*",
        ]
    )


def test_async_twin_and_in_process_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import aiohttp
        import segment.analytics as analytics
        from segemu.http.app import create_app

        async def test_async(segemu_async):
            analytics.track("u_2", "Signed Up", {"plan": "pro"})
            found = await segemu_async.wait_for('event:"Signed Up"')
            assert found[0]["event"]["properties"] == {"plan": "pro"}
            await segemu_async.assert_tracked("Signed Up", properties={"plan": "pro"})
            await segemu_async.assert_no_events("type:identify")
            assert len(await segemu_async.events()) == 1

        async def test_in_process(segemu_emulator, aiohttp_client):
            await segemu_emulator.send({"type": "track", "event": "A", "userId": "u"})
            client = await aiohttp_client(create_app(segemu_emulator.emulator))
            answer = await client.post("/v1/identify", json={"userId": "u"},
                                       auth=aiohttp.BasicAuth(segemu_emulator.write_key))
            assert answer.status == 200
            await segemu_emulator.assert_identified("u")
            await segemu_emulator.assert_tracked("A", times=1)
            assert [r["type"] for r in await segemu_emulator.events()] == ["track", "identify"]
    """)
    run(pytester).assert_outcomes(passed=2)


def test_marker_gives_a_fixed_write_key_own_settings_or_no_wiring(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import pytest
        import segment.analytics as analytics

        @pytest.mark.segemu(write_key="checkout-app")
        def test_fixed_key(segemu):
            assert segemu.write_key == "checkout-app"
            analytics.track("u", "A")
            segemu.assert_tracked("A")

        @pytest.mark.segemu(write_key="checkout-app")
        def test_fixed_key_starts_empty(segemu):
            segemu.assert_no_events()

        @pytest.mark.segemu(retention=2)
        def test_own_emulator(segemu, segemu_session):
            assert segemu.url != segemu_session.url
            for name in "ABC":
                analytics.track("u", name)
            assert [r["event"]["event"] for r in segemu.events()] == ["B", "C"]

        @pytest.mark.segemu(autowire=False)
        def test_no_wiring(segemu):
            assert analytics.write_key != segemu.write_key

        @pytest.mark.segemu(retention="lots")
        def test_bad_setting(segemu):
            pass
    """)
    result = run(pytester)
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.segemu: *retention*"])


def test_guard_fails_a_test_that_reaches_segment(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        from segment.analytics import Client

        def test_leaks():
            client = Client("real-key", max_retries=0)  # the default host: api.segment.io
            client.track("u", "Leaked")
            client.flush()

        def test_fine():
            pass
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*this test tried to reach Segment itself: api.segment.io*"])
    run(pytester, "--segemu-allow-network", "-k", "fine").assert_outcomes(passed=1)


def test_an_error_inside_the_server_thread_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import json, urllib.request, urllib.error

        def test_broken(segemu, segemu_session):
            def boom(envelope):
                raise RuntimeError("pipeline exploded")
            segemu_session.threaded.emulator.pipeline.process = boom
            body = json.dumps({"event": "A", "userId": "u", "writeKey": segemu.write_key})
            try:
                urllib.request.urlopen(urllib.request.Request(f"{segemu.url}/v1/track",
                                                              body.encode()))
            except urllib.error.HTTPError as error:
                assert error.code == 500
    """)
    result = run(pytester)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*segemu's server failed while handling this test's requests:*",
            "*RuntimeError: pipeline exploded*",
        ]
    )


def test_snapshots_are_written_then_compared(pytester: pytest.Pytester) -> None:
    source = """
        import segment.analytics as analytics

        def test_flow(segemu):
            analytics.identify("u_1", {"plan": "NAME"})
            analytics.track("u_1", "Order Completed", {"revenue": 10})
            segemu.assert_snapshot()
    """
    pytester.makepyfile(test_flow=source.replace("NAME", "pro"))
    run(pytester).assert_outcomes(failed=1)  # no snapshot yet
    run(pytester, "--segemu-update-snapshots").assert_outcomes(passed=1)
    stored = pytester.path / "__segemu_snapshots__" / "test_flow" / "test_flow.json"
    shots = json.loads(stored.read_text())
    assert [s["type"] for s in shots] == ["identify", "track"]
    assert shots[1]["event"]["messageId"] == "<messageId>"
    assert shots[1]["event"]["context"]["library"] == {
        "name": "analytics-python",
        "version": "<version>",
    }
    run(pytester).assert_outcomes(passed=1)  # volatile fields do not break it

    pytester.makepyfile(test_flow=source.replace("NAME", "free"))
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*events differ from the snapshot*", '*-*"plan": "pro"', '*+*"plan": "free"']
    )


def test_an_emulator_already_running_is_used_with_segemu_url(pytester: pytest.Pytester) -> None:
    running = ThreadedEmulator(load_config({"db": ":memory:"}, env={}, discover=False)).start()
    try:
        pytester.makepyfile("""
            import segment.analytics as analytics

            def test_sends(segemu):
                analytics.track("u", "Seen Outside")
                segemu.assert_tracked("Seen Outside")
        """)
        run(pytester, f"--segemu-url={running.url}").assert_outcomes(passed=1)
        names = [r["event"].get("event") for r in running.emulator.events()]
        assert names == ["Seen Outside"]
    finally:
        running.stop()


def test_plugin_is_registered_and_documents_its_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(
        ["*segemu (local Segment emulator)*", "*--segemu-url=URL*", "*--segemu-update-snapshots*"]
    )
    fixtures = pytester.runpytest_subprocess("--fixtures")
    fixtures.stdout.fnmatch_lines(["*segemu -- *", "*segemu_async -- *", "*segemu_emulator -- *"])


# -- a newcomer's first hour (issue 18, items 6, 7, 10 and 11) ---------------------------------


def test_an_unreachable_segemu_url_stops_the_run_at_once_with_one_line(
    pytester: pytest.Pytester,
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pytester.makepyfile("""
        import segment.analytics as analytics

        def test_sends(segemu):
            analytics.track("u_1", "Signed Up")
            segemu.assert_tracked("Signed Up")
    """)
    result = run(pytester, f"--segemu-url=http://127.0.0.1:{port}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [f"*segemu: nothing answers at --segemu-url http://127.0.0.1:{port} (*refused*"]
    )


def test_calls_under_another_write_key_are_named_in_the_failure(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        from segment.analytics import Client

        def test_own_key(segemu):
            client = Client("my_key", host=segemu.url, sync_mode=True)
            client.track("u_1", "Signed Up")
            segemu.assert_tracked("Signed Up", timeout=0)
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*no events arrived for write key 'test-test_own_key-*', but some did for "
            "'my_key' (1): send with segemu.write_key*",
        ]
    )
    assert "no events were received at all" not in result.stdout.str()


def test_a_guard_refusal_is_one_clear_line_not_a_library_traceback(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import requests

        def test_leaks():
            requests.post("https://api.segment.io/v1/track", json={}, timeout=5)
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    failure = output[output.index("___ test_leaks ___") :]
    first = next(line for line in failure.splitlines()[1:] if line.strip())
    assert first.startswith("this test tried to reach Segment itself: api.segment.io"), failure
    assert "HTTPSConnectionPool" not in failure  # the chain of the HTTP library


def test_assert_delivered_shows_the_nearest_miss_by_path(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        import segment.analytics as analytics

        @pytest.mark.segemu(destinations={"mixpanel": {}})
        def test_revenue(segemu):
            analytics.track("u_1", "Order Completed", {"revenue": 42.5})
            segemu.wait_for('event:"Order Completed"')
            segemu.assert_delivered(
                "mixpanel", event="Order Completed", payload={"properties": {"revenue": 99.99}}
            )
    """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*deliveries.mixpanel.requests[[]0[]].body[[]0[]].properties.revenue: "
            "expected 99.99, got 42.5"
        ]
    )
    assert '"dist' not in result.stdout.str()  # no cut-off dump of the batch
