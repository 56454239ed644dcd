"""Checkers from the JavaScript ecosystem that the tests run: Redocly's CLI (lints the OpenAPI
document) and Ajv (a strict JSON Schema 2020-12 validator), pinned in scripts/node-tools/ and
installed outside the tree by its install.sh (which scripts/test-tools.sh runs too).

They need Node.js 20.19+ with npm: without npm a test that uses them fails when CI is set, and
skips elsewhere with a message saying what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

NODE_TOOLS = ROOT / "scripts" / "node-tools"


def node_tools() -> Path:
    """The directory holding the tools' node_modules, installed if need be."""
    if shutil.which("npm") is None:
        message = "npm is not installed: install Node.js 20.19+ with npm"
        if "CI" in os.environ:
            pytest.fail(f"{message} (CI runs these checks)", pytrace=False)
        pytest.skip(f"{message} (under CI this fails)")
    installed = subprocess.run([str(NODE_TOOLS / "install.sh")], capture_output=True, text=True, timeout=600,
                               check=False)
    assert installed.returncode == 0, installed.stderr
    return Path(installed.stdout.strip())


def run_node_tool(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`command` with the installed tools on PATH and NODE_PATH, telemetry and update checks off."""
    modules = node_tools() / "node_modules"
    env = {**os.environ, "PATH": f"{modules / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
           "NODE_PATH": str(modules), "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
           "NO_COLOR": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=cwd, env=env)
