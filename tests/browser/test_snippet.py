"""`segemu snippet`: a ready-to-paste snippet for a segemu on localhost."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from segemu.browser.snippet import render_snippet
from segemu.cli import cli


def run_snippet(*args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("SEGEMU_PORT", raising=False)
    monkeypatch.delenv("SEGEMU_CONFIG", raising=False)
    result = CliRunner().invoke(cli, ["snippet", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_defaults_to_the_configured_port_and_first_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "segemu.toml").write_text(
        'port = 8080\nhost = "0.0.0.0"\n[sources.web]\nwrite_key = "wk_web"\n'
    )
    text = run_snippet(cwd=tmp_path, monkeypatch=monkeypatch)
    assert text.startswith("<script>\n")
    assert text.endswith("</script>\n")
    # _cdn is what makes a plain-http page load its settings from segemu (parse-cdn.ts).
    assert 'analytics._cdn = "http://127.0.0.1:8080";' in text
    assert 'analytics._writeKey = "wk_web";' in text
    assert 'analytics.load("wk_web");' in text
    assert "analytics.page();" in text


def test_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = run_snippet(
        "--write-key",
        "k1",
        "--url",
        "http://localhost:9000/",
        "--js",
        "--no-page",
        cwd=tmp_path,
        monkeypatch=monkeypatch,
    )
    assert text.startswith("!function () {")
    assert 'analytics._cdn = "http://localhost:9000";' in text
    assert 'analytics.load("k1");' in text
    assert "analytics.page()" not in text


def test_a_url_without_scheme_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["snippet", "--url", "localhost:7878"])
    assert result.exit_code == 2
    assert "give the scheme too, e.g. http://127.0.0.1:7878" in result.output


def test_a_write_key_cannot_break_out_of_the_script() -> None:
    text = render_snippet("http://127.0.0.1:7878", 'k"</script><script>alert(1)//')
    assert "</script><script>" not in text.removesuffix("</script>\n")
    assert 'analytics._writeKey = "k\\"\\u003c/script>\\u003cscript>alert(1)//";' in text
