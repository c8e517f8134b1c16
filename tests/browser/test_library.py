"""Which analytics.js segemu serves, and the `analytics_js` setting's mistakes, named with
where they were made (segemu/browser/library.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from segemu.browser.library import resolve_library
from segemu.config import ConfigError, load_config


def install(project: Path, version: str = "1.84.3") -> Path:
    root = project / "node_modules" / "@segment" / "analytics-next"
    (root / "dist" / "umd").mkdir(parents=True)
    (root / "dist" / "umd" / "standalone.js").write_text("/* bundle */")
    (root / "package.json").write_text(f'{{"version": "{version}"}}')
    return root


def test_a_relative_path_in_the_config_file_is_relative_to_that_file(tmp_path: Path) -> None:
    project = tmp_path / "web"
    install(project)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "segemu.toml").write_text('analytics_js = "../web"\n')
    config = load_config({}, env={}, cwd=tmp_path / "config")
    library = resolve_library(config, cwd=tmp_path)
    assert library.kind == "analytics-next"
    assert library.version == "1.84.3"
    assert (
        library.script
        == config_dir
        / ".."
        / "web"
        / "node_modules"
        / "@segment"
        / "analytics-next"
        / "dist"
        / "umd"
        / "standalone.js"
    )
    assert library.describe().startswith("@segment/analytics-next 1.84.3 from ")


@pytest.mark.parametrize("given", ["package", "dist/umd", "dist/umd/standalone.js"])
def test_the_package_its_umd_directory_or_the_file(tmp_path: Path, given: str) -> None:
    root = install(tmp_path)
    path = root if given == "package" else root / given
    library = resolve_library(load_config({"analytics_js": str(path)}, env={}, cwd=tmp_path))
    assert library.script == root / "dist" / "umd" / "standalone.js"
    assert library.bundles == root / "dist" / "umd"


def test_builtin_wins_over_node_modules(tmp_path: Path) -> None:
    install(tmp_path)
    config = load_config({}, env={"SEGEMU_ANALYTICS_JS": "builtin"}, cwd=tmp_path)
    library = resolve_library(config, cwd=tmp_path)
    assert (library.kind, library.bundles) == ("builtin", None)
    assert library.script.read_text().startswith("/*\n * segemu's built-in analytics.js")


def test_nothing_installed_means_the_builtin(tmp_path: Path) -> None:
    library = resolve_library(load_config({}, env={}, cwd=tmp_path), cwd=tmp_path)
    assert library.kind == "builtin"
    assert "no @segment/analytics-next in node_modules" in library.describe()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            'analytics_js = "missing.js"\n',
            "segemu.toml: setting 'analytics_js': {dir}/missing.js does not exist",
        ),
        (
            'analytics_js = "."\n',
            "segemu.toml: setting 'analytics_js': {dir} holds no standalone.js of "
            "@segment/analytics-next",
        ),
        ("analytics_js = 3\n", "setting 'analytics_js' must be a non-empty string, got 3"),
    ],
)
def test_mistakes_name_the_file_and_setting(tmp_path: Path, setting: str, message: str) -> None:
    (tmp_path / "segemu.toml").write_text(setting)
    with pytest.raises(ConfigError) as caught:
        resolve_library(load_config({}, env={}, cwd=tmp_path), cwd=tmp_path)
    assert str(tmp_path / "segemu.toml") in str(caught.value)
    assert message.format(dir=tmp_path) in str(caught.value)


def test_a_flag_mistake_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^option --analytics-js: setting 'analytics_js': "):
        resolve_library(load_config({"analytics_js": str(tmp_path / "nope")}, env={}))
