"""Finding Node.js: the runtime Segment runs Functions on (DOCS _includes/content/functions/
runtime.md). segemu needs Node 18 or later for its built-in fetch, Request, Response and
Headers, which stand in for Segment's node-fetch polyfill."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from segemu.config import ConfigError

MIN_NODE = 18
WORKER = Path(__file__).with_name("worker.js")
RUNTIME_DIR = Path(__file__).with_name("runtime")
INSTALL_LIBRARIES = f"npm ci --prefix {RUNTIME_DIR}"
_INSTALL_NODE = (
    "install Node.js 18 or later (https://nodejs.org/en/download, or your package manager: "
    '`brew install node`, `apt-get install nodejs`), or set `node = "/path/to/node"` in '
    "segemu.toml"
)


def find_node(configured: str | None) -> str:
    """The node executable to run functions with; ConfigError saying how to get one."""
    if configured:
        found = shutil.which(configured) or (configured if Path(configured).is_file() else None)
        if found is None:
            raise ConfigError(
                f"setting 'node': {configured!r} is not an executable; {_INSTALL_NODE}"
            )
    else:
        found = shutil.which("node")
        if found is None:
            raise ConfigError(
                f"Functions are configured but Node.js was not found on the PATH: {_INSTALL_NODE}"
            )
    version = node_version(found)
    if version is None or version < MIN_NODE:
        shown = "an unknown version" if version is None else f"Node {version}"
        raise ConfigError(f"{found} is {shown}; Functions need Node {MIN_NODE}+: {_INSTALL_NODE}")
    return found


def node_version(node: str) -> int | None:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    major = out.lstrip("v").split(".", 1)[0]
    return int(major) if major.isdigit() else None


def libraries_installed() -> bool:
    return (RUNTIME_DIR / "node_modules" / "lodash").is_dir()
