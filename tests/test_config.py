"""Configuration precedence: flags, then SEGEMU_* environment, then segemu.toml or
[tool.segemu], then defaults; mistakes named with their file and setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from segemu.config import DEFAULT_PORT, ConfigError, load_config


def test_defaults(tmp_path: Path) -> None:
    config = load_config({}, env={}, cwd=tmp_path)
    assert (config.host, config.port, config.db) == ("127.0.0.1", DEFAULT_PORT, ".segemu/db")
    assert config.retention == 100_000


def test_flags_beat_env_beat_file(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text('port = 9001\nhost = "0.0.0.0"\nretention = 50\n')
    env = {"SEGEMU_PORT": "9002", "SEGEMU_RETENTION": "60"}
    config = load_config({"port": 9003}, env=env, cwd=tmp_path)
    assert config.port == 9003
    assert config.retention == 60
    assert config.host == "0.0.0.0"
    assert (config.origins["port"], config.origins["retention"], config.origins["host"]) == (
        "flag",
        "env",
        "segemu.toml",
    )


def test_pyproject_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\n\n[tool.segemu]\ndb = ":memory:"\nflush_interval = 0.5\n'
    )
    config = load_config({}, env={}, cwd=tmp_path)
    assert config.in_memory
    assert config.flush_interval == 0.5


def test_segemu_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.segemu]\nport = 1\n")
    (tmp_path / "segemu.toml").write_text("port = 2\n")
    assert load_config({}, env={}, cwd=tmp_path).port == 2


def test_explicit_config_file(tmp_path: Path) -> None:
    other = tmp_path / "ci.toml"
    other.write_text("port = 0\n")
    (tmp_path / "segemu.toml").write_text("port = 2\n")
    assert load_config({}, env={}, cwd=tmp_path, config_file=other).port == 0
    assert load_config({}, env={"SEGEMU_CONFIG": str(other)}, cwd=tmp_path).port == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("prot = 8000\n", "segemu.toml: unknown setting 'prot' (did you mean 'port'?)"),
        ('port = "eighty"\n', "segemu.toml: setting 'port' must be an integer, got 'eighty'"),
        ("port = 70000\n", "segemu.toml: setting 'port' must be between 0 and 65535, got 70000"),
        ("retention = 0\n", "segemu.toml: setting 'retention' must be at least 1"),
        ("port = [\n", "segemu.toml: not valid TOML"),
    ],
)
def test_file_mistakes_name_the_file_and_setting(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "segemu.toml").write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config({}, env={}, cwd=tmp_path)
    assert message in str(caught.value)


def test_env_mistake_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match="environment SEGEMU_PORT: setting 'port' must be an integer"
    ):
        load_config({}, env={"SEGEMU_PORT": "abc"}, cwd=tmp_path)


def test_env_booleans(tmp_path: Path) -> None:
    assert load_config({}, env={"SEGEMU_QUIET": "yes"}, cwd=tmp_path).quiet is True
    assert load_config({}, env={"SEGEMU_QUIET": "0"}, cwd=tmp_path).quiet is False


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config({}, env={}, cwd=tmp_path, config_file=tmp_path / "nope.toml")


def test_allowed_origins_and_hosts_from_each_place(tmp_path: Path) -> None:
    (tmp_path / "segemu.toml").write_text(
        'allowed_origins = ["http://localhost:3000", "HTTPS://App.Test/"]\n'
        'allowed_hosts = ["host.docker.internal"]\n'
    )
    config = load_config({}, env={}, cwd=tmp_path)
    assert config.allowed_origins == ("http://localhost:3000", "https://app.test")
    assert config.allowed_hosts == ("host.docker.internal",)
    env = {"SEGEMU_ALLOWED_ORIGINS": "http://localhost:5173, http://localhost:8080"}
    config = load_config({}, env=env, cwd=tmp_path)
    assert config.allowed_origins == ("http://localhost:5173", "http://localhost:8080")
    assert config.origins["allowed_origins"] == "env"
    config = load_config({"allowed_origins": ("http://a.test",)}, env=env, cwd=tmp_path)
    assert config.allowed_origins == ("http://a.test",)


def test_defaults_allow_no_other_origin(tmp_path: Path) -> None:
    config = load_config({}, env={}, cwd=tmp_path)
    assert (config.allowed_origins, config.allowed_hosts) == ((), ())
    assert (config.max_streams, config.max_waits) == (32, 64)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('allowed_origins = ["localhost:3000"]\n', "takes origins like http://localhost:3000"),
        ('allowed_origins = ["http://a.test/app"]\n', "no path"),
        ('allowed_origins = "http://a.test"\nx = 1\n', "unknown setting 'x'"),
        ("allowed_origins = [1]\n", "must be a list of strings"),
        ('allowed_hosts = ["a.test:80"]\n', "without port or scheme"),
        ("max_streams = 0\n", "setting 'max_streams' must be at least 1"),
    ],
)
def test_access_setting_mistakes(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "segemu.toml").write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config({}, env={}, cwd=tmp_path)
    assert str(caught.value).startswith(str(tmp_path / "segemu.toml"))
    assert message in str(caught.value)
