"""The installed ``s3-cli`` entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import s3dlio

# The console script installed next to the interpreter running the tests.
exe = str(Path(sys.executable).parent / "s3-cli")


def test_version_and_help() -> None:
    assert Path(exe).exists(), "the package's s3-cli console script is not installed"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert s3dlio.__version__ in out.stdout
    helped = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    assert "usage: s3-cli" in helped.stdout


def test_unimplemented_subcommand_fails_clearly() -> None:
    out = subprocess.run([exe, "ls", "file:///tmp"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "not implemented" in out.stderr
