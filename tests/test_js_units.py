"""The browser client's unit tests (tests/js/, node's own test runner) as part of the suite."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_js_unit_tests_pass():
    node = shutil.which("node")
    if node is None:
        # Not a skip: CI runs every test, and .ci/run installs Debian's nodejs.
        pytest.fail(
            "node is not installed: the JS unit tests need Node.js 20 (apt-get install nodejs)"
        )
    try:
        result = subprocess.run(
            [node, "--test", "tests/js/"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as error:
        # On POSIX the partial output comes back as bytes, whatever `text` says.
        parts = [
            p.decode(errors="replace") if isinstance(p, bytes) else p or ""
            for p in (error.stdout, error.stderr)
        ]
        pytest.fail("node --test tests/js/ ran over 120 s:\n" + "\n".join(parts))
    assert result.returncode == 0, (
        f"node --test tests/js/ failed:\n{result.stdout}\n{result.stderr}"
    )
